//! Per-object retry delays after failed reconciles: doubling from 1 s up to a cap, forgotten on
//! success, and the policy that picks the cap from the error ([`retry_delay`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::error::{ReconcileError, Retry};

/// Server errors retry within [`TRANSIENT_MAX`], so that the manager resumes within seconds of
/// the API server coming back; other failures back off up to five minutes.
pub const TRANSIENT_MAX: Duration = Duration::from_secs(2);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Consecutive failures per object key (`controller/namespace/name`).
#[derive(Debug, Default)]
pub struct Backoffs(Mutex<HashMap<String, u32>>);

impl Backoffs {
    /// Counts one more failure of `key`; the delay before its retry: 1 s, 2 s, 4 s, … at most `max`.
    pub fn next(&self, key: &str, max: Duration) -> Duration {
        let mut failures = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = failures.entry(key.to_owned()).or_default();
        *count = count.saturating_add(1);
        Duration::from_secs(1u64 << (*count - 1).min(9)).min(max)
    }

    /// Forgets the failures of `key` (it reconciled, or the user must act).
    pub fn reset(&self, key: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }

    /// How many keys have failures on record.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `controller/namespace/name`: the key of an object's failures.
pub fn key(controller: &str, object: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{controller}/{}/{}",
        object.namespace.as_deref().unwrap_or_default(),
        object.name.as_deref().unwrap_or_default()
    )
}

/// The delay after a failed reconcile of `key`, by the error's retry policy.
pub fn retry_delay(key: &str, error: &ReconcileError, backoffs: &Backoffs) -> Duration {
    match error.retry() {
        Retry::After(delay) => {
            backoffs.reset(key);
            delay
        }
        Retry::Transient => backoffs.next(key, TRANSIENT_MAX),
        Retry::Backoff => backoffs.next(key, BACKOFF_MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::validate::FieldError;

    fn server_error(code: u16) -> kube::Error {
        kube::Error::Api(kube::core::Status { code, ..kube::core::Status::failure("m", "r") }.boxed())
    }

    fn kube_step(code: u16) -> ReconcileError {
        ReconcileError::Kube { step: "get", object: "NATS a/b".into(), source: server_error(code) }
    }

    #[test]
    fn delays_double_from_one_second_up_to_the_cap_and_are_per_key() {
        let backoffs = Backoffs::default();
        let delays: Vec<u64> = (0..12).map(|_| backoffs.next("a", BACKOFF_MAX).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(backoffs.next("b", TRANSIENT_MAX), Duration::from_secs(1), "another key starts afresh");
        assert_eq!(backoffs.next("b", TRANSIENT_MAX), Duration::from_secs(2));
        assert_eq!(backoffs.next("b", TRANSIENT_MAX), Duration::from_secs(2), "capped");
        backoffs.reset("a");
        assert_eq!(backoffs.next("a", BACKOFF_MAX), Duration::from_secs(1), "a success forgets the failures");
        assert_eq!(backoffs.len(), 2);
    }

    #[test]
    fn the_count_never_overflows() {
        let backoffs = Backoffs::default();
        backoffs.0.lock().expect("lock").insert("a".into(), u32::MAX - 1);
        assert_eq!(backoffs.next("a", BACKOFF_MAX), BACKOFF_MAX);
        assert_eq!(backoffs.next("a", BACKOFF_MAX), BACKOFF_MAX);
    }

    #[test]
    fn each_error_has_its_retry_policy() {
        let field = || FieldError::new("spec.cluster.size", "must be 1..=5");
        let cases: Vec<(ReconcileError, Retry)> = vec![
            (ReconcileError::InvalidSpec(field()), Retry::After(Duration::from_secs(300))),
            (
                ReconcileError::Malformed { kind: "NATS".into(), message: "m".into() },
                Retry::After(Duration::from_secs(300)),
            ),
            (ReconcileError::Dependency(field()), Retry::After(Duration::from_secs(60))),
            (ReconcileError::Duplicate("d".into()), Retry::After(Duration::from_secs(30))),
            (ReconcileError::RemovalBlocked("r".into()), Retry::After(Duration::from_secs(15))),
            (ReconcileError::Internal("rng".into()), Retry::Backoff),
            (kube_step(503), Retry::Transient),
            (kube_step(429), Retry::Transient),
            (kube_step(409), Retry::Transient),
            (kube_step(422), Retry::Backoff),
            (kube_step(403), Retry::Backoff),
            (
                ReconcileError::Status {
                    object: "o".into(),
                    source: kube::Error::Service("connection refused".into()),
                },
                Retry::Transient,
            ),
        ];
        for (error, retry) in cases {
            assert_eq!(error.retry(), retry, "{error:?}");
            assert_eq!(error.needs_user(), matches!(retry, Retry::After(_)), "{error:?}");
        }
    }

    #[test]
    fn a_finalizer_error_retries_as_the_error_inside_it() {
        use kube::runtime::finalizer::Error;
        let inner = ReconcileError::Finalizer(Box::new(Error::ApplyFailed(ReconcileError::Dependency(
            FieldError::new("spec.x", "y"),
        ))));
        assert_eq!(inner.retry(), Retry::After(Duration::from_secs(60)));
        assert_eq!(inner.reason(), "DependencyMissing", "the reason is the inner error's");
        let remove = ReconcileError::Finalizer(Box::new(Error::RemoveFinalizer(server_error(500))));
        assert_eq!(remove.retry(), Retry::Transient);
        assert_eq!(remove.reason(), "FinalizerFailed");
    }

    #[test]
    fn transient_errors_retry_within_two_seconds_and_user_errors_reset_the_backoff() {
        let backoffs = Backoffs::default();
        let delays: Vec<u64> = (0..4).map(|_| retry_delay("k", &kube_step(503), &backoffs).as_secs()).collect();
        assert_eq!(delays, [1, 2, 2, 2]);
        let user = ReconcileError::Dependency(FieldError::new("spec.x", "y"));
        assert_eq!(retry_delay("k", &user, &backoffs), Duration::from_secs(60));
        assert!(backoffs.is_empty(), "a user error starts the next server failure at 1 s again");
        let slow: Vec<u64> = (0..3).map(|_| retry_delay("k", &kube_step(422), &backoffs).as_secs()).collect();
        assert_eq!(slow, [1, 2, 4]);
    }
}
