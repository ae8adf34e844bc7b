//! A CR that does not deserialize into the manager's types (here: a NATS CR stored while the CRD
//! had no schema, as a CRD older or newer than the manager can leave behind) gets state Error naming
//! the field, never stalls the watch for the other CRs, reconciles once fixed, and is deleted
//! without hanging. This binary has one test: it replaces the NATS CRD for a while (the next test
//! binary's setup installs the real one again, also when this one fails).

mod common;

use std::time::Duration;

use common::crs::{create_nats, nats_ready_with, patch_spec};
use common::{install_crd, setup_with_manager, wait_deleted, wait_until};
use eventing_manager::api::Nats;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceValidation, JSONSchemaProps,
};
use kube::api::{ApiResource, DynamicObject, PostParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);

fn nats_crd() -> CustomResourceDefinition {
    eventing_manager::api::crds().into_iter().find(|c| c.spec.names.kind == "NATS").expect("NATS CRD")
}

/// The NATS CRD with every version's schema relaxed to "any object".
fn relaxed(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        version.schema = Some(CustomResourceValidation {
            open_api_v3_schema: Some(JSONSchemaProps {
                type_: Some("object".into()),
                x_kubernetes_preserve_unknown_fields: Some(true),
                ..Default::default()
            }),
        });
    }
    crd
}

fn state_and_condition(object: Option<&DynamicObject>) -> Option<(String, String, String)> {
    let status = &object?.data["status"];
    let condition = status["conditions"].as_array()?.iter().find(|c| c["status"] != "True")?;
    Some((
        status["state"].as_str()?.to_owned(),
        condition["reason"].as_str()?.to_owned(),
        condition["message"].as_str()?.to_owned(),
    ))
}

fn malformed_naming_the_field(object: Option<&DynamicObject>) -> bool {
    state_and_condition(object).is_some_and(|(state, reason, message)| {
        state == "Error" && reason == "MalformedResource" && message.contains("spec.cluster.size: invalid type")
    }) && object.is_some_and(|o| o.data["status"]["observedGeneration"] == json!(o.metadata.generation))
}

#[tokio::test]
async fn a_malformed_cr_says_which_field_and_blocks_nothing() {
    let (client, ns) = setup_with_manager("malformed").await;
    install_crd(&client, &relaxed(nats_crd())).await;
    let resource = ApiResource::erase::<Nats>(&());
    let dynamic: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns.name, &resource);
    let bad: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "operator.kyma-project.io/v1alpha1", "kind": "NATS",
        "metadata": {"name": "bad"}, "spec": {"cluster": {"size": "three"}}
    }))
    .expect("object");
    dynamic.create(&PostParams::default(), &bad).await.expect("the relaxed CRD stores it");

    // The CR after it in the same namespace converges: the malformed one stalls nothing.
    let good = create_nats(&client, &ns.name, "good", json!({"cluster": {"size": 1}})).await;
    wait_until(&good, "good", nats_ready_with(1), TIMEOUT).await;

    // The malformed CR: Error, naming the field and what it should be.
    let seen = wait_until(&dynamic, "bad", malformed_naming_the_field, TIMEOUT).await;
    let (_, _, message) = state_and_condition(Some(&seen)).expect("condition");
    assert!(message.contains("expected"), "says what is allowed: {message}");
    assert!(seen.finalizers().is_empty(), "nothing provisioned, so nothing to finalize: {:?}", seen.finalizers());

    // Fixed, it reconciles as any CR.
    let typed: Api<Nats> = Api::namespaced(client.clone(), &ns.name);
    patch_spec(&dynamic, "bad", json!({"cluster": {"size": 1}})).await;
    wait_until(&typed, "bad", nats_ready_with(1), TIMEOUT).await;
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    statefulsets.get("bad-nats").await.expect("provisioned once fixed");

    // Broken again, then deleted: the finalizer goes, the objects are pruned, the claims stay.
    patch_spec(&dynamic, "bad", json!({"cluster": {"size": "three"}})).await;
    wait_until(&dynamic, "bad", malformed_naming_the_field, TIMEOUT).await;
    dynamic.delete("bad", &Default::default()).await.expect("delete");
    wait_deleted(&dynamic, "bad", TIMEOUT).await;
    wait_deleted(&statefulsets, "bad-nats", TIMEOUT).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns.name);
    let kept = claims.get_opt("bad-nats-js-pvc-bad-nats-0").await.expect("get");
    assert!(kept.is_some_and(|c| c.metadata.deletion_timestamp.is_none()), "the JetStream volume claim is kept");
    let good_sts = statefulsets.get("good-nats").await.expect("the other CR's objects are untouched");
    assert_eq!(good_sts.spec.replicas, Some(1));

    // The real schema again; the good CR is still served.
    install_crd(&client, &nats_crd()).await;
    let value: Value = serde_json::to_value(good.get("good").await.expect("good")).expect("json");
    assert_eq!(value["status"]["state"], "Ready");
}
