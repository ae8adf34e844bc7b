//! Standalone mode next to lifecycle-manager: where its Manifest CRD (the real one) is served, a
//! manager started with `--kyma-mode standalone` writes no Kyma status and says why, in its log and
//! in the metric `eventing_manager_kyma_status_refused`, whether the CRD was there at its start or
//! appears later; when it goes, standalone mode resumes. (A binary of its own: the CRD is cluster-wide.)

mod common;

use std::time::{Duration, Instant};

use common::process::ManagerProcess;
use common::{TestNamespace, client_with_crds, install_crd, lifecycle_manager_crd, wait_deleted};
use eventing_manager::api::kyma::Kyma;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::DeleteParams;
use kube::{Api, ResourceExt};
use serde_json::json;

async fn create_kyma(client: &kube::Client, namespace: &str) -> Api<Kyma> {
    let modules = json!([{"name": "eventing", "customResourcePolicy": "Ignore"}]);
    common::crs::create_kyma(client, namespace, "default", modules).await
}

fn refused_metric(manager: &ManagerProcess) -> Option<String> {
    let metrics = manager.http_get("/metrics").map(|(_, body)| body).unwrap_or_default();
    metrics.lines().find(|l| l.starts_with("eventing_manager_kyma_status_refused ")).map(str::to_owned)
}

/// The Kyma CR gets a status from the manager, which does not refuse.
async fn reported_and_not_refused(kymas: &Api<Kyma>, manager: &ManagerProcess) {
    let reported = |k: Option<&Kyma>| k.is_some_and(|k| k.status.is_some());
    common::wait_until(kymas, "default", reported, Duration::from_secs(30)).await;
    assert_eq!(refused_metric(manager).as_deref(), Some("eventing_manager_kyma_status_refused 0"));
}

async fn eventually(what: &str, manager: &ManagerProcess, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what}:\n{}", manager.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn standalone_mode_refuses_to_write_kyma_status_where_lifecycle_manager_runs() {
    let client = client_with_crds().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let manifest_crd = lifecycle_manager_crd("manifests");
    let before = TestNamespace::create(&client, "refusal-before").await;
    let kymas = create_kyma(&client, &before.name).await;

    // Without lifecycle-manager, standalone mode reports into the Kyma CR.
    let manager = ManagerProcess::start("refusal", &["--kyma-mode", "standalone"], &[]);
    reported_and_not_refused(&kymas, &manager).await;

    // lifecycle-manager's Manifest CRD appears: the manager notices, stops writing Kyma status, says why.
    install_crd(&client, &manifest_crd).await;
    eventually("no refusal after the Manifest CRD appeared", &manager, || {
        manager.log().contains("lifecycle-manager owns the Kyma status here")
            && refused_metric(&manager).as_deref() == Some("eventing_manager_kyma_status_refused 1")
    })
    .await;
    assert!(manager.log().contains("--kyma-mode managed"), "says what to do:\n{}", manager.log());
    eventually("not ready again", &manager, || manager.http_get("/readyz").map(|(code, _)| code) == Some(200)).await;
    let during = TestNamespace::create(&client, "refusal-during").await;
    let refused = create_kyma(&client, &during.name).await;
    // The manager's controllers have processed an event that came after the Kyma CR (a NATS CR got
    // its finalizer): a Kyma controller running beside them would have written the Kyma status by now.
    let probe = common::crs::create_nats(&client, &during.name, "probe", json!({"cluster": {"size": 1}})).await;
    let finalized = |n: Option<&eventing_manager::api::Nats>| n.is_some_and(|n| !n.finalizers().is_empty());
    common::wait_until(&probe, "probe", finalized, Duration::from_secs(30)).await;
    let kyma = refused.get("default").await.expect("Kyma");
    assert!(kyma.status.is_none(), "no Kyma status written: {:?}", kyma.status);
    probe.delete("probe", &DeleteParams::default()).await.expect("delete the probe");
    wait_deleted(&probe, "probe", Duration::from_secs(30)).await;

    // A manager started next to lifecycle-manager refuses from the start.
    let started = ManagerProcess::start("refusal-start", &["--kyma-mode", "standalone"], &[]);
    eventually("no refusal at start", &started, || {
        refused_metric(&started).as_deref() == Some("eventing_manager_kyma_status_refused 1")
    })
    .await;
    drop(started);

    // lifecycle-manager gone: standalone mode resumes and reports.
    crds.delete(&manifest_crd.name_any(), &DeleteParams::default()).await.expect("delete the Manifest CRD");
    wait_deleted(&crds, &manifest_crd.name_any(), Duration::from_secs(60)).await;
    reported_and_not_refused(&refused, &manager).await;
}
