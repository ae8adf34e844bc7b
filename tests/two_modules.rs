//! Kyma's two-module layout: an Eventing CR with the NATS backend in a namespace that has a NATS CR
//! uses that cluster (its URL; nothing of NATS rendered by the Eventing release) and provisions its
//! own only without one. Switching between the two keeps the JetStream volume claims; the stream's
//! maximum size is checked against the store of the cluster it goes to.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::crs::{create_eventing, create_nats, eventing_says, nats_ready_with, patch_spec};
use common::{eventing_in_state, setup_with_manager, wait_deleted, wait_until};
use eventing_manager::api::State;
use eventing_manager::api::eventing::ActiveBackend;
use eventing_manager::controllers::nats::NatsNames;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::DeleteParams;
use kube::{Api, ResourceExt};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);

fn nats_url(deployment: Option<&Deployment>) -> Option<String> {
    let container = deployment?.spec.template.spec.as_ref()?.containers.first()?;
    container.env.iter().flatten().find(|e| e.name == "NATS_URL")?.value.clone()
}

fn owned_by(kind: &'static str) -> impl Fn(Option<&StatefulSet>) -> bool {
    move |sts| sts.is_some_and(|s| s.owner_references().iter().any(|o| o.kind == kind))
}

#[tokio::test]
async fn eventing_uses_the_namespaces_nats_cr_and_its_own_nats_without_one() {
    let (client, ns) = setup_with_manager("two-modules").await;
    let eventing = create_eventing(&client, &ns.name, "eventing", json!({"backend": {"type": "NATS"}})).await;
    wait_until(&eventing, "eventing", eventing_in_state(State::Ready, ActiveBackend::Nats), TIMEOUT).await;
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    wait_until(&statefulsets, "eventing-nats", owned_by("Eventing"), TIMEOUT).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns.name);
    let names = NatsNames::of("eventing-nats");
    let claim_uids = async || -> BTreeMap<String, String> {
        let mut uids = BTreeMap::new();
        for i in 0..3 {
            let claim =
                wait_until(&claims, &names.claim(i), |c: Option<&PersistentVolumeClaim>| c.is_some(), TIMEOUT).await;
            uids.insert(names.claim(i), claim.uid().unwrap_or_default());
        }
        uids
    };
    let own_claims = claim_uids().await;

    // The NATS module's CR comes: the Eventing release hands NATS over to it.
    let nats = create_nats(&client, &ns.name, "eventing-nats", json!({})).await;
    wait_until(&statefulsets, "eventing-nats", owned_by("NATS"), TIMEOUT).await;
    wait_until(&nats, "eventing-nats", nats_ready_with(3), TIMEOUT).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    let url = format!("nats://eventing-nats.{}.svc.cluster.local:4222", ns.name);
    wait_until(
        &deployments,
        "eventing-publisher-proxy",
        |d: Option<&Deployment>| nats_url(d) == Some(url.clone()),
        TIMEOUT,
    )
    .await;
    let ready = wait_until(&eventing, "eventing", eventing_in_state(State::Ready, ActiveBackend::Nats), TIMEOUT).await;
    assert_eq!(
        ready.status.and_then(|s| s.publisher_service),
        Some(format!("eventing-publisher-proxy.{}", ns.name)),
        "status.publisherService, as upstream's"
    );
    assert_eq!(claim_uids().await, own_claims, "the NATS CR's servers use the same volume claims");

    // It goes: the Eventing release provisions its own again.
    nats.delete("eventing-nats", &DeleteParams::default()).await.expect("delete NATS CR");
    wait_deleted(&nats, "eventing-nats", TIMEOUT).await;
    wait_until(&statefulsets, "eventing-nats", owned_by("Eventing"), TIMEOUT).await;
    wait_until(&eventing, "eventing", eventing_in_state(State::Ready, ActiveBackend::Nats), TIMEOUT).await;
}

#[tokio::test]
async fn a_stream_that_does_not_fit_the_nats_crs_store_is_a_warning_naming_both_fields() {
    let (client, ns) = setup_with_manager("stream-fit").await;
    let nats =
        create_nats(&client, &ns.name, "eventing-nats", json!({"jetStream": {"fileStorage": {"size": "1Gi"}}})).await;
    wait_until(&nats, "eventing-nats", nats_ready_with(3), TIMEOUT).await;
    let spec = json!({"backend": {"type": "NATS", "config": {"natsStreamMaxSize": "1Gi"}}});
    let eventing = create_eventing(&client, &ns.name, "eventing", spec).await;
    let fragments = &["spec.backend.config.natsStreamMaxSize is 1Gi", "spec.jetStream.fileStorage.size of the NATS CR"];
    wait_until(&eventing, "eventing", eventing_says(State::Warning, fragments), TIMEOUT).await;

    // With headroom it fits; more replicas than servers do not.
    patch_spec(&eventing, "eventing", json!({"backend": {"config": {"natsStreamMaxSize": "900Mi"}}})).await;
    wait_until(&eventing, "eventing", eventing_in_state(State::Ready, ActiveBackend::Nats), TIMEOUT).await;
    patch_spec(&nats, "eventing-nats", json!({"jetStream": {"fileStorage": {"size": "2Gi"}}, "cluster": {"size": 5}}))
        .await;
    patch_spec(
        &eventing,
        "eventing",
        json!({"backend": {"config": {"natsStreamReplicas": 5, "natsStreamMaxSize": "1Gi"}}}),
    )
    .await;
    wait_until(&eventing, "eventing", eventing_in_state(State::Ready, ActiveBackend::Nats), TIMEOUT).await;
    patch_spec(&nats, "eventing-nats", json!({"cluster": {"size": 3}})).await;
    wait_until(
        &eventing,
        "eventing",
        eventing_says(State::Warning, &["natsStreamReplicas is 5", "has 3 servers"]),
        TIMEOUT,
    )
    .await;
}

#[tokio::test]
async fn a_nats_cr_without_jetstream_is_no_backend_for_the_stream() {
    let (client, ns) = setup_with_manager("core-backend").await;
    let nats = create_nats(
        &client,
        &ns.name,
        "eventing-nats",
        json!({"cluster": {"size": 3}, "jetStream": {"enabled": false}}),
    )
    .await;
    wait_until(&nats, "eventing-nats", nats_ready_with(3), TIMEOUT).await;
    let eventing = create_eventing(&client, &ns.name, "eventing", json!({"backend": {"type": "NATS"}})).await;
    let fragments = &["spec.jetStream.enabled of the NATS CR", "JetStream is off"];
    wait_until(&eventing, "eventing", eventing_says(State::Warning, fragments), TIMEOUT).await;
}
