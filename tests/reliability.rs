//! What a hostile or careless user tried, on the real control plane (issue 12's findings): the
//! manager never takes over a user's object, never copies a Secret across namespaces without the
//! Secret's consent, names the field of every dependency it cannot use, and rolls the servers when
//! it had to make new credentials.

mod common;

use std::time::Duration;

use common::crs::{create_eventing, create_nats, eventing_says, nats_in_state, nats_says, patch_spec};
use common::{TestNamespace, setup_with_manager, wait_deleted, wait_until};
use eventing_manager::api::State;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);

async fn secret(client: &Client, ns: &str, name: &str, data: &[(&str, &str)]) {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name},
        "stringData": data.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>(),
    }))
    .expect("secret");
    api.create(&PostParams::default(), &secret).await.expect("create secret");
}

#[tokio::test]
async fn a_users_object_with_a_name_the_release_needs_is_left_alone_and_survives_the_cr() {
    let (client, ns) = setup_with_manager("own-cm").await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns.name);
    let mine: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "demo-nats-config"}, "data": {"mine": "precious"}}))
            .expect("config map");
    maps.create(&PostParams::default(), &mine).await.expect("user's config map");

    let api = create_nats(&client, &ns.name, "demo", json!({"cluster": {"size": 1}})).await;
    // Error naming the object and the field that chose its name; nothing of the release is written.
    let cr = wait_until(
        &api,
        "demo",
        nats_says(State::Error, "Conflict", &["ConfigMap", "demo-nats-config", "was not created by", "metadata.name"]),
        TIMEOUT,
    )
    .await;
    let message = &cr.status.expect("status").conditions[0].message;
    assert!(message.len() <= 1024, "bounded: {}", message.len());
    let untouched = maps.get("demo-nats-config").await.expect("still there");
    assert_eq!(untouched.data, mine.data, "the user's data is untouched");
    assert!(untouched.metadata.owner_references.is_none(), "not owner-referenced");
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    assert!(statefulsets.get_opt("demo-nats").await.expect("read").is_none(), "nothing applied before the check");

    api.delete("demo", &DeleteParams::default()).await.expect("delete CR");
    wait_deleted(&api, "demo", TIMEOUT).await;
    let after = maps.get("demo-nats-config").await.expect("the user's config map survives the CR");
    assert_eq!(after.data, mine.data);
}

#[tokio::test]
async fn an_event_mesh_secret_of_another_namespace_is_used_only_when_it_shares_itself() {
    let (client, ns) = setup_with_manager("mesh-a").await;
    let other = TestNamespace::create(&client, "mesh-b").await;
    secret(&client, &other.name, "db-password", &[("password", "hunter2")]).await;
    let reference = format!("{}/db-password", other.name);
    let api = create_eventing(
        &client,
        &ns.name,
        "eventing",
        json!({"backend": {"type": "EventMesh", "config": {"eventMeshSecret": reference}}}),
    )
    .await;
    wait_until(
        &api,
        "eventing",
        eventing_says(
            State::Warning,
            &["spec.backend.config.eventMeshSecret", "does not share itself", "allowed-namespaces"],
        ),
        TIMEOUT,
    )
    .await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    assert!(
        secrets.get_opt("eventing-eventmesh-credentials").await.expect("read").is_none(),
        "another namespace's Secret is not copied"
    );

    // The Secret opts in: now it is used.
    let shared: Api<Secret> = Api::namespaced(client.clone(), &other.name);
    let annotation =
        json!({"metadata": {"annotations": {"eventing-manager.kyma-project.io/allowed-namespaces": ns.name}}});
    shared.patch("db-password", &PatchParams::default(), &Patch::Merge(annotation)).await.expect("annotate");
    let copy = async {
        loop {
            if let Ok(Some(copy)) = secrets.get_opt("eventing-eventmesh-credentials").await {
                return copy;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let copy = tokio::time::timeout(TIMEOUT, copy).await.expect("copied once shared");
    assert!(copy.data.is_some_and(|d| d.contains_key("password")));
}

#[tokio::test]
async fn dependencies_the_api_server_cannot_check_are_named_by_field() {
    let (client, ns) = setup_with_manager("deps").await;
    // A Secret without the key the spec names: Error naming the field (a kubelet would refuse the pod).
    secret(&client, &ns.name, "leaf-auth", &[("other", "x")]).await;
    let leaf = json!({"cluster": {"size": 1}, "leafNodes": {"enabled": true, "authorization": {"user": "u", "password": {"name": "leaf-auth", "key": "password"}}}});
    let api = create_nats(&client, &ns.name, "leaf", leaf).await;
    wait_until(
        &api,
        "leaf",
        nats_says(
            State::Error,
            "DependencyMissing",
            &["spec.leafNodes.authorization.password", "\"password\"", "leaf-auth"],
        ),
        TIMEOUT,
    )
    .await;
    // A value nats-server would not start with (a digit first, read as a number): Error naming
    // the field and why, never the value.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    let patch = json!({"stringData": {"password": "3Gb-leaf"}});
    secrets.patch("leaf-auth", &PatchParams::default(), &Patch::Merge(patch)).await.expect("add key");
    wait_until(
        &api,
        "leaf",
        nats_says(
            State::Error,
            "DependencyMissing",
            &["spec.leafNodes.authorization.password", "must begin with a letter"],
        ),
        TIMEOUT,
    )
    .await;
    let status = serde_json::to_string(&api.get_status("leaf").await.expect("status").status).expect("json");
    assert!(!status.contains("3Gb-leaf"), "the status never shows the value: {status}");
    // A usable value fixes it (the Secret watch re-triggers the CR).
    let patch = json!({"stringData": {"password": "s3cret"}});
    secrets.patch("leaf-auth", &PatchParams::default(), &Patch::Merge(patch)).await.expect("add key");
    wait_until(&api, "leaf", nats_in_state(State::Ready), TIMEOUT).await;

    // A StorageClass that does not exist: Error naming the field, instead of claims Pending forever.
    let api = create_nats(
        &client,
        &ns.name,
        "nosc",
        json!({"cluster": {"size": 1}, "jetStream": {"fileStorage": {"storageClassName": "does-not-exist"}}}),
    )
    .await;
    wait_until(
        &api,
        "nosc",
        nats_says(
            State::Error,
            "DependencyMissing",
            &["spec.jetStream.fileStorage.storageClassName", "does-not-exist"],
        ),
        TIMEOUT,
    )
    .await;

    // More stream replicas than servers: Warning naming the field. (A namespace without a NATS CR:
    // the module's own cluster of 3 servers is the backend.)
    let ns = TestNamespace::create(&client, "dependencies-eventing").await;
    let eventing =
        create_eventing(&client, &ns.name, "eventing", json!({"backend": {"config": {"natsStreamReplicas": 5}}})).await;
    wait_until(
        &eventing,
        "eventing",
        eventing_says(State::Warning, &["spec.backend.config.natsStreamReplicas", "3 servers"]),
        TIMEOUT,
    )
    .await;
    patch_spec(&eventing, "eventing", json!({"backend": {"config": {"natsStreamReplicas": 3}}})).await;

    // A second Eventing CR in the namespace: Error naming the first; it provisions nothing.
    let second = create_eventing(&client, &ns.name, "second", json!({})).await;
    wait_until(
        &second,
        "second",
        eventing_says(State::Error, &["already provisions the module", "/eventing"]),
        TIMEOUT,
    )
    .await;
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    assert!(statefulsets.get_opt("second-nats").await.expect("read").is_none(), "no second NATS cluster");

    // An EventMesh Secret without keys: Warning naming the field.
    secret(&client, &ns.name, "empty", &[]).await;
    let patch = json!({"backend": {"type": "EventMesh", "config": {"eventMeshSecret": format!("{}/empty", ns.name)}}});
    patch_spec(&eventing, "eventing", patch).await;
    wait_until(
        &eventing,
        "eventing",
        eventing_says(State::Warning, &["spec.backend.config.eventMeshSecret", "has no keys"]),
        TIMEOUT,
    )
    .await;
}

#[tokio::test]
async fn new_credentials_roll_the_servers_and_an_existing_password_is_never_replaced() {
    let (client, ns) = setup_with_manager("creds").await;
    let api = create_nats(&client, &ns.name, "c", json!({"cluster": {"size": 1}})).await;
    wait_until(&api, "c", nats_in_state(State::Ready), TIMEOUT).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    let annotation = |sts: &StatefulSet| -> Option<String> {
        sts.spec
            .template
            .metadata
            .as_ref()?
            .annotations
            .as_ref()?
            .get("eventing-manager.kyma-project.io/credentials-uid")
            .cloned()
    };
    let before = secrets.get("c-nats-secret").await.expect("credentials");
    let sts = statefulsets.get("c-nats").await.expect("sts");
    assert_eq!(annotation(&sts), before.metadata.uid, "the pod template names the credentials it runs with");

    // An existing password is never replaced: a later reconcile leaves the Secret as it is.
    patch_spec(&api, "c", json!({"logging": {"debug": true}})).await;
    wait_until(&api, "c", nats_in_state(State::Ready), TIMEOUT).await;
    assert_eq!(secrets.get("c-nats-secret").await.expect("credentials").data, before.data);

    // Deleted: new credentials, and the servers are rolled to them.
    secrets.delete("c-nats-secret", &DeleteParams::default()).await.expect("delete credentials");
    let rolled = async {
        loop {
            let current = secrets.get_opt("c-nats-secret").await.expect("read");
            let sts = statefulsets.get("c-nats").await.expect("sts");
            if let Some(current) = current
                && current.metadata.uid != before.metadata.uid
                && annotation(&sts) == current.metadata.uid
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::time::timeout(TIMEOUT, rolled).await.expect("re-created credentials roll the StatefulSet");
}
