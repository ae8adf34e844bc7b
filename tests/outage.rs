//! The real kube-apiserver stops for 20 s under the running manager and comes back: the manager
//! resumes within seconds, and a scale-up followed at once by a scale-down is not skipped on the
//! word of a cache that has not seen the manager's own write (the CR is Ready only when the
//! StatefulSet has what was applied last). This binary has one test: it stops the shared server.

mod common;

use std::time::Duration;

use common::crs::{create_nats, nats_ready_with, patch_spec};
use common::{apiserver, setup_with_manager, wait_until};
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::Api;
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(90);
const OUTAGE: Duration = Duration::from_secs(20);

fn replicas(sts: &StatefulSet) -> Option<i32> {
    sts.spec.replicas
}

#[tokio::test]
async fn the_manager_resumes_after_an_api_server_outage_and_never_reports_a_skipped_write_as_ready() {
    let (client, ns) = setup_with_manager("outage").await;
    let api = create_nats(&client, &ns.name, "o", json!({"cluster": {"size": 3}})).await;
    wait_until(&api, "o", nats_ready_with(3), TIMEOUT).await;

    // Resumes: a change written as soon as the server serves again (it answers seconds before it
    // accepts writes) reaches the StatefulSet within 5 s.
    let (_, written) = apiserver::outage_then_patch(&api, "o", json!({"cluster": {"size": 5}}), OUTAGE, TIMEOUT).await;
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    wait_until(&statefulsets, "o-nats", |s: Option<&StatefulSet>| s.and_then(replicas) == Some(5), TIMEOUT).await;
    let resumed = written.elapsed();
    assert!(
        resumed < Duration::from_secs(5),
        "the manager applied the change {resumed:?} after the server served again"
    );

    // At once back to 3 (what a cache that missed the write above still holds): Ready with 3
    // means the StatefulSet says 3.
    patch_spec(&api, "o", json!({"cluster": {"size": 3}})).await;
    let ready = wait_until(&api, "o", nats_ready_with(3), TIMEOUT).await;
    let sts = statefulsets.get("o-nats").await.expect("sts");
    assert_eq!(replicas(&sts), Some(3), "Ready with 3 replicas, and the StatefulSet has them");
    assert_eq!(ready.status.and_then(|s| s.observed_generation), ready.metadata.generation);
}
