//! The module's whole life as Kyma drives it, on the real control plane, with the manager binary in
//! managed mode running as its Deployment's pod would (one story: it deletes and re-installs the CRDs).
//!
//! 1. Community-module path: the raw manifest (release/eventing-manager.yaml), then the default CR
//!    (release/default-eventing.yaml) → the manager Deployment available, the Eventing CR Ready.
//! 2. lifecycle-manager's removal: the default CR's kind deleted → the module's own NATS deprovisioned,
//!    the removal blocked by the user's NATS CR (Warning naming it); the associated resources deleted
//!    → both gone; then the manager stops and its Deployment and CRDs go in the same second, with a
//!    NATS CR created at the last moment → nothing hangs, no finalizer is left, nothing of the module
//!    remains but the retained JetStream volume claims.
//! 3. A manager started without its CRDs waits (not ready, one log line) and starts within seconds
//!    once they are installed again.

mod common;

use std::time::{Duration, Instant};

use common::process::ManagerProcess;
use common::{TestNamespace, client, wait_deleted, wait_until};
use eventing_manager::api::State;
use eventing_manager::api::eventing::Eventing;
use eventing_manager::api::nats::Nats;
use eventing_manager::chart::Manifest;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(90);
const KYMA_SYSTEM: &str = "kyma-system";

async fn apply_all(client: &Client, objects: &[Value]) {
    for object in objects {
        let manifest = Manifest { source: "release/eventing-manager.yaml".into(), object: object.clone() };
        common::apply_manifest(client, &manifest, false).await.unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Deletes every object of the raw manifest at once, as lifecycle-manager does.
async fn delete_all(client: &Client, objects: &[Value]) {
    for object in objects {
        let api = common::dynamic_api(client, object).await.unwrap_or_else(|e| panic!("{e}"));
        let _ = api.delete(object["metadata"]["name"].as_str().unwrap_or_default(), &DeleteParams::background()).await;
    }
}

fn nats_cr(name: &str) -> Nats {
    serde_json::from_value(json!({
        "apiVersion": "operator.kyma-project.io/v1alpha1", "kind": "NATS", "metadata": {"name": name},
        "spec": {"cluster": {"size": 1}}
    }))
    .expect("NATS")
}

/// The manager as the raw manifest's Deployment runs it (its arguments), on the host.
fn start_manager_like_the_pod(name: &str, deployment: &Value) -> ManagerProcess {
    let args: Vec<String> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .skip(1) // `run`: ManagerProcess adds it
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--leader-election-namespace", KYMA_SYSTEM]);
    ManagerProcess::start(name, &args, &[])
}

#[tokio::test]
async fn install_as_a_community_module_then_remove_as_lifecycle_manager_does() {
    let client = client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for name in [KYMA_SYSTEM, common::MANAGER_NAMESPACE] {
        let _ = namespaces
            .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": name}})).expect("ns"))
            .await;
    }
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let raw = common::repo_documents("release/eventing-manager.yaml");
    let deployment = raw.iter().find(|d| d["kind"] == "Deployment").expect("the manager Deployment").clone();

    // 1. The community-module path: the raw manifest, then the default CR.
    apply_all(&client, &raw).await;
    for crd in raw.iter().filter(|d| d["kind"] == "CustomResourceDefinition") {
        let name = crd["metadata"]["name"].as_str().expect("name");
        wait_until(&crds, name, kube::runtime::wait::conditions::is_crd_established(), TIMEOUT).await;
    }
    let manager = start_manager_like_the_pod("lifecycle", &deployment);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), KYMA_SYSTEM);
    // lifecycle-manager reports the module from this Deployment's readiness (kwok runs its pod).
    wait_until(
        &deployments,
        "eventing-manager",
        |d: Option<&Deployment>| d.and_then(|d| d.status.as_ref()).and_then(|s| s.available_replicas) == Some(1),
        TIMEOUT,
    )
    .await;
    let default_cr = common::repo_documents("release/default-eventing.yaml").remove(0);
    let eventings: Api<Eventing> = Api::namespaced(client.clone(), KYMA_SYSTEM);
    let _ = eventings.delete("eventing", &DeleteParams::default()).await; // left by an interrupted run
    wait_deleted(&eventings, "eventing", TIMEOUT).await;
    let as_user = PostParams { field_manager: Some("kubectl".into()), ..Default::default() };
    eventings.create(&as_user, &serde_json::from_value(default_cr).expect("Eventing")).await.expect("default CR");
    let ready = |e: Option<&Eventing>| e.and_then(|e| e.status.as_ref()).and_then(|s| s.state) == Some(State::Ready);
    wait_until(&eventings, "eventing", ready, TIMEOUT).await;
    Api::<StatefulSet>::namespaced(client.clone(), KYMA_SYSTEM).get("eventing-nats").await.expect("the module's NATS");
    // Every write of the manager is recorded under its field manager (never `unknown`).
    let eventing = eventings.get("eventing").await.expect("eventing");
    let managers: Vec<String> = eventing
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|m| {
            format!(
                "{}/{}{}",
                m.manager.clone().unwrap_or_default(),
                m.operation.clone().unwrap_or_default(),
                m.subresource.as_deref().map(|s| format!("/{s}")).unwrap_or_default()
            )
        })
        .collect();
    assert!(managers.iter().all(|m| !m.starts_with("unknown/")), "field managers: {managers:?}");
    assert!(managers.contains(&"eventing-manager/Update".to_owned()), "the finalizer: {managers:?}");
    assert!(managers.contains(&"eventing-manager/Update/status".to_owned()), "the status: {managers:?}");

    // A user's own NATS cluster elsewhere.
    let user_ns = TestNamespace::create(&client, "user-nats").await;
    let user_nats: Api<Nats> = Api::namespaced(client.clone(), &user_ns.name);
    user_nats.create(&PostParams::default(), &nats_cr("user")).await.expect("user's NATS");
    wait_until(
        &user_nats,
        "user",
        |n: Option<&Nats>| n.and_then(|n| n.status.as_ref()).and_then(|s| s.state) == Some(State::Ready),
        TIMEOUT,
    )
    .await;

    // 2. lifecycle-manager deletes the default CR's kind (every Eventing CR of the cluster): the
    // module deprovisions, then waits.
    for eventing in Api::<Eventing>::all(client.clone()).list(&ListParams::default()).await.expect("list").items {
        let api: Api<Eventing> = Api::namespaced(client.clone(), &eventing.namespace().unwrap_or_default());
        let _ = api.delete(&eventing.name_any(), &DeleteParams::background()).await;
    }
    let blocked = wait_until(
        &eventings,
        "eventing",
        |e: Option<&Eventing>| e.and_then(|e| e.status.as_ref()).and_then(|s| s.state) == Some(State::Warning),
        TIMEOUT,
    )
    .await;
    let deleted = blocked
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Deleted"))
        .expect("Deleted condition");
    assert_eq!(deleted.reason, "DeletionBlocked");
    assert!(
        deleted.message.contains(&format!("{}/user", user_ns.name)),
        "names the user's NATS CR: {}",
        deleted.message
    );
    wait_deleted(&Api::<StatefulSet>::namespaced(client.clone(), KYMA_SYSTEM), "eventing-nats", TIMEOUT).await;
    assert!(user_nats.get_opt("user").await.expect("get").is_some(), "the user's cluster is not touched");

    // The associated resources (as the Kyma CLI deletes them): NATS CRs, then the Eventing CRs.
    for nats in Api::<Nats>::all(client.clone()).list(&ListParams::default()).await.expect("list NATS").items {
        let api: Api<Nats> = Api::namespaced(client.clone(), &nats.namespace().unwrap_or_default());
        let _ = api.delete(&nats.name_any(), &DeleteParams::background()).await;
    }
    wait_deleted(&user_nats, "user", TIMEOUT).await;
    wait_deleted(&eventings, "eventing", TIMEOUT).await;
    let deadline = Instant::now() + TIMEOUT;
    while !Api::<Eventing>::all(client.clone()).list(&ListParams::default()).await.expect("list").items.is_empty() {
        assert!(Instant::now() < deadline, "Eventing CRs left after the removal");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A NATS CR created at the last moment, then the manager's pod stops while its Deployment and
    // the CRDs are deleted in the same second.
    user_nats.create(&PostParams::default(), &nats_cr("late")).await.expect("late NATS");
    wait_until(&user_nats, "late", |n: Option<&Nats>| n.is_some_and(|n| !n.finalizers().is_empty()), TIMEOUT).await;
    // The pod's SIGTERM first: the controllers stop before the CRDs' deletion reaches the CR.
    manager.terminate();
    delete_all(&client, &raw).await;
    let started = Instant::now();
    for crd in raw.iter().filter(|d| d["kind"] == "CustomResourceDefinition") {
        wait_deleted(&crds, crd["metadata"]["name"].as_str().expect("name"), Duration::from_secs(60)).await;
    }
    eprintln!("CRDs gone {:?} after the removal", started.elapsed());
    let log = manager.log();
    assert!(log.contains("removed our finalizer"), "the stopping manager released the late CR's finalizer:\n{log}");

    // Nothing of the module is left but the JetStream volume claims (Retain).
    let managed = ListParams::default().labels("app.kubernetes.io/managed-by=eventing-manager");
    for namespace in [KYMA_SYSTEM, user_ns.name.as_str()] {
        assert!(
            Api::<ConfigMap>::namespaced(client.clone(), namespace)
                .list(&managed)
                .await
                .expect("list")
                .items
                .is_empty()
        );
        assert!(
            Api::<Service>::namespaced(client.clone(), namespace).list(&managed).await.expect("list").items.is_empty()
        );
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), common::MANAGER_NAMESPACE);
    wait_deleted(&secrets, "eventing-manager-credentials-key", TIMEOUT).await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), KYMA_SYSTEM);
    wait_deleted(&leases, "eventing-manager-leader", TIMEOUT).await;
    let claims = Api::<PersistentVolumeClaim>::namespaced(client.clone(), &user_ns.name)
        .list(&ListParams::default())
        .await
        .expect("claims");
    assert!(!claims.items.is_empty(), "JetStream volume claims are retained");

    // 3. A manager started without its CRDs waits for them.
    let waiting = start_manager_like_the_pod("no-crds", &deployment);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !waiting.log().contains("waiting for the CRDs") {
        assert!(Instant::now() < deadline, "no word about the missing CRDs:\n{}", waiting.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // One CRD comes: the metric shows that the manager looked again; it still says it only once.
    let crd_docs: Vec<Value> = raw.iter().filter(|d| d["kind"] == "CustomResourceDefinition").cloned().collect();
    let missing = |manager: &ManagerProcess| {
        let metrics = manager.http_get("/metrics").map(|(_, body)| body).unwrap_or_default();
        metrics.lines().find_map(|l| l.strip_prefix("eventing_manager_crds_missing ")?.parse::<usize>().ok())
    };
    let before = missing(&waiting).expect("eventing_manager_crds_missing");
    assert!(before >= 2, "{before} CRDs missing");
    apply_all(&client, &crd_docs[..1]).await;
    while missing(&waiting) != Some(before - 1) {
        assert!(
            Instant::now() < deadline + Duration::from_secs(20),
            "the manager did not look again:\n{}",
            waiting.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(waiting.http_get("/readyz").map(|(code, _)| code), Some(503), "not ready without CRDs");
    assert_eq!(waiting.log().matches("waiting for the CRDs").count(), 1, "one log line");
    let mut waiting = waiting;
    assert!(waiting.child.try_wait().expect("status").is_none(), "the manager keeps running");
    apply_all(&client, &crd_docs).await;
    let installed = Instant::now();
    while waiting.http_get("/readyz").map(|(code, _)| code) != Some(200) {
        assert!(
            installed.elapsed() < Duration::from_secs(15),
            "not ready 15 s after the CRDs came back:\n{}",
            waiting.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("ready {:?} after the CRDs were installed", installed.elapsed());
    // It reconciles at once: a NATS CR gets its finalizer.
    user_nats.create(&PostParams::default(), &nats_cr("after")).await.expect("NATS after");
    wait_until(
        &user_nats,
        "after",
        |n: Option<&Nats>| n.is_some_and(|n| !n.finalizers().is_empty()),
        Duration::from_secs(15),
    )
    .await;
    user_nats.delete("after", &DeleteParams::background()).await.expect("delete");
    wait_deleted(&user_nats, "after", TIMEOUT).await;
}
