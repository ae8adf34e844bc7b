//! The manager as its own process, as in production: SIGTERM lets it finish and exit 0, and a
//! manager killed in the middle of a backend switch is replaced by one that converges.
//! (This binary runs no in-process manager, so the processes here are the only ones reconciling.)

mod common;

use std::process::Command;
use std::time::Duration;

use common::process::ManagerProcess;
use common::{TestNamespace, client_with_crds, eventing_in_state, wait_deleted, wait_until};
use eventing_manager::api::State;
use eventing_manager::api::eventing::{ActiveBackend, Eventing};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);

fn start() -> ManagerProcess {
    ManagerProcess::start("manager", &["--shutdown-timeout-seconds", "10"], &[])
}

async fn prepare(prefix: &str) -> (Client, TestNamespace) {
    let client = client_with_crds().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let manager_ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": common::MANAGER_NAMESPACE}})).expect("ns");
    let _ = namespaces.create(&PostParams::default(), &manager_ns).await;
    let ns = TestNamespace::create(&client, prefix).await;
    (client, ns)
}

#[tokio::test]
async fn sigterm_stops_the_manager_with_exit_code_zero() {
    let _ = prepare("manager-sigterm").await;
    let mut manager = start();
    // Probes and metrics answer while it runs; every API request is counted by verb.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while manager.http_get("/readyz").map(|(code, _)| code) != Some(200) {
        assert!(std::time::Instant::now() < deadline, "/readyz not 200 within 30s: {}", manager.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(manager.http_get("/healthz").map(|(code, _)| code), Some(200));
    let (code, metrics) = manager.http_get("/metrics").expect("/metrics");
    assert_eq!(code, 200);
    for series in ["eventing_manager_api_requests_total{verb=\"watch\"}", "eventing_manager_leader 1"] {
        assert!(metrics.contains(series), "{series} in:\n{metrics}");
    }
    manager.terminate();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = manager.child.try_wait().expect("wait") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the manager did not stop within 15s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status.code(), Some(0), "graceful shutdown exits 0");
}

#[tokio::test]
async fn a_manager_killed_in_the_middle_of_a_switch_is_replaced_and_converges() {
    let (client, ns) = prepare("manager-restart").await;
    let first = start();
    let api: Api<Eventing> = Api::namespaced(client.clone(), &ns.name);
    let eventing: Eventing = serde_json::from_value(json!({
        "apiVersion": "operator.kyma-project.io/v1alpha1", "kind": "Eventing", "metadata": {"name": "eventing"}, "spec": {"backend": {"type": "NATS"}}
    }))
    .expect("Eventing");
    api.create(&PostParams::default(), &eventing).await.expect("create");
    wait_until(&api, "eventing", eventing_in_state(State::Ready, ActiveBackend::Nats), TIMEOUT).await;

    let mut secret = Secret::default();
    secret.metadata.name = Some("em".into());
    secret.string_data = Some([("client-id".to_owned(), "x".to_owned())].into());
    Api::<Secret>::namespaced(client.clone(), &ns.name).create(&PostParams::default(), &secret).await.expect("secret");
    let switch =
        json!({"spec": {"backend": {"type": "EventMesh", "config": {"eventMeshSecret": format!("{}/em", ns.name)}}}});
    api.patch("eventing", &PatchParams::default(), &Patch::Merge(&switch)).await.expect("switch");
    drop(first); // SIGKILL, whatever it was doing

    let _second = start();
    wait_until(&api, "eventing", eventing_in_state(State::Ready, ActiveBackend::EventMesh), TIMEOUT).await;
    wait_deleted(&Api::<StatefulSet>::namespaced(client.clone(), &ns.name), "eventing-nats", TIMEOUT).await;
}

#[tokio::test]
async fn a_missing_manager_namespace_is_said_once_and_clusters_still_get_credentials() {
    let (client, ns) = prepare("no-manager-ns").await;
    let missing = format!("missing-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let manager = ManagerProcess::start_in("no-manager-ns", &missing, &[], &[]);
    for name in ["a", "b"] {
        let nats = common::crs::create_nats(&client, &ns.name, name, json!({"cluster": {"size": 1}})).await;
        wait_until(&nats, name, common::crs::nats_ready_with(1), TIMEOUT).await;
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    for name in ["a-nats-secret", "b-nats-secret"] {
        secrets.get(name).await.unwrap_or_else(|e| panic!("credentials {name}: {e}"));
    }
    let log = manager.log();
    let said: Vec<&str> =
        log.lines().filter(|l| l.contains("the key of generated passwords is kept in memory only")).collect();
    assert_eq!(said.len(), 1, "said once, at start-up:\n{log}");
    assert!(said[0].contains(&missing) && said[0].contains("\"level\":\"ERROR\""), "names the namespace: {}", said[0]);
    assert!(
        !log.contains("\"level\":\"ERROR\"") || log.matches("\"level\":\"ERROR\"").count() == 1,
        "no other error:\n{log}"
    );
}

#[test]
fn bad_flags_stop_the_manager_before_it_starts() {
    for (flag, value, says) in [
        ("--release-name", "My_Release", "not a valid release name"),
        ("--install-namespace", "Kyma-System", "not a valid namespace name"),
        ("--manager-name", "bad/name", "not a valid manager name"),
        ("--log-level", "info,,=x=y", "not a log filter"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_eventing-manager"))
            .args(["run", flag, value])
            .env("KUBECONFIG", "/nonexistent")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flag} {value} was accepted");
        assert!(stderr.contains(flag) && stderr.contains(says), "{flag}: {stderr}");
    }
}
