//! Standalone mode next to lifecycle-manager: where its Manifest CRD (the real one) is served, a
//! manager started with `--kyma-mode standalone` writes no Kyma status and says why, in its log and
//! in the metric `eventing_manager_kyma_status_refused`. (A binary of its own: the CRD is cluster-wide.)

mod common;

use std::time::{Duration, Instant};

use common::process::ManagerProcess;
use common::{TestNamespace, client_with_crds, install_crd, lifecycle_manager_crd, wait_deleted};
use eventing_manager::api::kyma::Kyma;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

#[tokio::test]
async fn standalone_mode_refuses_to_write_kyma_status_where_lifecycle_manager_runs() {
    let client = client_with_crds().await;
    let manifest_crd = lifecycle_manager_crd("manifests");
    install_crd(&client, &manifest_crd).await;
    let ns = TestNamespace::create(&client, "refusal").await;
    let kymas: Api<Kyma> = Api::namespaced(client.clone(), &ns.name);
    let kyma: Kyma = serde_json::from_value(json!({
        "apiVersion": "operator.kyma-project.io/v1beta2", "kind": "Kyma", "metadata": {"name": "default"},
        "spec": {"channel": "regular", "modules": [{"name": "eventing"}]}
    }))
    .expect("Kyma");
    kymas.create(&PostParams::default(), &kyma).await.expect("Kyma");

    let manager = ManagerProcess::start("refusal", &["--kyma-mode", "standalone"], &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while manager.http_get("/readyz").map(|(code, _)| code) != Some(200) {
        assert!(Instant::now() < deadline, "not ready:\n{}", manager.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = manager.log();
    assert!(log.contains("lifecycle-manager owns the Kyma status here"), "says why:\n{log}");
    assert!(log.contains("--kyma-mode managed"), "says what to do:\n{log}");
    let metrics = manager.http_get("/metrics").map(|(_, body)| body).unwrap_or_default();
    assert!(metrics.lines().any(|l| l == "eventing_manager_kyma_status_refused 1"), "{metrics}");
    // Caches synced, controllers running: a Kyma controller would have written within this time.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let kyma = kymas.get("default").await.expect("Kyma");
    assert!(kyma.status.is_none(), "no Kyma status written: {:?}", kyma.status);
    let eventings: Api<eventing_manager::api::Eventing> = Api::namespaced(client.clone(), &ns.name);
    assert!(eventings.get_opt("eventing").await.expect("get").is_none(), "no default CR created");
    drop(manager);

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.delete(&manifest_crd.name_any(), &DeleteParams::default()).await.expect("delete the Manifest CRD");
    wait_deleted(&crds, &manifest_crd.name_any(), Duration::from_secs(60)).await;
}
