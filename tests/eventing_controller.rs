//! The Eventing controller on the real control plane: the backend type provisions or deprovisions
//! NATS, the publisher follows the backend, a missing EventMesh Secret is a Warning until it appears,
//! deletion deprovisions everything through the deletion hook, and without a backend (upstream's
//! default CR) nothing is provisioned and the CR says Warning.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{eventing_in_state, setup_with_manager, wait_deleted, wait_until};
use eventing_manager::api::State;
use eventing_manager::api::eventing::{ActiveBackend, Eventing};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);

async fn create(client: &Client, ns: &str, spec: Value) -> Api<Eventing> {
    common::crs::create_eventing(client, ns, "eventing", spec).await
}

fn condition(e: &Eventing, kind: &str) -> (String, String, Option<i64>) {
    let c = e
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == kind).cloned())
        .unwrap_or_else(|| panic!("{kind} condition"));
    (c.status, c.message, c.observed_generation)
}

fn publisher_env(deployment: &Deployment) -> BTreeMap<String, String> {
    let container = &deployment.spec.template.spec.as_ref().expect("pod spec").containers[0];
    container.env.iter().flatten().map(|e| (e.name.clone(), e.value.clone().unwrap_or_default())).collect()
}

async fn backend(api: &Api<Eventing>, spec: Value) {
    api.patch("eventing", &PatchParams::default(), &Patch::Merge(json!({"spec": {"backend": spec}})))
        .await
        .expect("switch backend");
}

#[tokio::test]
async fn the_nats_backend_provisions_nats_and_the_publisher() {
    let (client, ns) = setup_with_manager("eventing-nats").await;
    let api = create(&client, &ns.name, json!({"backend": {"type": "NATS"}})).await;
    let eventing = wait_until(&api, "eventing", eventing_in_state(State::Ready, ActiveBackend::Nats), TIMEOUT).await;
    for kind in ["BackendAvailable", "PublisherProxyReady"] {
        let (status, _, generation) = condition(&eventing, kind);
        assert_eq!((status.as_str(), generation), ("True", Some(1)), "{kind}");
    }
    assert!(
        eventing
            .metadata
            .finalizers
            .unwrap_or_default()
            .contains(&"eventing-manager.kyma-project.io/deletion-hook".to_owned())
    );
    let sts =
        Api::<StatefulSet>::namespaced(client.clone(), &ns.name).get("eventing-nats").await.expect("NATS StatefulSet");
    assert_eq!(sts.status.and_then(|s| s.ready_replicas), Some(3));
    let publisher = Api::<Deployment>::namespaced(client.clone(), &ns.name)
        .get("eventing-publisher-proxy")
        .await
        .expect("publisher");
    let env = publisher_env(&publisher);
    assert_eq!(env.get("BACKEND").map(String::as_str), Some("NATS"));
    assert_eq!(env.get("NATS_URL"), Some(&format!("nats://eventing-nats.{}.svc.cluster.local:4222", ns.name)));
}

#[tokio::test]
async fn switching_backends_back_and_forth_converges() {
    let (client, ns) = setup_with_manager("eventing-switch").await;
    let api = create(&client, &ns.name, json!({"backend": {"type": "NATS"}})).await;
    wait_until(&api, "eventing", eventing_in_state(State::Ready, ActiveBackend::Nats), TIMEOUT).await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns.name);

    // EventMesh without its Secret: Warning naming it, NATS deprovisioned, its volumes kept.
    let reference = format!("{}/eventmesh-credentials", ns.name);
    backend(&api, json!({"type": "EventMesh", "config": {"eventMeshSecret": reference}})).await;
    let warned =
        wait_until(&api, "eventing", eventing_in_state(State::Warning, ActiveBackend::EventMesh), TIMEOUT).await;
    let (status, message, _) = condition(&warned, "BackendAvailable");
    assert_eq!(status, "False");
    assert!(
        message.contains(&format!("spec.backend.config.eventMeshSecret: the Secret {reference} does not exist")),
        "{message}"
    );
    wait_deleted(&sets, "eventing-nats", TIMEOUT).await;
    wait_deleted(&secrets, "eventing-nats-secret", TIMEOUT).await;
    assert_eq!(
        claims.list(&ListParams::default()).await.expect("claims").items.len(),
        3,
        "JetStream volume claims are retained"
    );

    // The Secret appears: Ready by itself (the Secret is watched), the publisher reads a copy of it.
    let mut secret = Secret::default();
    secret.metadata.name = Some("eventmesh-credentials".into());
    secret.string_data = Some(BTreeMap::from([("client-id".to_owned(), "abc".to_owned())]));
    secrets.create(&PostParams::default(), &secret).await.expect("create EventMesh secret");
    wait_until(&api, "eventing", eventing_in_state(State::Ready, ActiveBackend::EventMesh), Duration::from_secs(30))
        .await;
    let copy = secrets.get("eventing-eventmesh-credentials").await.expect("copied secret");
    assert_eq!(copy.data.and_then(|d| d.get("client-id").cloned()).map(|b| b.0), Some(b"abc".to_vec()));
    let publisher = deployments.get("eventing-publisher-proxy").await.expect("publisher");
    assert_eq!(publisher_env(&publisher).get("BACKEND").map(String::as_str), Some("EventMesh"));

    // Back and forth with the lower-case spellings: each step converges with the right status.
    for (spec, active) in [
        (json!({"type": "nats"}), ActiveBackend::Nats),
        (json!({"type": "eventmesh", "config": {"eventMeshSecret": reference}}), ActiveBackend::EventMesh),
        (json!({"type": "NATS"}), ActiveBackend::Nats),
    ] {
        backend(&api, spec).await;
        wait_until(&api, "eventing", eventing_in_state(State::Ready, active), TIMEOUT).await;
        let has_nats =
            sets.get_opt("eventing-nats").await.expect("get").is_some_and(|s| s.metadata.deletion_timestamp.is_none());
        assert_eq!(has_nats, active == ActiveBackend::Nats, "NATS exists only for the NATS backend");
    }
    wait_deleted(&secrets, "eventing-eventmesh-credentials", TIMEOUT).await;
}

#[tokio::test]
async fn deleting_the_eventing_cr_deprovisions_everything() {
    let (client, ns) = setup_with_manager("eventing-delete").await;
    let api = create(&client, &ns.name, json!({"backend": {"type": "NATS"}})).await;
    wait_until(&api, "eventing", eventing_in_state(State::Ready, ActiveBackend::Nats), TIMEOUT).await;
    api.delete("eventing", &DeleteParams::default()).await.expect("delete");
    wait_deleted(&api, "eventing", TIMEOUT).await;
    wait_deleted(&Api::<StatefulSet>::namespaced(client.clone(), &ns.name), "eventing-nats", TIMEOUT).await;
    wait_deleted(&Api::<Deployment>::namespaced(client.clone(), &ns.name), "eventing-publisher-proxy", TIMEOUT).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns.name);
    assert_eq!(
        claims.list(&ListParams::default()).await.expect("claims").items.len(),
        3,
        "JetStream volume claims are retained"
    );
}

#[tokio::test]
async fn without_a_backend_nothing_is_provisioned_and_the_cr_says_so_as_upstream() {
    let (client, ns) = setup_with_manager("eventing-none").await;
    // Upstream's default Eventing CR names no backend.
    let api = create(&client, &ns.name, json!({"publisher": {"replicas": {"min": 2, "max": 2}}})).await;
    let no_backend = |e: Option<&Eventing>| {
        e.and_then(|e| Some((e.status.as_ref()?, e.metadata.generation))).is_some_and(|(s, generation)| {
            s.state == Some(State::Warning) && s.observed_generation == generation && s.active_backend.is_none()
        })
    };
    let eventing = wait_until(&api, "eventing", no_backend, TIMEOUT).await;
    let conditions = &eventing.status.as_ref().expect("status").conditions;
    let available = conditions.iter().find(|c| c.type_ == "BackendAvailable").expect("BackendAvailable");
    assert_eq!((available.status.as_str(), available.reason.as_str()), ("False", "BackendNotSpecified"));
    assert!(available.message.contains("spec.backend is not set"), "{}", available.message);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    assert!(deployments.list(&ListParams::default()).await.expect("list").items.is_empty(), "no publisher");
    assert!(sets.list(&ListParams::default()).await.expect("list").items.is_empty(), "no NATS");

    // An empty type is no backend either (upstream's other spelling of it).
    backend(&api, json!({"type": ""})).await;
    let still = wait_until(&api, "eventing", no_backend, TIMEOUT).await;
    assert_eq!(still.metadata.generation, Some(2));
    assert!(sets.list(&ListParams::default()).await.expect("list").items.is_empty(), "no NATS");

    // A backend set later provisions it.
    backend(&api, json!({"type": "NATS"})).await;
    wait_until(&api, "eventing", eventing_in_state(State::Ready, ActiveBackend::Nats), TIMEOUT).await;
    // Once set, it cannot be removed (as upstream): the API server says so, naming the field.
    let removed = api
        .patch("eventing", &PatchParams::default(), &Patch::Merge(json!({"spec": {"backend": null}})))
        .await
        .expect_err("removing the backend is refused");
    let message = common::rejection(Err::<(), _>(removed));
    assert!(message.contains("spec.backend cannot be removed once set"), "{message}");
}
