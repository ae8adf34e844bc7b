//! Standard conditions with `observedGeneration`, keeping `lastTransitionTime` while the status holds.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// A condition as the pipeline decides it, before times are filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub kind: &'static str,
    pub status: bool,
    /// Neither true nor false: the manager could not find out (`status` is then ignored).
    pub unknown: bool,
    pub reason: String,
    pub message: String,
}

impl Decided {
    pub fn new(kind: &'static str, status: bool, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self { kind, status, unknown: false, reason: reason.into(), message: crate::text::message(&message.into()) }
    }

    /// A condition whose status is `Unknown`.
    pub fn unknown(kind: &'static str, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self { unknown: true, ..Self::new(kind, false, reason, message) }
    }
}

/// The conditions to publish: `lastTransitionTime` is kept from `current` when the status did not change.
pub fn merge(current: &[Condition], decided: &[Decided], generation: Option<i64>) -> Vec<Condition> {
    decided
        .iter()
        .map(|d| {
            let status = match (d.unknown, d.status) {
                (true, _) => "Unknown",
                (false, true) => "True",
                (false, false) => "False",
            };
            let previous = current.iter().find(|c| c.type_ == d.kind);
            let last_transition_time = match previous {
                Some(p) if p.status == status => p.last_transition_time.clone(),
                _ => Time(Timestamp::now()),
            };
            Condition {
                type_: d.kind.to_owned(),
                status: status.to_owned(),
                reason: d.reason.clone(),
                message: d.message.clone(),
                observed_generation: generation,
                last_transition_time,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_changes_only_with_the_status() {
        let first = merge(&[], &[Decided::new("Ready", false, "Rollout", "1 of 3")], Some(1));
        let same = merge(&first, &[Decided::new("Ready", false, "Rollout", "2 of 3")], Some(2));
        assert_eq!(same[0].last_transition_time, first[0].last_transition_time);
        assert_eq!((same[0].message.as_str(), same[0].observed_generation), ("2 of 3", Some(2)));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let flipped = merge(&same, &[Decided::new("Ready", true, "RolledOut", "done")], Some(2));
        assert_ne!(flipped[0].last_transition_time, first[0].last_transition_time);
    }
}
