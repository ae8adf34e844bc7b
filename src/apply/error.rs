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
    #[error("pruning {object}: {source}")]
    Prune { object: String, source: kube::Error },
}
