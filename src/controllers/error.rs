use std::time::Duration;

use crate::api::validate::FieldError;
use crate::apply::ApplyError;
use crate::chart::ChartError;

/// Errors of one reconcile, by stage, each naming what it concerns. Each has its own condition
/// reason and retry policy ([`ReconcileError::retry`]).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A spec field breaks a rule (the CR may predate the CRD that has it): the user must change it.
    #[error("{0}")]
    InvalidSpec(FieldError),
    /// Something the spec names is missing or unusable (a Secret, a key, another CR): the user
    /// must act; the watches re-trigger the CR when it changes.
    #[error("{0}")]
    Dependency(FieldError),
    /// An object the release needs exists and is not this CR's to write.
    #[error("{0}")]
    Conflict(ApplyError),
    /// Another CR of the same kind already does this CR's job (one Eventing CR per namespace).
    #[error("{0}")]
    Duplicate(String),
    /// The bundled chart or an embedded file cannot be used: a defect of this release.
    #[error("the bundled chart: {0}")]
    Chart(#[from] ChartError),
    /// A fault inside the manager (the random generator, an embedded file).
    #[error("{0}")]
    Internal(String),
    /// The CR does not deserialize into this version's types.
    #[error("the {kind} cannot be read: {message}")]
    Malformed { kind: String, message: String },
    #[error("preparing {object}: {source}")]
    Prepare { object: String, source: kube::Error },
    #[error(transparent)]
    Apply(ApplyError),
    #[error("{step} of {object}: {source}")]
    Kube { step: &'static str, object: String, source: kube::Error },
    #[error("writing the status of {object}: {source}")]
    Status { object: String, source: kube::Error },
    /// The module's removal waits for CRs it did not create (lifecycle-manager's blocking deletion).
    #[error("{0}")]
    RemovalBlocked(String),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<ReconcileError>>),
}

/// When to look again after a failed reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The user must act and the status says what: look again after this long (a change to the CR
    /// or to what it names triggers sooner). No backoff: nothing gets better by hurrying.
    After(Duration),
    /// The API server or the network failed: retry soon, doubling up to a few seconds, so that the
    /// manager resumes within seconds once the server is back.
    Transient,
    /// Anything else: retry with backoff doubling up to five minutes.
    Backoff,
}

impl From<ApplyError> for ReconcileError {
    fn from(error: ApplyError) -> Self {
        match error {
            conflict @ (ApplyError::Conflict { .. } | ApplyError::NotOurs { .. } | ApplyError::Named { .. }) => {
                ReconcileError::Conflict(conflict)
            }
            // Refused in our shape (not a server that was away): the user must decide.
            ApplyError::NotAdoptable { ref source, .. } if !transient(source) => ReconcileError::Conflict(error),
            other => ReconcileError::Apply(other),
        }
    }
}

/// Whether a failed API call may succeed unchanged later (the server was away, overloaded, or an
/// optimistic-lock conflict); a refusal of the request itself (4xx) is not.
pub fn transient(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => status.code >= 500 || status.code == 429 || status.code == 409,
        _ => true,
    }
}

impl ReconcileError {
    /// A short label for metrics and the condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::InvalidSpec(_) => "InvalidSpec",
            ReconcileError::Dependency(_) => "DependencyMissing",
            ReconcileError::Conflict(_) => "Conflict",
            ReconcileError::Duplicate(_) => "Duplicate",
            ReconcileError::Chart(_) => "ChartError",
            ReconcileError::Internal(_) => "InternalError",
            ReconcileError::Malformed { .. } => "MalformedResource",
            ReconcileError::Prepare { .. } => "PrepareFailed",
            ReconcileError::Apply(_) => "ApplyFailed",
            ReconcileError::Kube { .. } => "ApiError",
            ReconcileError::Status { .. } => "StatusFailed",
            ReconcileError::RemovalBlocked(_) => "DeletionBlocked",
            ReconcileError::Finalizer(error) => match error.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(inner)
                | kube::runtime::finalizer::Error::CleanupFailed(inner) => inner.reason(),
                _ => "FinalizerFailed",
            },
        }
    }

    pub fn retry(&self) -> Retry {
        let source = match self {
            ReconcileError::InvalidSpec(_) | ReconcileError::Malformed { .. } => {
                return Retry::After(Duration::from_secs(300));
            }
            ReconcileError::Dependency(_) => return Retry::After(Duration::from_secs(60)),
            ReconcileError::Conflict(_) | ReconcileError::Duplicate(_) => return Retry::After(Duration::from_secs(30)),
            ReconcileError::RemovalBlocked(_) => return Retry::After(Duration::from_secs(15)),
            ReconcileError::Chart(_) | ReconcileError::Internal(_) => return Retry::Backoff,
            ReconcileError::Prepare { source, .. }
            | ReconcileError::Kube { source, .. }
            | ReconcileError::Status { source, .. } => source,
            ReconcileError::Apply(
                ApplyError::Discovery { source, .. }
                | ApplyError::Apply { source, .. }
                | ApplyError::Read { source, .. }
                | ApplyError::Prune { source, .. },
            ) => source,
            ReconcileError::Apply(_) => return Retry::Backoff,
            ReconcileError::Finalizer(error) => match error.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(inner)
                | kube::runtime::finalizer::Error::CleanupFailed(inner) => return inner.retry(),
                kube::runtime::finalizer::Error::AddFinalizer(source)
                | kube::runtime::finalizer::Error::RemoveFinalizer(source) => source,
                _ => return Retry::Backoff,
            },
        };
        if transient(source) { Retry::Transient } else { Retry::Backoff }
    }

    /// Whether the user must act (the status says what; nothing is retried in a hurry).
    pub fn needs_user(&self) -> bool {
        matches!(self.retry(), Retry::After(_))
    }
}
