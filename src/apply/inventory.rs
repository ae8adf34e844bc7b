//! Inventory: the owner reference and labels that mark an object as rendered for one CR, so that
//! prune finds exactly what this release created.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use crate::chart::Manifest;

/// The default manager name: the field manager of every server-side apply and the value of the
/// managed-by label (`--manager-name`).
pub const MANAGER_NAME: &str = "eventing-manager";
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
const OWNER_KIND: &str = "eventing-manager.kyma-project.io/owner-kind";
const OWNER_NAMESPACE: &str = "eventing-manager.kyma-project.io/owner-namespace";
const OWNER_NAME: &str = "eventing-manager.kyma-project.io/owner-name";

/// The CR a release belongs to, and where its objects go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The managed-by label's value.
    pub manager: String,
    /// The namespace the release installs into; the CR's own unless configured otherwise.
    pub install_namespace: String,
}

/// Kind, namespace and name of the CR that an object's inventory labels name; `label` looks a
/// label up (in a typed object's map or in the JSON of a cached one, without copying either).
pub fn owner_from_labels<'a>(label: impl Fn(&str) -> Option<&'a str>) -> Option<(&'a str, &'a str, &'a str)> {
    Some((label(OWNER_KIND)?, label(OWNER_NAMESPACE)?, label(OWNER_NAME)?))
}

impl Owner {
    pub fn of<K: Resource<DynamicType = ()>>(object: &K, manager: &str, install_namespace: Option<&str>) -> Self {
        let namespace = object.namespace().unwrap_or_default();
        Self {
            api_version: K::api_version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            install_namespace: install_namespace.filter(|n| !n.is_empty()).unwrap_or(&namespace).to_owned(),
            namespace,
            name: object.name_any(),
            uid: object.uid().unwrap_or_default(),
            manager: manager.to_owned(),
        }
    }

    /// Who the CR is, in messages: `Eventing kyma-system/eventing`.
    pub fn describe(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (MANAGED_BY_LABEL.to_owned(), self.manager.clone()),
            (OWNER_KIND.to_owned(), self.kind.clone()),
            (OWNER_NAMESPACE.to_owned(), self.namespace.clone()),
            (OWNER_NAME.to_owned(), self.name.clone()),
        ])
    }

    /// The label selector of everything this owner's release created.
    pub fn selector(&self) -> String {
        self.labels().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
    }

    /// Whether a live object (JSON) carries this owner's inventory labels: this manager created it
    /// for this CR.
    pub fn created(&self, live: &Value) -> bool {
        let labels = live.pointer("/metadata/labels").and_then(Value::as_object);
        self.labels().iter().all(|(k, v)| labels.and_then(|l| l.get(k)?.as_str()) == Some(v.as_str()))
    }

    /// Whether an object's labels say it belongs to this owner.
    pub fn owns(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels().iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    /// The controller owner reference for an object in `namespace`; none across namespaces, where
    /// Kubernetes does not allow one (the finalizer's prune deprovisions those).
    pub fn owner_references(&self, namespace: &str) -> Option<Vec<OwnerReference>> {
        (namespace == self.namespace).then(|| {
            vec![OwnerReference {
                api_version: self.api_version.clone(),
                kind: self.kind.clone(),
                name: self.name.clone(),
                uid: self.uid.clone(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]
        })
    }

    /// Puts the object into the install namespace (unless the chart chose one), adds the inventory
    /// labels and, within the owner's namespace, the controller owner reference.
    pub fn stamp(&self, manifest: &mut Manifest) {
        let object = &mut manifest.object;
        if !object["metadata"].is_object() {
            object["metadata"] = json!({});
        }
        let metadata = &mut object["metadata"];
        if metadata.get("namespace").and_then(Value::as_str).is_none_or(str::is_empty) {
            metadata["namespace"] = json!(self.install_namespace);
        }
        if !metadata["labels"].is_object() {
            metadata["labels"] = json!({});
        }
        for (key, value) in self.labels() {
            metadata["labels"][key] = json!(value);
        }
        let namespace = metadata["namespace"].as_str().unwrap_or_default().to_owned();
        match self.owner_references(&namespace) {
            Some(references) => metadata["ownerReferences"] = json!(references),
            None => drop(metadata.as_object_mut().and_then(|m| m.remove("ownerReferences"))),
        }
    }
}

#[cfg(test)]
impl Owner {
    /// The owner of the NATS CR `namespace/name` (UID `u-1`), for unit tests.
    pub(crate) fn of_nats_for_tests(namespace: &str, name: &str) -> Self {
        Self {
            api_version: "operator.kyma-project.io/v1alpha1".into(),
            kind: "NATS".into(),
            namespace: namespace.into(),
            name: name.into(),
            uid: "u-1".into(),
            manager: MANAGER_NAME.into(),
            install_namespace: namespace.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner::of_nats_for_tests("ns", "eu")
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
    fn another_install_namespace_gets_labels_but_no_owner_reference() {
        let owner = Owner { install_namespace: "kyma-system".into(), manager: "custom".into(), ..owner() };
        let mut manifest = Manifest {
            source: "t".into(),
            object: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
        };
        owner.stamp(&mut manifest);
        let metadata = &manifest.object["metadata"];
        assert_eq!(metadata["namespace"], "kyma-system");
        assert_eq!(metadata["labels"]["app.kubernetes.io/managed-by"], "custom");
        assert!(metadata.get("ownerReferences").is_none(), "no owner reference across namespaces");
        let labels: BTreeMap<String, String> = serde_json::from_value(metadata["labels"].clone()).expect("labels");
        assert_eq!(owner_from_labels(|k| labels.get(k).map(String::as_str)), Some(("NATS", "ns", "eu")));
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
