//! The local control plane is real: StatefulSets with volume claims roll out onto kwok nodes, claims
//! bind and expand through the simulated provisioner, and the garbage collector deletes owned objects.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{TestNamespace, client, wait_deleted, wait_until};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

fn statefulset(name: &str, replicas: i32, storage_class: Option<&str>) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]}
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": storage_class,
                    "resources": {"requests": {"storage": "1Gi"}}
                }
            }]
        }
    }))
    .expect("valid StatefulSet")
}

fn ready_replicas(n: i32) -> impl Fn(Option<&StatefulSet>) -> bool {
    move |sts| sts.and_then(|s| s.status.as_ref()).and_then(|s| s.ready_replicas) == Some(n)
}

#[tokio::test]
async fn statefulset_with_claim_templates_becomes_ready_on_kwok_nodes() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "testenv-sts").await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    sets.create(&PostParams::default(), &statefulset("web", 3, None)).await.expect("create StatefulSet");

    wait_until(&sets, "web", ready_replicas(3), Duration::from_secs(60)).await;

    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns.name);
    let claims = claims.list(&ListParams::default()).await.expect("list claims");
    assert_eq!(claims.items.len(), 3, "one claim per replica");
    for claim in &claims {
        let status = claim.status.as_ref().expect("claim status");
        assert_eq!(status.phase.as_deref(), Some("Bound"), "{} is bound", claim.name_any());
        let class = claim.spec.as_ref().and_then(|s| s.storage_class_name.as_deref());
        assert_eq!(class, Some("standard"), "the default StorageClass was assigned");
    }

    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    for pod in pods.list(&ListParams::default().labels("app=web")).await.expect("list pods") {
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
        assert!(node.starts_with("kwok-node-"), "{} scheduled onto a kwok node, got {node:?}", pod.name_any());
        assert_eq!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Running"));
    }
}

#[tokio::test]
async fn claim_expansion_is_completed_for_expandable_classes_only() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "testenv-expand").await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    sets.create(&PostParams::default(), &statefulset("grow", 1, None)).await.expect("create StatefulSet");
    sets.create(&PostParams::default(), &statefulset("fixed", 1, Some("fixed-size")))
        .await
        .expect("create StatefulSet");
    wait_until(&sets, "grow", ready_replicas(1), Duration::from_secs(60)).await;
    wait_until(&sets, "fixed", ready_replicas(1), Duration::from_secs(60)).await;

    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns.name);
    let grow = json!({"spec": {"resources": {"requests": {"storage": "2Gi"}}}});
    claims.patch("data-grow-0", &PatchParams::default(), &Patch::Merge(&grow)).await.expect("expand claim");
    let capacity_is_2gi = |claim: Option<&PersistentVolumeClaim>| {
        let capacity = claim.and_then(|c| c.status.as_ref()).and_then(|s| s.capacity.as_ref());
        capacity.and_then(|c| c.get("storage")).is_some_and(|q| q.0 == "2Gi")
    };
    let claim = wait_until(&claims, "data-grow-0", capacity_is_2gi, Duration::from_secs(30)).await;
    let volume_name = claim.spec.and_then(|s| s.volume_name).expect("bound volume");
    let volume = Api::<PersistentVolume>::all(client.clone()).get(&volume_name).await.expect("get volume");
    let capacity: BTreeMap<_, _> = volume.spec.and_then(|s| s.capacity).unwrap_or_default();
    assert_eq!(capacity.get("storage").map(|q| q.0.as_str()), Some("2Gi"), "the volume grew too");

    // A class without allowVolumeExpansion: the API server's admission refuses the request.
    match claims.patch("data-fixed-0", &PatchParams::default(), &Patch::Merge(&grow)).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 403, "{status:?}");
            assert!(status.message.contains("storageclass that provisions the pvc must support resize"), "{status:?}");
        }
        other => panic!("expanding a claim of a fixed-size class must be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn owned_object_is_garbage_collected_when_its_owner_is_deleted() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "testenv-gc").await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns.name);
    let mut owner = ConfigMap::default();
    owner.metadata.name = Some("owner".into());
    let owner = maps.create(&PostParams::default(), &owner).await.expect("create owner");

    let mut child = ConfigMap::default();
    child.metadata.name = Some("child".into());
    child.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "owner".into(),
        uid: owner.uid().expect("owner uid"),
        ..OwnerReference::default()
    }]);
    maps.create(&PostParams::default(), &child).await.expect("create child");

    maps.delete("owner", &DeleteParams::background()).await.expect("delete owner");
    wait_deleted(&maps, "child", Duration::from_secs(30)).await;
}
