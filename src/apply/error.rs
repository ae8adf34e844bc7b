/// Errors of the apply stage, naming the object and the step.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("discovering {api_version} {kind}: {source}")]
    Discovery { api_version: String, kind: String, source: kube::Error },
    #[error("applying {object}: {source}")]
    Apply { object: String, source: kube::Error },
    #[error("reading {object}: {source}")]
    Read { object: String, source: kube::Error },
    #[error(
        "{object} belongs to the release of {owner}; two CRs cannot install the same objects (change the release name or install namespace, or delete one CR)"
    )]
    Conflict { object: String, owner: String },
    /// An object with a name the release needs exists, but this manager did not create it.
    #[error(
        "{object} exists and was not created by {manager} (it lacks the label app.kubernetes.io/managed-by={manager} and this CR's owner labels); it is left untouched: delete or rename it, or choose another name"
    )]
    NotOurs { object: String, manager: String },
    /// Kyma's own manager made the object for this CR, but the API server refuses it in this
    /// manager's shape (an immutable field differs); nothing was changed.
    #[error(
        "{object} was made for this CR by Kyma's own manager but cannot be taken over, and nothing was changed: {source}"
    )]
    NotAdoptable { object: String, source: kube::Error },
    /// A conflict, with the CR field that chose the object's name.
    #[error("{source}; the name comes from the CR's {field}")]
    Named { field: &'static str, source: Box<ApplyError> },
    #[error("pruning {object}: {source}")]
    Prune { object: String, source: kube::Error },
}
