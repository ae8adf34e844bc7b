//! Adoption of what Kyma's own managers made for the same CR: a taken-over installation keeps its
//! objects (and with them the StatefulSet's volume claims) instead of being re-created.

use kube::Api;
use kube::api::{DynamicObject, PostParams};
use serde_json::{Value, json};

use super::Owner;

/// The field managers and managed-by labels of Kyma's nats-manager and eventing-manager.
const UPSTREAM_MANAGERS: &[&str] = &["nats-manager", "eventing-manager"];

/// Whether one of Kyma's managers made `live` for `owner`'s CR: it is controlled by the CR (its UID)
/// and labelled by that manager. Anything else that lacks our labels stays someone else's.
pub fn made_by_upstream_for(live: &Value, owner: &Owner) -> bool {
    let controlled = live
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner.uid.as_str() && r["controller"] == true));
    let labelled = ["app.kubernetes.io/managed-by", "app.kubernetes.io/created-by"].iter().any(|key| {
        live.pointer("/metadata/labels")
            .and_then(|l| l.get(*key))
            .and_then(Value::as_str)
            .is_some_and(|value| UPSTREAM_MANAGERS.contains(&value))
    });
    !owner.uid.is_empty() && controlled && labelled
}

/// The object that replaces `live` on adoption: the rendered one, at `live`'s version, with every
/// field manager's record dropped (so that fields the old manager set and ours does not, such as
/// an env var's `value` beside our `valueFrom`, go). Fields the API server allocated stay.
pub fn replacement(rendered: &Value, live: &Value) -> Value {
    let mut object = rendered.clone();
    object["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"].clone();
    object["metadata"]["managedFields"] = json!([{}]);
    if live["kind"] == "Service" {
        for field in ["clusterIP", "clusterIPs"] {
            if object["spec"].get(field).is_none()
                && let Some(value) = live["spec"].get(field)
            {
                object["spec"][field] = value.clone();
            }
        }
    }
    object
}

/// Replaces the object with `body` (see [`replacement`]); `dry_run` only asks the API server
/// whether it would accept it (an immutable field that differs is refused, naming the field).
pub async fn replace(
    api: &Api<DynamicObject>,
    name: &str,
    body: &Value,
    field_manager: &str,
    dry_run: bool,
) -> Result<(), kube::Error> {
    let object: DynamicObject = serde_json::from_value(body.clone()).map_err(kube::Error::SerdeError)?;
    let params = PostParams { dry_run, field_manager: Some(field_manager.to_owned()) };
    api.replace(name, &params, &object).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner::of_nats_for_tests("kyma-system", "eventing-nats")
    }

    fn object(uid: &str, manager: &str) -> Value {
        json!({"metadata": {
            "labels": {"app.kubernetes.io/managed-by": manager},
            "ownerReferences": [{"uid": uid, "controller": true}],
        }})
    }

    #[test]
    fn only_what_kymas_managers_made_for_this_cr_is_adopted() {
        assert!(made_by_upstream_for(&object("u-1", "nats-manager"), &owner()));
        assert!(made_by_upstream_for(&object("u-1", "eventing-manager"), &owner()));
        assert!(!made_by_upstream_for(&object("u-2", "nats-manager"), &owner()), "another CR's");
        assert!(!made_by_upstream_for(&object("u-1", "helm"), &owner()), "another manager's");
        assert!(
            !made_by_upstream_for(
                &json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": "nats-manager"}}}),
                &owner()
            ),
            "no owner"
        );
        assert!(!made_by_upstream_for(&object("", "nats-manager"), &Owner { uid: String::new(), ..owner() }));
    }

    #[test]
    fn the_replacement_keeps_the_version_and_allocated_addresses_and_drops_field_records() {
        let rendered = json!({"kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": []}});
        let live = json!({"kind": "Service", "metadata": {"resourceVersion": "7"}, "spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"]}});
        let body = replacement(&rendered, &live);
        assert_eq!(body["metadata"]["resourceVersion"], "7");
        assert_eq!(body["metadata"]["managedFields"], json!([{}]));
        assert_eq!(body["spec"]["clusterIP"], "10.0.0.1");
        let headless = json!({"kind": "Service", "metadata": {"name": "s"}, "spec": {"clusterIP": "None"}});
        assert_eq!(replacement(&headless, &live)["spec"]["clusterIP"], "None", "a rendered value wins");
    }
}
