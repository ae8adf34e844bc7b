//! Rendered text → Kubernetes objects: split into YAML documents, drop empty ones, parse, check
//! that each is an object, and order them for applying.

use serde_json::Value;

use super::ChartError;

/// One rendered object and the template it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The template that rendered it (`module-chart/charts/nats/templates/statefulset.yaml`).
    pub source: String,
    pub object: Value,
}

impl Manifest {
    fn field(&self, pointer: &str) -> &str {
        self.object.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
    }
    pub fn api_version(&self) -> &str {
        self.field("/apiVersion")
    }
    pub fn kind(&self) -> &str {
        self.field("/kind")
    }
    pub fn name(&self) -> &str {
        self.field("/metadata/name")
    }
    pub fn namespace(&self) -> Option<&str> {
        self.object.pointer("/metadata/namespace").and_then(Value::as_str)
    }
}

/// The manifests as one YAML stream, each document headed by its source template (as `helm template`).
pub fn to_yaml_stream(manifests: &[Manifest]) -> Result<String, yaml_serde::Error> {
    let mut out = String::new();
    for manifest in manifests {
        out.push_str("---\n# Source: ");
        out.push_str(&manifest.source);
        out.push('\n');
        out.push_str(&yaml_serde::to_string(&manifest.object)?);
    }
    Ok(out)
}

/// Kinds in the order they are applied: what others depend on first, workloads after their config.
const APPLY_ORDER: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "PodDisruptionBudget",
    "DaemonSet",
    "Deployment",
    "StatefulSet",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
];

/// The position of a kind in the apply order; unknown kinds come last.
pub fn apply_order(kind: &str) -> usize {
    APPLY_ORDER.iter().position(|k| *k == kind).unwrap_or(APPLY_ORDER.len())
}

/// Parses the output of one template into objects.
pub fn parse_documents(source: &str, rendered: &str) -> Result<Vec<Manifest>, ChartError> {
    let mut manifests = Vec::new();
    for (index, document) in split_documents(rendered).into_iter().enumerate() {
        if document.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
            continue;
        }
        let object: Value = yaml_serde::from_str(&document).map_err(|e| ChartError::BadDocument {
            template: source.to_owned(),
            index,
            message: e.to_string(),
            document: document.clone(),
        })?;
        if object.is_null() {
            continue;
        }
        let not_object =
            |message: &str| ChartError::NotAnObject { template: source.to_owned(), index, message: message.into() };
        if !object.is_object() {
            return Err(not_object("it is not a map"));
        }
        for (pointer, what) in [("/apiVersion", "apiVersion"), ("/kind", "kind"), ("/metadata/name", "metadata.name")] {
            match object.pointer(pointer) {
                Some(Value::String(s)) if !s.is_empty() => {}
                _ => return Err(not_object(&format!("{what} is missing or not a string"))),
            }
        }
        manifests.push(Manifest { source: source.to_owned(), object });
    }
    Ok(manifests)
}

/// Splits on `---` document separators (a line that starts with `---`).
fn split_documents(text: &str) -> Vec<String> {
    let mut documents = vec![String::new()];
    for line in text.lines() {
        if line.starts_with("---") && line[3..].trim_start().chars().next().is_none_or(|c| c == '#') {
            documents.push(String::new());
        } else if let Some(current) = documents.last_mut() {
            current.push_str(line);
            current.push('\n');
        }
    }
    documents
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_comment_only_documents_are_dropped() {
        let text =
            "---\n# nothing\n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n--- # trailing\n";
        let manifests = parse_documents("t.yaml", text).expect("parses");
        assert_eq!(manifests.len(), 1);
        assert_eq!((manifests[0].kind(), manifests[0].name()), ("ConfigMap", "a"));
    }

    #[test]
    fn invalid_yaml_names_template_document_and_shows_it() {
        let error = parse_documents(
            "nats/templates/bad.yaml",
            "---\napiVersion: v1\nkind: A\nmetadata: {name: a}\n---\nkind: [unclosed\n",
        )
        .expect_err("bad");
        let message = error.to_string();
        assert!(message.contains("document 2 rendered by nats/templates/bad.yaml is not valid YAML"), "{message}");
        assert!(message.contains("kind: [unclosed"), "{message}");
    }

    #[test]
    fn objects_need_api_version_kind_and_name() {
        for (text, missing) in [
            ("kind: A\nmetadata: {name: a}", "apiVersion"),
            ("apiVersion: v1\nmetadata: {name: a}", "kind"),
            ("apiVersion: v1\nkind: A\nmetadata: {}", "metadata.name"),
            ("apiVersion: v1\nkind: A\nmetadata: {name: 5}", "metadata.name"),
            ("- a list", "not a map"),
        ] {
            let message = parse_documents("t.yaml", text).expect_err(text).to_string();
            assert!(message.contains(missing), "{text}: {message}");
        }
    }

    #[test]
    fn apply_order_puts_config_before_workloads() {
        let order: Vec<usize> =
            ["ServiceAccount", "ConfigMap", "Service", "PodDisruptionBudget", "StatefulSet", "DestinationRule"]
                .iter()
                .map(|k| apply_order(k))
                .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    }
}
