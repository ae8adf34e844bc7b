//! The NATS controller on the real control plane: NATS CRs become running JetStream clusters on kwok
//! nodes, follow spec changes, restore what is changed by hand, and deprovision through the finalizer.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::crs::{
    create_nats as create, nats_in_state as in_state, nats_ready_with as ready_with, patch_spec as spec_patch,
};
use common::{TestNamespace, setup_with_manager, wait_deleted, wait_until};
use eventing_manager::api::State;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);

async fn nats_conf(client: &Client, ns: &str, name: &str) -> String {
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let map = maps.get(&format!("{name}-nats-config")).await.expect("config map");
    map.data.and_then(|d| d.get("nats.conf").cloned()).expect("nats.conf")
}

#[tokio::test]
async fn a_new_cluster_becomes_ready_with_every_object() {
    let (client, ns) = setup_with_manager("nats-create").await;
    let api = create(&client, &ns.name, "eu", json!({})).await;
    let nats = wait_until(&api, "eu", ready_with(3), TIMEOUT).await;

    let status = nats.status.expect("status");
    assert_eq!(status.url.as_deref(), Some(format!("nats://eu-nats.{}.svc.cluster.local:4222", ns.name).as_str()));
    for kind in ["StatefulSetReady", "Available"] {
        let condition = status.conditions.iter().find(|c| c.type_ == kind).expect(kind);
        assert_eq!((condition.status.as_str(), condition.observed_generation), ("True", Some(1)), "{kind}");
    }
    assert!(
        nats.metadata.finalizers.unwrap_or_default().contains(&"nats.operator.kyma-project.io/finalizer".to_owned())
    );

    let sts = Api::<StatefulSet>::namespaced(client.clone(), &ns.name).get("eu-nats").await.expect("StatefulSet");
    assert_eq!(sts.spec.replicas, Some(3));
    assert_eq!(sts.owner_references()[0].kind, "NATS");
    let service = Api::<Service>::namespaced(client.clone(), &ns.name).get("eu-nats").await.expect("Service");
    assert_eq!(service.spec.and_then(|s| s.cluster_ip).as_deref(), Some("None"), "headless, as upstream's");
    assert_eq!(sts.spec.service_name.as_deref(), Some("eu-nats"), "the headless Service");
    Api::<ServiceAccount>::namespaced(client.clone(), &ns.name).get("eu-nats").await.expect("ServiceAccount");
    Api::<PodDisruptionBudget>::namespaced(client.clone(), &ns.name).get("eu-nats").await.expect("PodDisruptionBudget");
    let secret =
        Api::<Secret>::namespaced(client.clone(), &ns.name).get("eu-nats-secret").await.expect("credentials Secret");
    let password = secret.data.and_then(|d| d.get("admin-password").cloned()).expect("admin-password");
    assert!(password.0.len() >= 32, "a generated password");
    let conf = nats_conf(&client, &ns.name, "eu").await;
    assert!(conf.contains("name: \"eu\""), "the cluster is named after the CR:\n{conf}");
    let claims = Api::<PersistentVolumeClaim>::namespaced(client.clone(), &ns.name)
        .list(&ListParams::default())
        .await
        .expect("claims");
    assert_eq!(claims.items.len(), 3);
}

#[tokio::test]
async fn scaling_and_settings_roll_out_to_the_statefulset_and_config() {
    let (client, ns) = setup_with_manager("nats-scale").await;
    let api = create(&client, &ns.name, "s", json!({})).await;
    wait_until(&api, "s", ready_with(3), TIMEOUT).await;

    spec_patch(&api, "s", json!({"cluster": {"size": 5}})).await;
    wait_until(&api, "s", ready_with(5), TIMEOUT).await;
    assert_eq!(nats_conf(&client, &ns.name, "s").await.matches(":6222\"").count(), 5, "five routes");

    spec_patch(&api, "s", json!({"cluster": {"size": 3}})).await;
    wait_until(&api, "s", ready_with(3), TIMEOUT).await;
    let sts = Api::<StatefulSet>::namespaced(client.clone(), &ns.name).get("s-nats").await.expect("sts");
    assert_eq!(sts.spec.replicas, Some(3));

    spec_patch(
        &api,
        "s",
        json!({"jetStream": {"memStorage": {"size": "2Gi"}}, "logging": {"debug": true},
               "resources": {"limits": {"memory": "2Gi"}}, "labels": {"team": "messaging"}}),
    )
    .await;
    wait_until(&api, "s", ready_with(3), TIMEOUT).await;
    let conf = nats_conf(&client, &ns.name, "s").await;
    assert!(conf.contains("max_memory_store: 2Gi") && conf.contains("debug: true"), "{conf}");
    let sts = Api::<StatefulSet>::namespaced(client.clone(), &ns.name).get("s-nats").await.expect("sts");
    let nats_container = &sts.spec.template.spec.as_ref().expect("pod spec").containers[0];
    let limits = nats_container.resources.as_ref().and_then(|r| r.limits.clone()).unwrap_or_default();
    assert_eq!(limits.get("memory").map(|q| q.0.as_str()), Some("2Gi"));
    assert_eq!(sts.labels().get("team").map(String::as_str), Some("messaging"));
}

#[tokio::test]
async fn deleted_or_edited_children_are_restored() {
    let (client, ns) = setup_with_manager("nats-restore").await;
    let api = create(&client, &ns.name, "r", json!({})).await;
    wait_until(&api, "r", ready_with(3), TIMEOUT).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    let password = |s: Secret| s.data.and_then(|d| d.get("admin-password").cloned()).expect("password");
    let before = password(secrets.get("r-nats-secret").await.expect("secret"));

    let exists = |object: Option<&DynamicObject>| object.is_some_and(|o| o.metadata.deletion_timestamp.is_none());
    for (api_version, kind, plural, name) in [
        ("apps/v1", "StatefulSet", "statefulsets", "r-nats"),
        ("v1", "ConfigMap", "configmaps", "r-nats-config"),
        ("v1", "Service", "services", "r-nats"),
        ("v1", "Secret", "secrets", "r-nats-secret"),
    ] {
        let resource = ApiResource {
            group: api_version.split_once('/').map_or("", |(g, _)| g).into(),
            version: api_version.rsplit('/').next().unwrap_or("v1").into(),
            api_version: api_version.into(),
            kind: kind.into(),
            plural: plural.into(),
        };
        let objects: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns.name, &resource);
        // Ready and idle first, so that nothing but the deletion can trigger the restore.
        wait_until(&api, "r", ready_with(3), TIMEOUT).await;
        let uid = objects.get(name).await.expect("exists").uid();
        // As `kubectl delete` does: background propagation, so the deletion event is all there is.
        objects.delete(name, &DeleteParams::background()).await.expect("delete");
        let restored = wait_until(
            &objects,
            name,
            |o: Option<&DynamicObject>| exists(o) && o.and_then(|o| o.uid()) != uid,
            TIMEOUT,
        )
        .await;
        assert_ne!(restored.uid(), uid, "{kind} {name} was re-created");
    }
    assert_eq!(
        password(secrets.get("r-nats-secret").await.expect("secret")),
        before,
        "the restored Secret keeps the credentials"
    );
    wait_until(&api, "r", ready_with(3), TIMEOUT).await;

    // Another field manager changes a field we own: the manager puts it back.
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    let edit = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"replicas": 1}});
    sets.patch("r-nats", &PatchParams::apply("someone-else").force(), &Patch::Apply(&edit)).await.expect("hand edit");
    wait_until(&sets, "r-nats", |s: Option<&StatefulSet>| s.and_then(|s| s.spec.replicas) == Some(3), TIMEOUT).await;
}

#[tokio::test]
async fn volumes_grow_with_the_spec_or_a_warning_says_why_not() {
    let (client, ns) = setup_with_manager("nats-grow").await;
    let api = create(&client, &ns.name, "g", json!({"cluster": {"size": 1}})).await;
    let fixed = create(
        &client,
        &ns.name,
        "f",
        json!({"cluster": {"size": 1}, "jetStream": {"fileStorage": {"storageClassName": "fixed-size"}}}),
    )
    .await;
    wait_until(&api, "g", ready_with(1), TIMEOUT).await;
    wait_until(&fixed, "f", ready_with(1), TIMEOUT).await;

    spec_patch(&api, "g", json!({"jetStream": {"fileStorage": {"size": "2Gi"}}})).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns.name);
    let grown = |c: Option<&PersistentVolumeClaim>| {
        c.and_then(|c| c.status.as_ref()?.capacity.as_ref()?.get("storage").cloned()).is_some_and(|q| q.0 == "2Gi")
    };
    wait_until(&claims, "g-nats-js-pvc-g-nats-0", grown, TIMEOUT).await;
    wait_until(&api, "g", ready_with(1), TIMEOUT).await;
    let conf = nats_conf(&client, &ns.name, "g").await;
    assert!(conf.contains("max_file_store: 2Gi"), "{conf}");

    spec_patch(&fixed, "f", json!({"jetStream": {"fileStorage": {"size": "2Gi"}}})).await;
    let warned = wait_until(&fixed, "f", in_state(State::Warning), TIMEOUT).await;
    let available =
        warned.status.expect("status").conditions.into_iter().find(|c| c.type_ == "Available").expect("Available");
    assert!(
        available.message.contains("StorageClass \"fixed-size\" does not allow volume expansion"),
        "{}",
        available.message
    );
    let claim = claims.get("f-nats-js-pvc-f-nats-0").await.expect("claim");
    let requested = claim.spec.and_then(|s| s.resources?.requests?.get("storage").cloned()).expect("request");
    assert_eq!(requested.0, "1Gi", "the claim is left alone");
}

#[tokio::test]
async fn a_missing_referenced_secret_is_an_error_until_it_appears() {
    let (client, ns) = setup_with_manager("nats-missing-secret").await;
    let spec = json!({"cluster": {"size": 1}, "leafNodes": {"remotes": [{"urls": ["nats-leaf://primary.example:7422"], "credentials": {"name": "primary-creds", "key": "edge.creds"}}]}});
    let api = create(&client, &ns.name, "edge", spec).await;
    let failed = wait_until(&api, "edge", in_state(State::Error), TIMEOUT).await;
    let message = failed
        .status
        .expect("status")
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Available")
        .expect("Available")
        .message;
    assert!(
        message.contains(&format!(
            "spec.leafNodes.remotes[0].credentials names the Secret {}/primary-creds, which does not exist",
            ns.name
        )),
        "{message}"
    );
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    assert!(sets.get_opt("edge-nats").await.expect("get").is_none(), "nothing is applied for an invalid spec");

    let mut creds = Secret::default();
    creds.metadata.name = Some("primary-creds".into());
    creds.string_data = Some(BTreeMap::from([("edge.creds".to_owned(), "-----BEGIN NATS USER JWT-----".to_owned())]));
    Api::<Secret>::namespaced(client.clone(), &ns.name)
        .create(&PostParams::default(), &creds)
        .await
        .expect("create creds");
    wait_until(&api, "edge", ready_with(1), Duration::from_secs(30)).await;
    let conf = nats_conf(&client, &ns.name, "edge").await;
    assert!(conf.contains("credentials: \"/etc/nats-remotes/0/edge.creds\""), "{conf}");
    let sts = sets.get("edge-nats").await.expect("sts");
    let volumes = sts.spec.template.spec.and_then(|s| s.volumes).unwrap_or_default();
    assert!(volumes.iter().any(|v| v.secret.as_ref().and_then(|s| s.secret_name.as_deref()) == Some("primary-creds")));
}

#[tokio::test]
async fn deletion_keeps_or_deletes_volume_claims_by_policy() {
    let (client, ns) = setup_with_manager("nats-delete").await;
    let keep = create(&client, &ns.name, "keep", json!({"cluster": {"size": 1}})).await;
    let drop = create(&client, &ns.name, "drop", json!({"cluster": {"size": 1}, "pvcRetentionPolicy": "Delete"})).await;
    wait_until(&keep, "keep", ready_with(1), TIMEOUT).await;
    wait_until(&drop, "drop", ready_with(1), TIMEOUT).await;

    keep.delete("keep", &DeleteParams::default()).await.expect("delete");
    drop.delete("drop", &DeleteParams::default()).await.expect("delete");
    wait_deleted(&keep, "keep", TIMEOUT).await;
    wait_deleted(&drop, "drop", TIMEOUT).await;

    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    wait_deleted(&sets, "keep-nats", TIMEOUT).await;
    wait_deleted(&sets, "drop-nats", TIMEOUT).await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns.name);
    wait_deleted(&maps, "keep-nats-config", TIMEOUT).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns.name);
    wait_deleted(&claims, "drop-nats-js-pvc-drop-nats-0", TIMEOUT).await;
    let kept = claims.get_opt("keep-nats-js-pvc-keep-nats-0").await.expect("get");
    assert!(kept.is_some_and(|c| c.metadata.deletion_timestamp.is_none()), "Retain keeps the JetStream volume claim");
}

#[tokio::test]
async fn clusters_in_two_namespaces_are_independent() {
    let (client, first) = setup_with_manager("nats-two-a").await;
    let second = TestNamespace::create(&client, "nats-two-b").await;
    let a = create(&client, &first.name, "same", json!({"cluster": {"size": 1}})).await;
    let b = create(&client, &second.name, "same", json!({"cluster": {"size": 3}})).await;
    wait_until(&a, "same", ready_with(1), TIMEOUT).await;
    wait_until(&b, "same", ready_with(3), TIMEOUT).await;
    a.delete("same", &DeleteParams::default()).await.expect("delete");
    wait_deleted(&a, "same", TIMEOUT).await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &second.name);
    assert_eq!(sets.get("same-nats").await.expect("still there").spec.replicas, Some(3));
    assert_eq!(b.get("same").await.expect("b").status.and_then(|s| s.state), Some(State::Ready));
}

#[tokio::test]
async fn a_destination_rule_follows_the_istio_api() {
    let (client, ns) = setup_with_manager("nats-istio").await;
    let api = create(&client, &ns.name, "mesh", json!({"cluster": {"size": 1}})).await;
    wait_until(&api, "mesh", ready_with(1), TIMEOUT).await;

    common::install_istio_destinationrule_crd(&client).await;
    let resource = ApiResource {
        group: "networking.istio.io".into(),
        version: "v1".into(),
        api_version: "networking.istio.io/v1".into(),
        kind: "DestinationRule".into(),
        plural: "destinationrules".into(),
    };
    let rules: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns.name, &resource);
    let rule = wait_until(&rules, "mesh-nats", |o: Option<&DynamicObject>| o.is_some(), TIMEOUT).await;
    assert_eq!(rule.data["spec"]["trafficPolicy"]["tls"]["mode"], "DISABLE");

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.delete("destinationrules.networking.istio.io", &DeleteParams::default()).await.expect("remove CRD");
    wait_deleted(&crds, "destinationrules.networking.istio.io", TIMEOUT).await;
    // A spec change after the API went away still converges, without errors.
    spec_patch(&api, "mesh", json!({"logging": {"trace": true}})).await;
    wait_until(&api, "mesh", ready_with(1), TIMEOUT).await;
}

#[tokio::test]
async fn core_nats_without_jetstream_has_no_volumes_and_probes_without_jetstream() {
    let (client, ns) = setup_with_manager("nats-core").await;
    let api = create(&client, &ns.name, "core", json!({"cluster": {"size": 1}, "jetStream": {"enabled": false}})).await;
    wait_until(&api, "core", ready_with(1), TIMEOUT).await;
    let conf = nats_conf(&client, &ns.name, "core").await;
    assert!(!conf.contains("jetstream {") && !conf.contains("cluster {"), "core NATS, one server:\n{conf}");
    let sts = Api::<StatefulSet>::namespaced(client.clone(), &ns.name).get("core-nats").await.expect("sts");
    assert!(sts.spec.volume_claim_templates.is_none(), "no volume claims");
    let pod = sts.spec.template.spec.as_ref().expect("pod spec");
    let nats = pod.containers.iter().find(|c| c.name == "nats").expect("nats container");
    let path = |probe: Option<&k8s_openapi::api::core::v1::Probe>| {
        probe.and_then(|p| p.http_get.as_ref()?.path.clone()).unwrap_or_default()
    };
    assert_eq!(
        [path(nats.startup_probe.as_ref()), path(nats.readiness_probe.as_ref()), path(nats.liveness_probe.as_ref())],
        ["/healthz", "/healthz", "/healthz"]
    );
    let ports: Vec<&str> = nats.ports.iter().flatten().filter_map(|p| p.name.as_deref()).collect();
    assert!(!ports.contains(&"cluster"), "one server: no cluster port ({ports:?})");
    let claims = Api::<PersistentVolumeClaim>::namespaced(client.clone(), &ns.name)
        .list(&ListParams::default())
        .await
        .expect("claims");
    assert!(claims.items.is_empty(), "no volume claims");
}
