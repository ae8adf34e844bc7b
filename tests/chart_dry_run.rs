//! Every object of the render matrix passes a server-side dry-run apply on the real control plane.

mod common;

use common::matrix;
use common::{TestNamespace, apply_manifest, client_with_crds, install_istio_destinationrule_crd};
use eventing_manager::chart::Release;

#[tokio::test]
async fn every_rendered_object_passes_a_server_side_dry_run() {
    let client = client_with_crds().await;
    install_istio_destinationrule_crd(&client).await;
    let ns = TestNamespace::create(&client, "chart-dry-run").await;
    let release = Release { name: "eventing".into(), namespace: ns.name.clone() };
    let mut failures = Vec::new();
    let mut applied = 0;
    for case in matrix::cases() {
        for manifest in case.render(&release) {
            match apply_manifest(&client, &manifest, true).await {
                Ok(_) => applied += 1,
                Err(error) => failures.push(format!("{}: {error}", case.name)),
            }
        }
    }
    assert!(failures.is_empty(), "the API server rejected rendered objects:\n{}", failures.join("\n"));
    assert!(applied > 50, "the matrix renders many objects, applied {applied}");
}

#[tokio::test]
async fn an_invalid_rendered_object_fails_the_dry_run() {
    // The dry run above can fail: the API server validates what we send.
    let client = client_with_crds().await;
    let ns = TestNamespace::create(&client, "chart-dry-run-bad").await;
    let release = Release { name: "eventing".into(), namespace: ns.name.clone() };
    let case = matrix::cases().into_iter().find(|c| c.name == "defaults").expect("defaults");
    let mut statefulset = case.render(&release).into_iter().find(|m| m.kind() == "StatefulSet").expect("sts");
    statefulset.object["spec"]["replicas"] = serde_json::json!(-1);
    let error = apply_manifest(&client, &statefulset, true).await.expect_err("negative replicas are invalid");
    assert!(error.contains("spec.replicas"), "{error}");
}
