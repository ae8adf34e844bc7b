use std::path::PathBuf;

/// What can go wrong loading or rendering a chart; each variant names the file, template or value.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid YAML: {message}")]
    BadYaml { path: String, message: String },
    #[error("{path}: {message}")]
    BadChart { path: String, message: String },
    #[error("the chart has no subchart {name:?}")]
    MissingSubchart { name: String },
    #[error("template {template} does not compile: {message}")]
    Compile { template: String, message: String },
    #[error("rendering {template} failed: {message}")]
    Render { template: String, message: String },
    #[error("document {index} rendered by {template} is not valid YAML: {message}\n--- the document ---\n{document}")]
    BadDocument { template: String, index: usize, message: String, document: String },
    #[error("document {index} rendered by {template} is not a Kubernetes object: {message}")]
    NotAnObject { template: String, index: usize, message: String },
    #[error("values: {key}: {message}")]
    BadValue { key: String, message: String },
    #[error("--set {expression:?}: {message}")]
    BadSet { expression: String, message: String },
}
