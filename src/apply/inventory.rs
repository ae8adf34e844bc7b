//! Inventory: the owner reference and labels that mark an object as rendered for one CR, so that
//! prune finds exactly what this release created.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use crate::chart::Manifest;

/// The one field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "eventing-manager";
pub const MANAGER_NAME: &str = "eventing-manager";
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
const OWNER_KIND: &str = "eventing-manager.kyma-project.io/owner-kind";
const OWNER_NAMESPACE: &str = "eventing-manager.kyma-project.io/owner-namespace";
const OWNER_NAME: &str = "eventing-manager.kyma-project.io/owner-name";

/// The CR a release belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl Owner {
    pub fn of<K: Resource<DynamicType = ()>>(object: &K) -> Self {
        Self {
            api_version: K::api_version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            namespace: object.namespace().unwrap_or_default(),
            name: object.name_any(),
            uid: object.uid().unwrap_or_default(),
        }
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (MANAGED_BY_LABEL.to_owned(), MANAGER_NAME.to_owned()),
            (OWNER_KIND.to_owned(), self.kind.clone()),
            (OWNER_NAMESPACE.to_owned(), self.namespace.clone()),
            (OWNER_NAME.to_owned(), self.name.clone()),
        ])
    }

    /// The label selector of everything this owner's release created.
    pub fn selector(&self) -> String {
        self.labels().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
    }

    /// Whether an object's labels say it belongs to this owner.
    pub fn owns(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels().iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    pub fn owner_reference(&self) -> OwnerReference {
        OwnerReference {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    /// Puts the object into the owner's namespace (unless the chart chose one), adds the inventory
    /// labels and the controller owner reference.
    pub fn stamp(&self, manifest: &mut Manifest) {
        let object = &mut manifest.object;
        if !object["metadata"].is_object() {
            object["metadata"] = json!({});
        }
        let metadata = &mut object["metadata"];
        if metadata.get("namespace").and_then(Value::as_str).is_none_or(str::is_empty) {
            metadata["namespace"] = json!(self.namespace);
        }
        if !metadata["labels"].is_object() {
            metadata["labels"] = json!({});
        }
        for (key, value) in self.labels() {
            metadata["labels"][key] = json!(value);
        }
        metadata["ownerReferences"] = json!([self.owner_reference()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner {
            api_version: "operator.kyma-project.io/v1alpha1".into(),
            kind: "NATS".into(),
            namespace: "ns".into(),
            name: "eu".into(),
            uid: "u-1".into(),
        }
    }

    #[test]
    fn stamp_adds_namespace_labels_and_controller_reference() {
        let mut manifest = Manifest {
            source: "t".into(),
            object: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"app": "x"}}}),
        };
        owner().stamp(&mut manifest);
        let metadata = &manifest.object["metadata"];
        assert_eq!(metadata["namespace"], "ns");
        assert_eq!(metadata["labels"]["app"], "x", "chart labels stay");
        assert_eq!(metadata["labels"]["app.kubernetes.io/managed-by"], "eventing-manager");
        assert_eq!(metadata["labels"]["eventing-manager.kyma-project.io/owner-name"], "eu");
        assert_eq!(metadata["ownerReferences"][0]["controller"], true);
        assert_eq!(metadata["ownerReferences"][0]["uid"], "u-1");
    }

    #[test]
    fn selector_and_owns_agree() {
        let owner = owner();
        assert!(owner.selector().contains("eventing-manager.kyma-project.io/owner-kind=NATS"));
        assert!(owner.owns(&owner.labels()));
        let mut other = owner.labels();
        other.insert(OWNER_NAME.into(), "us".into());
        assert!(!owner.owns(&other));
    }
}
