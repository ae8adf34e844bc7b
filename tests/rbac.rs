//! The manager under the least-privilege roles of `config/rbac` on the real control plane (RBAC
//! authorization on): a user's whole story converges and the manager's log has no Forbidden.
//! The test binds the roles to the testenv's `eventing-manager` token identity instead of the
//! ServiceAccount of the Deployment; the rules are the same files.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::process::ManagerProcess;
use common::{MANAGER_NAMESPACE, TestNamespace, client_with_crds, wait_deleted, wait_until};
use eventing_manager::api::State;
use eventing_manager::api::eventing::Eventing;
use eventing_manager::api::kyma::Kyma;
use eventing_manager::api::nats::Nats;
use eventing_manager::chart::Manifest;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PersistentVolumeClaim, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(90);
const USER: &str = "eventing-manager";

fn repo_file(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {full}: {e}"))
}

async fn apply(client: &Client, object: Value) {
    let manifest = Manifest { source: "tests/rbac.rs".into(), object };
    common::apply_manifest(client, &manifest, false).await.unwrap_or_else(|e| panic!("{e}"));
}

/// The ClusterRole of `file` (the first of its documents that is one), renamed to `name` and bound
/// to the manager's token identity.
async fn grant_cluster_role(client: &Client, file: &str, name: &str) {
    let mut role: Value = common::repo_documents(file)
        .into_iter()
        .find(|doc| doc["kind"] == "ClusterRole")
        .unwrap_or_else(|| panic!("a ClusterRole in {file}"));
    role["metadata"]["name"] = json!(name);
    apply(client, role).await;
    apply(
        client,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}]
        }),
    )
    .await;
}

/// The roles of config/rbac and standalone mode's extra role (config/standalone), bound to the
/// manager's token identity.
async fn grant(client: &Client) {
    grant_cluster_role(client, "config/rbac/role.yaml", "eventing-manager-rbac-test").await;
    grant_cluster_role(client, "config/standalone/kyma_role.yaml", "eventing-manager-standalone-rbac-test").await;
    let mut lease_role: Value =
        yaml_serde::from_str(&repo_file("config/rbac/leader_election_role.yaml")).expect("leader_election_role.yaml");
    lease_role["metadata"]["namespace"] = json!(MANAGER_NAMESPACE);
    apply(client, lease_role).await;
    apply(
        client,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "eventing-manager-leader-election", "namespace": MANAGER_NAMESPACE},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "eventing-manager-leader-election"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}]
        }),
    )
    .await;
}

/// A kubeconfig for the same cluster as `KUBECONFIG`, authenticated with the manager's token.
fn manager_kubeconfig() -> std::path::PathBuf {
    let admin = std::env::var("KUBECONFIG").expect("KUBECONFIG names the test control plane");
    let mut config: Value = yaml_serde::from_str(&std::fs::read_to_string(&admin).expect("kubeconfig")).expect("yaml");
    let token_file = std::path::Path::new(&admin).with_file_name("pki").join("manager.token");
    let token = std::fs::read_to_string(&token_file)
        .unwrap_or_else(|e| panic!("the manager's token {}: {e}", token_file.display()));
    for user in config["users"].as_array_mut().expect("users") {
        user["user"] = json!({"token": token.trim()});
    }
    // Relative certificate paths stay valid: the file goes next to the admin's.
    let path = std::path::Path::new(&admin).with_file_name(format!("rbac-test-{}.kubeconfig", std::process::id()));
    std::fs::write(&path, yaml_serde::to_string(&config).expect("yaml")).expect("write kubeconfig");
    path
}

fn create<K: serde::de::DeserializeOwned>(object: Value) -> K {
    serde_json::from_value(object).expect("valid object")
}

#[tokio::test]
async fn the_manager_needs_nothing_beyond_its_roles() {
    let client = client_with_crds().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let _ = namespaces.create(&PostParams::default(), &create(json!({"metadata": {"name": MANAGER_NAMESPACE}}))).await;
    grant(&client).await;
    common::install_istio_destinationrule_crd(&client).await;
    let ns = TestNamespace::create(&client, "rbac").await;
    let kubeconfig = manager_kubeconfig();
    let manager = ManagerProcess::start(
        "rbac",
        &["--leader-elect", "--kyma-mode", "standalone"],
        &[("KUBECONFIG", kubeconfig.to_str().expect("path")), ("LOG_LEVEL", "info")],
    );

    // Kyma enables eventing: the default Eventing CR, NATS and the publisher.
    let kymas: Api<Kyma> = Api::namespaced(client.clone(), &ns.name);
    let kyma = json!({"apiVersion": "operator.kyma-project.io/v1beta2", "kind": "Kyma", "metadata": {"name": "default"},
        "spec": {"channel": "regular", "modules": [{"name": "eventing"}]}});
    kymas.create(&PostParams::default(), &create(kyma)).await.expect("Kyma");
    let module_ready = |k: Option<&Kyma>| {
        k.and_then(|k| k.status.as_ref())
            .is_some_and(|s| s.modules.iter().any(|m| m.state == eventing_manager::api::kyma::KymaState::Ready))
    };
    wait_until(&kymas, "default", module_ready, TIMEOUT).await;

    // Switch to EventMesh: the Secret copied, NATS pruned.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    let mut secret = Secret::default();
    secret.metadata.name = Some("em".into());
    secret.string_data = Some(BTreeMap::from([("client-id".to_owned(), "x".to_owned())]));
    secrets.create(&PostParams::default(), &secret).await.expect("secret");
    let eventings: Api<Eventing> = Api::namespaced(client.clone(), &ns.name);
    let switch =
        json!({"spec": {"backend": {"type": "EventMesh", "config": {"eventMeshSecret": format!("{}/em", ns.name)}}}});
    eventings.patch("eventing", &PatchParams::default(), &Patch::Merge(&switch)).await.expect("switch");
    wait_deleted(&Api::<StatefulSet>::namespaced(client.clone(), &ns.name), "eventing-nats", TIMEOUT).await;
    wait_until(&kymas, "default", module_ready, TIMEOUT).await;

    // A NATS cluster with leaf node credentials, a DestinationRule, a growing volume, deleted claims,
    // and objects that Kyma's nats-manager made for it (adopted). It waits for its credentials
    // Secret (an error before anything is applied) while those objects are made.
    let nats: Api<Nats> = Api::namespaced(client.clone(), &ns.name);
    let edge = json!({"apiVersion": "operator.kyma-project.io/v1alpha1", "kind": "NATS", "metadata": {"name": "edge"},
        "spec": {"cluster": {"size": 1}, "pvcRetentionPolicy": "Delete",
            "leafNodes": {"remotes": [{"urls": ["nats-leaf://primary.example:7422"], "credentials": {"name": "primary-creds", "key": "edge.creds"}}]}}});
    let edge = nats.create(&PostParams::default(), &create(edge)).await.expect("NATS");
    let upstream = json!({"labels": {"app.kubernetes.io/managed-by": "nats-manager"}, "ownerReferences": [{
        "apiVersion": "operator.kyma-project.io/v1alpha1", "kind": "NATS", "name": "edge",
        "uid": edge.metadata.uid, "controller": true}]});
    let mut config: ConfigMap = create(json!({"metadata": upstream.clone(), "data": {"nats.conf": "port: 4222"}}));
    config.metadata.name = Some("edge-nats-config".into());
    Api::<ConfigMap>::namespaced(client.clone(), &ns.name).create(&PostParams::default(), &config).await.expect("cm");
    let mut accounts: Secret = create(json!({"metadata": upstream, "stringData": {"resolver.conf": "accounts: {}"}}));
    accounts.metadata.name = Some("edge-nats-secret".into());
    secrets.create(&PostParams::default(), &accounts).await.expect("upstream's Secret");
    let mut creds = Secret::default();
    creds.metadata.name = Some("primary-creds".into());
    creds.string_data = Some(BTreeMap::from([("edge.creds".to_owned(), "jwt".to_owned())]));
    secrets.create(&PostParams::default(), &creds).await.expect("creds");
    let nats_ready =
        |n: Option<&Nats>| n.and_then(|n| n.status.as_ref()).is_some_and(|s| s.state == Some(State::Ready));
    wait_until(&nats, "edge", nats_ready, TIMEOUT).await;
    let rules: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns.name,
        &ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("networking.istio.io", "v1", "DestinationRule"),
            "destinationrules",
        ),
    );
    rules.get("edge-nats").await.expect("the DestinationRule was applied");
    let adopted = Api::<ConfigMap>::namespaced(client.clone(), &ns.name).get("edge-nats-config").await.expect("cm");
    assert_eq!(adopted.labels().get("app.kubernetes.io/managed-by").map(String::as_str), Some("eventing-manager"));
    let adopted = secrets.get("edge-nats-secret").await.expect("Secret");
    assert!(adopted.data.is_some_and(|d| d.contains_key("admin-password")), "upstream's Secret was adopted");
    nats.patch(
        "edge",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"jetStream": {"fileStorage": {"size": "2Gi"}}}})),
    )
    .await
    .expect("grow");
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns.name);
    let grown = |c: Option<&PersistentVolumeClaim>| {
        c.and_then(|c| c.spec.as_ref()?.resources.as_ref()?.requests.as_ref()?.get("storage").cloned())
            .is_some_and(|q| q.0 == "2Gi")
    };
    wait_until(&claims, "edge-nats-js-pvc-edge-nats-0", grown, TIMEOUT).await;
    nats.delete("edge", &DeleteParams::default()).await.expect("delete NATS");
    wait_deleted(&nats, "edge", TIMEOUT).await;
    wait_deleted(&claims, "edge-nats-js-pvc-edge-nats-0", TIMEOUT).await;

    // The module removed from the Kyma CR: the Eventing CR deleted, the entry gone.
    kymas
        .patch("default", &PatchParams::default(), &Patch::Merge(json!({"spec": {"modules": []}})))
        .await
        .expect("remove");
    wait_deleted(&eventings, "eventing", TIMEOUT).await;

    let log = manager.log();
    drop(manager);
    let _ = std::fs::remove_file(&kubeconfig);
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let _ = crds.delete("destinationrules.networking.istio.io", &DeleteParams::default()).await;
    // RBAC denials read `... is forbidden: User "eventing-manager" cannot <verb> ...` (other 403s, such as
    // writes into namespaces being deleted by earlier tests, are not about the roles).
    let denied: Vec<&str> = log.lines().filter(|l| l.contains("is forbidden: User")).collect();
    assert!(denied.is_empty(), "the manager was denied something:\n{}", denied.join("\n"));
    assert!(log.contains("became the leader"), "{log}");
}

/// The role grants every verb apply, prune and the caches use on every kind the charts render
/// (`controllers/children.rs` lists them once).
#[test]
fn the_role_covers_every_rendered_kind() {
    let role: Value = yaml_serde::from_str(&repo_file("config/rbac/role.yaml")).expect("role.yaml");
    let rules = role["rules"].as_array().expect("rules");
    for (group, resource) in eventing_manager::controllers::children::CHILD_RESOURCES {
        for verb in ["get", "list", "watch", "create", "patch", "delete"] {
            let granted = rules.iter().any(|rule| {
                let has = |key: &str, value: &str| rule[key].as_array().is_some_and(|l| l.iter().any(|v| v == value));
                has("apiGroups", group) && has("resources", resource) && has("verbs", verb)
            });
            assert!(granted, "config/rbac/role.yaml does not grant {verb} on {resource} ({group:?})");
        }
    }
}
