use crate::apply::ApplyError;
use crate::chart::ChartError;

/// Errors of one reconcile, by stage, each naming the object it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The spec cannot be realised as it is (a referenced Secret is missing, ...): the user must act.
    #[error("{0}")]
    Invalid(String),
    #[error("preparing {object}: {source}")]
    Prepare { object: String, source: kube::Error },
    #[error("rendering the chart: {0}")]
    Render(#[from] ChartError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
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

impl ReconcileError {
    /// A short label for metrics and the condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::Invalid(_) => "InvalidSpec",
            ReconcileError::Prepare { .. } => "PrepareFailed",
            ReconcileError::Render(_) => "RenderFailed",
            ReconcileError::Apply(_) => "ApplyFailed",
            ReconcileError::Kube { .. } => "ApiError",
            ReconcileError::Status { .. } => "StatusFailed",
            ReconcileError::RemovalBlocked(_) => "DeletionBlocked",
            ReconcileError::Finalizer(_) => "FinalizerFailed",
        }
    }
}
