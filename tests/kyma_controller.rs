//! The Kyma module lifecycle (standalone mode) on the real control plane, with lifecycle-manager's
//! real Kyma CRD (every status write is strictly validated against it): enabling `eventing` creates
//! the default Eventing CR once and reports the module as lifecycle-manager does; removing it
//! deprovisions everything and removes the module entry.

mod common;

use std::time::Duration;

use common::{setup_with_manager, wait_deleted, wait_until};
use eventing_manager::api::eventing::{ActiveBackend, Eventing};
use eventing_manager::api::kyma::{Kyma, KymaState as State};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);

async fn create_kyma(client: &Client, ns: &str, modules: Value) -> Api<Kyma> {
    common::crs::create_kyma(client, ns, "default", modules).await
}

fn module_state(kyma: Option<&Kyma>) -> Option<State> {
    entry(kyma, "eventing").map(|m| m.state)
}

fn entry(kyma: Option<&Kyma>, module: &str) -> Option<eventing_manager::api::kyma::ModuleStatus> {
    kyma?.status.as_ref()?.modules.iter().find(|m| m.name == module).cloned()
}

/// lifecycle-manager's `Modules` condition (its reason is always `Ready`): status and message.
fn modules_condition(kyma: &Kyma) -> (String, String) {
    let conditions = &kyma.status.as_ref().expect("status").conditions;
    assert_eq!(conditions.len(), 1, "only lifecycle-manager's Modules condition: {conditions:?}");
    let condition = conditions.iter().find(|c| c.type_ == "Modules").cloned().expect("Modules condition");
    assert_eq!(condition.reason, "Ready");
    assert_eq!(condition.observed_generation, kyma.metadata.generation);
    (condition.status, condition.message)
}

#[tokio::test]
async fn enabling_eventing_creates_the_module_and_reports_it_ready() {
    let (client, ns) = setup_with_manager("kyma-enable").await;
    let kymas = create_kyma(&client, &ns.name, json!([{"name": "eventing"}])).await;
    let eventings: Api<Eventing> = Api::namespaced(client.clone(), &ns.name);
    let eventing = wait_until(&eventings, "eventing", |e: Option<&Eventing>| e.is_some(), TIMEOUT).await;
    assert_eq!(eventing.labels().get("operator.kyma-project.io/kyma-name").map(String::as_str), Some("default"));
    assert_eq!(eventing.spec.active_backend(), Some(ActiveBackend::Nats), "the default CR of module-template.yaml");

    let kyma = wait_until(&kymas, "default", |k: Option<&Kyma>| module_state(k) == Some(State::Ready), TIMEOUT).await;
    let status = kyma.status.clone().expect("status");
    assert_eq!(status.state, Some(State::Ready));
    let entry = status.modules.iter().find(|m| m.name == "eventing").expect("module entry");
    assert_eq!(entry.channel.as_deref(), Some("regular"));
    assert_eq!(entry.version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    let resource = entry.resource.as_ref().expect("resource reference");
    assert_eq!((resource.kind.as_deref(), resource.name()), (Some("Eventing"), Some("eventing")));
    assert_eq!(modules_condition(&kyma), ("True".into(), "all modules are in ready state".into()));
    assert_eq!(status.last_operation.as_ref().map(|o| o.operation.as_str()), Some("kyma is ready"));
    assert!(status.last_operation.as_ref().and_then(|o| o.last_update_time.as_ref()).is_some());
    assert_eq!(status.active_channel.as_deref(), Some("regular"));
    Api::<StatefulSet>::namespaced(client.clone(), &ns.name).get("eventing-nats").await.expect("NATS");
    Api::<Deployment>::namespaced(client.clone(), &ns.name).get("eventing-publisher-proxy").await.expect("publisher");

    // A user's edit of the module CR is kept, and its state shows up in the Kyma CR.
    let mesh = json!({"spec": {"backend": {"type": "EventMesh", "config": {"eventMeshSecret": format!("{}/missing", ns.name)}}}});
    eventings.patch("eventing", &PatchParams::default(), &Patch::Merge(&mesh)).await.expect("switch backend");
    let kyma = wait_until(&kymas, "default", |k: Option<&Kyma>| module_state(k) == Some(State::Warning), TIMEOUT).await;
    assert_eq!(kyma.status.as_ref().and_then(|s| s.state), Some(State::Warning));
    let (status, message) = modules_condition(&kyma);
    assert_eq!((status.as_str(), message.as_str()), ("False", "not all modules are in ready state"));
    let operation = kyma.status.as_ref().and_then(|s| s.last_operation.clone()).map(|o| o.operation);
    assert_eq!(operation.as_deref(), Some("waiting for all modules to become ready"));
    // That Warning came from a Kyma reconcile that saw the edit: had it reverted the edit, it would have done so then.
    let kept = eventings.get("eventing").await.expect("eventing");
    assert_eq!(kept.spec.active_backend(), Some(ActiveBackend::EventMesh), "the user's edit is not reverted");

    // Removing the module deprovisions everything and removes its entry.
    kymas
        .patch("default", &PatchParams::default(), &Patch::Merge(json!({"spec": {"modules": []}})))
        .await
        .expect("remove module");
    wait_deleted(&eventings, "eventing", TIMEOUT).await;
    wait_deleted(&Api::<Deployment>::namespaced(client.clone(), &ns.name), "eventing-publisher-proxy", TIMEOUT).await;
    let kyma = wait_until(
        &kymas,
        "default",
        |k: Option<&Kyma>| k.and_then(|k| k.status.as_ref()).is_some_and(|s| s.modules.is_empty()),
        TIMEOUT,
    )
    .await;
    assert_eq!(kyma.status.and_then(|s| s.state), Some(State::Ready));
}

#[tokio::test]
async fn the_ignore_policy_creates_no_module_cr() {
    let (client, ns) = setup_with_manager("kyma-ignore").await;
    let kymas = create_kyma(&client, &ns.name, json!([{"name": "eventing", "customResourcePolicy": "Ignore"}])).await;
    let kyma = wait_until(&kymas, "default", |k: Option<&Kyma>| module_state(k).is_some(), TIMEOUT).await;
    let entry = kyma.status.expect("status").modules.into_iter().next().expect("entry");
    // As lifecycle-manager: the module is installed (Ready), its CR is the user's to create.
    assert_eq!(entry.state, State::Ready);
    assert!(entry.message.as_deref().is_some_and(|m| m.contains("customResourcePolicy is Ignore")), "{entry:?}");
    assert!(entry.resource.is_none());
    let eventings: Api<Eventing> = Api::namespaced(client.clone(), &ns.name);
    assert!(
        eventings.get_opt("eventing").await.expect("get").is_none(),
        "Ignore: the manager does not create the module CR"
    );
}

#[tokio::test]
async fn a_deleted_default_cr_is_not_created_again() {
    let (client, ns) = setup_with_manager("kyma-once").await;
    let kymas = create_kyma(&client, &ns.name, json!([{"name": "eventing"}])).await;
    let eventings: Api<Eventing> = Api::namespaced(client.clone(), &ns.name);
    wait_until(&kymas, "default", |k: Option<&Kyma>| module_state(k) == Some(State::Ready), TIMEOUT).await;
    eventings.delete("eventing", &Default::default()).await.expect("delete Eventing");
    wait_deleted(&eventings, "eventing", TIMEOUT).await;
    // lifecycle-manager creates the default CR once: the user's deletion stands, and the entry says so.
    let kyma = wait_until(&kymas, "default", |k: Option<&Kyma>| module_state(k) == Some(State::Warning), TIMEOUT).await;
    let entry = kyma.status.expect("status").modules.into_iter().next().expect("entry");
    assert!(entry.message.as_deref().is_some_and(|m| m.contains("was deleted and is not created again")), "{entry:?}");
    // The Warning was written after the deletion was seen: the reconcile that wrote it created nothing.
    assert!(eventings.get_opt("eventing").await.expect("get").is_none(), "the default CR is not created again");
    // Removing and re-adding the module brings the default CR back.
    let set_modules = |modules: Value| Patch::Merge(json!({"spec": {"modules": modules}}));
    kymas.patch("default", &PatchParams::default(), &set_modules(json!([]))).await.expect("remove module");
    wait_until(&kymas, "default", |k: Option<&Kyma>| k.is_some() && module_state(k).is_none(), TIMEOUT).await;
    kymas.patch("default", &PatchParams::default(), &set_modules(json!([{"name": "eventing"}]))).await.expect("re-add");
    wait_until(&eventings, "eventing", |e: Option<&Eventing>| e.is_some(), TIMEOUT).await;
}

#[tokio::test]
async fn unknown_modules_and_a_second_kyma_cr_in_a_namespace_are_errors_saying_why() {
    let (client, ns) = setup_with_manager("kyma-refuse").await;
    let kymas = create_kyma(&client, &ns.name, json!([{"name": "eventing"}, {"name": "serverless"}])).await;
    let kyma = wait_until(&kymas, "default", |k: Option<&Kyma>| entry(k, "serverless").is_some(), TIMEOUT).await;
    // A module this manager does not install: an Error entry naming it, never "all modules are in ready state".
    let serverless = entry(Some(&kyma), "serverless").expect("entry");
    assert_eq!(serverless.state, State::Error);
    let message = serverless.message.unwrap_or_default();
    assert!(
        message.contains("module \"serverless\" is not available") && message.contains("installs only \"eventing\""),
        "{message}"
    );
    assert_eq!(kyma.status.as_ref().and_then(|s| s.state), Some(State::Error));
    assert_eq!(modules_condition(&kyma), ("False".into(), "not all modules are in ready state".into()));
    // eventing itself is served beside it.
    wait_until(&kymas, "default", |k: Option<&Kyma>| module_state(k) == Some(State::Ready), TIMEOUT).await;

    // A second Kyma CR in the namespace: Error on the CR and on each of its entries, naming the first;
    // it creates nothing.
    let second = common::crs::create_kyma(&client, &ns.name, "second", json!([{"name": "eventing"}])).await;
    let refused =
        wait_until(&second, "second", |k: Option<&Kyma>| k.and_then(|k| k.status.as_ref()).is_some(), TIMEOUT).await;
    let status = refused.status.clone().expect("status");
    assert_eq!(status.state, Some(State::Error));
    let (condition, message) = modules_condition(&refused);
    assert_eq!(condition, "False");
    assert!(message.contains("the Kyma CR default already manages the modules of this namespace"), "{message}");
    assert_eq!(status.last_operation.map(|o| o.operation), Some(message.clone()));
    let entry = entry(Some(&refused), "eventing").expect("entry");
    assert_eq!((entry.state, entry.message.as_deref()), (State::Error, Some(message.as_str())));
    let eventings: Api<Eventing> = Api::namespaced(client.clone(), &ns.name);
    let names: Vec<String> =
        eventings.list(&Default::default()).await.expect("list").items.iter().map(|e| e.name_any()).collect();
    assert_eq!(names, ["eventing"], "the second Kyma CR created no Eventing CR");

    // Without modules it is still an Error, not Ready.
    let empty = common::crs::create_kyma(&client, &ns.name, "third", json!([])).await;
    let refused =
        wait_until(&empty, "third", |k: Option<&Kyma>| k.and_then(|k| k.status.as_ref()).is_some(), TIMEOUT).await;
    assert_eq!(refused.status.and_then(|s| s.state), Some(State::Error));
    // The first Kyma CR is unaffected.
    let first = kymas.get("default").await.expect("first");
    assert_eq!(module_state(Some(&first)), Some(State::Ready));
}
