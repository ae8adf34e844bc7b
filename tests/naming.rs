//! Configurable naming on the real control plane: a manager with its own name, an install
//! namespace apart from the Eventing CRs and a fixed release name installs there, is triggered
//! across namespaces, refuses to let a second CR take over the release, and deprovisions it.
//! One test: the settings are the whole manager's.

mod common;

use std::time::Duration;

use common::{MANAGER_NAMESPACE, TestNamespace, client_with_crds, start_manager_with, wait_deleted, wait_until};
use eventing_manager::api::State;
use eventing_manager::api::eventing::{ActiveBackend, Eventing};
use eventing_manager::controllers::Config;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);
const MANAGER: &str = "custom-manager";
const RELEASE: &str = "my-eventing";

async fn create(client: &Client, ns: &str) -> Api<Eventing> {
    common::crs::create_eventing(client, ns, "eventing", json!({"backend": {"type": "NATS"}})).await
}

fn state_of(e: Option<&Eventing>) -> Option<State> {
    let e = e?;
    e.status.as_ref().filter(|s| s.observed_generation == e.metadata.generation).and_then(|s| s.state)
}

#[tokio::test]
async fn a_named_release_installs_into_the_install_namespace_and_is_not_taken_over() {
    let client = client_with_crds().await;
    // An Eventing CR left by an earlier test binary (its namespace being deleted, no manager to run
    // its finalizer) would be reconciled by this manager too and take the fixed release first.
    let all: Api<Eventing> = Api::all(client.clone());
    for leftover in all.list(&Default::default()).await.expect("list Eventing CRs") {
        let api: Api<Eventing> = Api::namespaced(client.clone(), &leftover.namespace().unwrap_or_default());
        let unfinalize = json!({"metadata": {"finalizers": null}});
        let _ = api.patch(&leftover.name_any(), &PatchParams::default(), &Patch::Merge(&unfinalize)).await;
        let _ = api.delete(&leftover.name_any(), &DeleteParams::default()).await;
    }
    let install = TestNamespace::create(&client, "naming-install").await;
    start_manager_with(Config {
        manager_namespace: MANAGER_NAMESPACE.into(),
        manager_name: MANAGER.into(),
        eventing_install_namespace: Some(install.name.clone()),
        eventing_release_name: Some(RELEASE.into()),
        ..Default::default()
    });
    let first_ns = TestNamespace::create(&client, "naming-first").await;
    let first = create(&client, &first_ns.name).await;
    wait_until(&first, "eventing", common::eventing_in_state(State::Ready, ActiveBackend::Nats), TIMEOUT).await;

    // Everything sits in the install namespace, named after the release, labelled with our name.
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &install.name);
    let sts = sets.get(&format!("{RELEASE}-nats")).await.expect("the NATS StatefulSet in the install namespace");
    assert_eq!(sts.labels().get("app.kubernetes.io/managed-by").map(String::as_str), Some(MANAGER));
    assert!(sts.owner_references().is_empty(), "no owner reference across namespaces");
    let field_managers: Vec<_> = sts.managed_fields().iter().filter_map(|f| f.manager.clone()).collect();
    assert!(field_managers.iter().any(|m| m == MANAGER), "applied as {MANAGER}: {field_managers:?}");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &install.name);
    deployments.get(&format!("{RELEASE}-publisher-proxy")).await.expect("the publisher in the install namespace");
    let in_cr_namespace: Api<StatefulSet> = Api::namespaced(client.clone(), &first_ns.name);
    assert!(in_cr_namespace.list(&Default::default()).await.expect("list").items.is_empty());

    // A deletion in the install namespace triggers the CR in its own namespace: restored.
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &install.name);
    let config_map = format!("{RELEASE}-nats-config");
    let uid = maps.get(&config_map).await.expect("config map").uid();
    maps.delete(&config_map, &DeleteParams::background()).await.expect("delete");
    wait_until(&maps, &config_map, |m: Option<&ConfigMap>| m.is_some_and(|m| m.uid() != uid), TIMEOUT).await;

    // A second Eventing CR would install the same release: an error naming both, nothing taken over.
    let second_ns = TestNamespace::create(&client, "naming-second").await;
    let second = create(&client, &second_ns.name).await;
    let refused =
        wait_until(&second, "eventing", |e: Option<&Eventing>| state_of(e) == Some(State::Error), TIMEOUT).await;
    let message = refused.status.as_ref().and_then(|s| s.conditions.first()).map(|c| c.message.clone());
    let expected_owner = format!("Eventing {}/eventing", first_ns.name);
    assert!(
        message.as_deref().is_some_and(|m| m.contains(&expected_owner) && m.contains("two CRs cannot install")),
        "{message:?}"
    );
    let sts_now = sets.get(&format!("{RELEASE}-nats")).await.expect("still there");
    assert_eq!(
        sts_now.labels().get("eventing-manager.kyma-project.io/owner-namespace"),
        Some(&first_ns.name),
        "still the first CR's"
    );
    assert_eq!(state_of(first.get_opt("eventing").await.expect("read").as_ref()), Some(State::Ready));

    // Deleting the refused CR leaves the release alone; deleting the first deprovisions it.
    second.delete("eventing", &DeleteParams::default()).await.expect("delete second");
    wait_deleted(&second, "eventing", TIMEOUT).await;
    sets.get(&format!("{RELEASE}-nats")).await.expect("the release survives the refused CR's deletion");
    first.delete("eventing", &DeleteParams::default()).await.expect("delete first");
    wait_deleted(&first, "eventing", TIMEOUT).await;
    wait_deleted(&sets, &format!("{RELEASE}-nats"), TIMEOUT).await;
    wait_deleted(&deployments, &format!("{RELEASE}-publisher-proxy"), TIMEOUT).await;
}
