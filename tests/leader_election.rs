//! Two manager processes with `--leader-elect`: only the Lease holder reconciles; when it is
//! killed the other takes over within 15 s and carries on; a clean shutdown hands the Lease over.
//! (This binary runs no in-process manager: the two processes are the only ones reconciling.)

mod common;

use std::time::{Duration, Instant};

use common::process::ManagerProcess;
use common::{TestNamespace, client_with_crds, wait_until};
use eventing_manager::api::State;
use eventing_manager::api::nats::Nats;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);
const LEASE: &str = "eventing-manager-leader";

async fn holder(leases: &Api<Lease>) -> String {
    leases.get_opt(LEASE).await.ok().flatten().and_then(|l| l.spec).and_then(|s| s.holder_identity).unwrap_or_default()
}

async fn wait_for_holder(leases: &Api<Lease>, prefix: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if holder(leases).await.starts_with(prefix) {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "{prefix} did not take the Lease within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ready_with(size: i32) -> impl Fn(Option<&Nats>) -> bool {
    move |n| {
        n.and_then(|n| n.status.as_ref().map(|s| (s, n.metadata.generation)))
            .is_some_and(|(s, generation)| s.state == Some(State::Ready) && s.observed_generation == generation)
            && n.is_some_and(|n| n.spec.cluster.size == size)
    }
}

#[tokio::test]
async fn only_the_leader_reconciles_and_the_other_takes_over_when_it_dies() {
    let client = client_with_crds().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let manager_ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": common::MANAGER_NAMESPACE}})).expect("ns");
    let _ = namespaces.create(&PostParams::default(), &manager_ns).await;
    let ns = TestNamespace::create(&client, "leader").await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns.name);

    let mut a = ManagerProcess::start("manager-a", &["--leader-elect", "--leader-election-namespace", &ns.name], &[]);
    wait_for_holder(&leases, "manager-a_", TIMEOUT).await;
    let b = ManagerProcess::start("manager-b", &["--leader-elect", "--leader-election-namespace", &ns.name], &[]);

    let api: Api<Nats> = Api::namespaced(client.clone(), &ns.name);
    let nats: Nats = serde_json::from_value(json!({
        "apiVersion": "operator.kyma-project.io/v1alpha1", "kind": "NATS", "metadata": {"name": "n"},
        "spec": {"cluster": {"size": 1}}
    }))
    .expect("NATS");
    api.create(&PostParams::default(), &nats).await.expect("create");
    wait_until(&api, "n", ready_with(1), TIMEOUT).await;
    assert!(a.reconciles() > 0, "the leader reconciled: {}", a.log());
    assert_eq!(b.reconciles(), 0, "the replica standing by reconciled: {}", b.log());
    assert!(b.log().contains("waiting for leadership"), "{}", b.log());

    // SIGKILL: no release, the Lease must expire.
    a.child.kill().expect("kill the leader");
    let _ = a.child.wait();
    let took = wait_for_holder(&leases, "manager-b_", Duration::from_secs(15)).await;
    eprintln!("takeover after the leader was killed: {took:?}");

    // The new leader carries on: a change made after the takeover converges.
    api.patch("n", &PatchParams::default(), &Patch::Merge(json!({"spec": {"cluster": {"size": 3}}})))
        .await
        .expect("scale");
    wait_until(&api, "n", ready_with(3), TIMEOUT).await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    assert_eq!(sets.get("n-nats").await.expect("sts").spec.replicas, Some(3));
    assert!(b.reconciles() > 0, "the new leader reconciled");

    // A clean shutdown releases the Lease at once.
    b.terminate();
    let released = Instant::now();
    while !holder(&leases).await.is_empty() {
        assert!(released.elapsed() < Duration::from_secs(15), "the Lease was not released on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(b);
    // The CR has our finalizer and no manager runs now: remove it so the namespace can go.
    let _ = api.patch("n", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}}))).await;
}
