//! The CRDs the controllers need: waiting for them at start, noticing when one is deleted (the
//! module is being removed or re-installed), and leaving no finalizer behind during removal.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::KymaMode;
use crate::api::{Eventing, Kyma, Nats};

/// lifecycle-manager's Manifest CRD: where it is served, lifecycle-manager owns the Kyma status.
pub const MANIFEST_CRD: &str = "manifests.operator.kyma-project.io";
const POLL: Duration = Duration::from_secs(1);

/// The name of the CRD that serves `K` (`<plural>.<group>`).
pub fn crd_name<K: Resource<DynamicType = ()>>() -> String {
    format!("{}.{}", K::plural(&()), K::group(&()))
}

/// What the API server says of one CRD.
enum Found {
    Gone,
    Terminating,
    Established,
    /// Present but not established yet, or unreadable (`error`).
    Pending(Option<kube::Error>),
}

async fn find(crds: &Api<CustomResourceDefinition>, name: &str) -> Found {
    match crds.get_opt(name).await {
        Ok(None) => Found::Gone,
        Ok(Some(crd)) if crd.metadata.deletion_timestamp.is_some() => Found::Terminating,
        Ok(Some(crd)) if established(&crd) => Found::Established,
        Ok(Some(_)) => Found::Pending(None),
        Err(error) => Found::Pending(Some(error)),
    }
}

/// Our CRDs, plus Kyma's in standalone mode.
pub fn required(mode: KymaMode) -> Vec<String> {
    let mut names = vec![crd_name::<Eventing>(), crd_name::<Nats>()];
    if mode == KymaMode::Standalone {
        names.push(crd_name::<Kyma>());
    }
    names
}

fn established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| conditions.iter().any(|c| c.type_ == "Established" && c.status == "True"))
}

async fn missing(client: &Client, names: &[String]) -> Vec<String> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut missing = Vec::new();
    for name in names {
        match find(&crds, name).await {
            Found::Established => {}
            Found::Pending(Some(error)) => missing.push(format!("{name} (cannot read it: {error})")),
            _ => missing.push(name.clone()),
        }
    }
    missing
}

/// Returns once every CRD in `names` is established; says once what it waits for.
pub async fn wait_until_established(client: &Client, names: &[String]) {
    let mut said = false;
    loop {
        let missing = missing(client, names).await;
        crate::metrics::set_crds_missing(missing.len());
        if missing.is_empty() {
            if said {
                tracing::info!("the CRDs are installed: starting the controllers");
            }
            return;
        }
        if !said {
            tracing::warn!(
                crds = %missing.join(", "),
                "waiting for the CRDs to be installed and established (the module's raw manifest installs them; or `eventing-manager crd | kubectl apply -f -`); not ready until then"
            );
            said = true;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Completes when the controllers must start afresh: one of `names` no longer exists (a read that
/// fails does not count), or, with `lifecycle_manager` (standalone mode), whether lifecycle-manager's
/// Manifest CRD is served is no longer that.
pub async fn wait_until_changed(client: Client, names: Vec<String>, lifecycle_manager: Option<bool>) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    loop {
        tokio::time::sleep(2 * POLL).await;
        for name in &names {
            if let Found::Gone = find(&crds, name).await {
                tracing::warn!(crd = %name, "a CRD of the manager was deleted: controllers stopped until it is installed again");
                return;
            }
        }
        if let Some(before) = lifecycle_manager
            && lifecycle_manager_runs(&client).await != before
        {
            tracing::info!(
                crd = MANIFEST_CRD,
                "lifecycle-manager's Manifest CRD came or went: restarting the controllers"
            );
            return;
        }
    }
}

/// Whether lifecycle-manager's Manifest CRD is served here.
pub async fn lifecycle_manager_runs(client: &Client) -> bool {
    matches!(find(&Api::all(client.clone()), MANIFEST_CRD).await, Found::Established)
}

/// Whether the CRD of `K` is gone or being deleted.
async fn going<K: Resource<DynamicType = ()>>(crds: &Api<CustomResourceDefinition>) -> bool {
    matches!(find(crds, &crd_name::<K>()).await, Found::Gone | Found::Terminating)
}

/// Whether the module is being removed: one of our CRDs is gone or being deleted.
pub async fn module_uninstalling(client: &Client) -> bool {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    going::<Eventing>(&crds).await || going::<Nats>(&crds).await
}

/// How long a stopping manager watches for its CRDs' deletion: lifecycle-manager deletes the
/// manager's Deployment and the CRDs in the same second, in either order.
const UNINSTALL_WINDOW: Duration = Duration::from_secs(3);

/// On shutdown while a CRD of ours is being deleted (now or within [`UNINSTALL_WINDOW`]): no manager
/// will run to remove our finalizers from its CRs, so they are removed now (what the CRs own is
/// garbage-collected). Returns whether the module is being removed.
pub async fn release_finalizers_if_uninstalling(client: &Client) -> bool {
    let deadline = tokio::time::Instant::now() + UNINSTALL_WINDOW;
    while !module_uninstalling(client).await {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    release::<Eventing>(client, super::eventing::FINALIZER).await;
    release::<Nats>(client, super::nats::FINALIZER).await;
    true
}

async fn release<K>(client: &Client, finalizer: &str)
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    if !matches!(find(&Api::all(client.clone()), &crd_name::<K>()).await, Found::Terminating) {
        return;
    }
    let Ok(list) = Api::<K>::all(client.clone()).list(&ListParams::default()).await else { return };
    for object in list.items {
        let Some(index) = object.finalizers().iter().position(|f| f == finalizer) else { continue };
        let api: Api<K> = Api::namespaced(client.clone(), &object.namespace().unwrap_or_default());
        // Test first, as kube's finalizer helper does: another writer's change is not overwritten.
        let patch: json_patch::Patch = match serde_json::from_value(json!([
            {"op": "test", "path": format!("/metadata/finalizers/{index}"), "value": finalizer},
            {"op": "remove", "path": format!("/metadata/finalizers/{index}")},
        ])) {
            Ok(patch) => patch,
            Err(_) => continue,
        };
        match api.patch(&object.name_any(), &PatchParams::default(), &Patch::Json::<()>(patch)).await {
            Ok(_) => {
                tracing::info!(kind = %K::kind(&()), namespace = %object.namespace().unwrap_or_default(), name = %object.name_any(), "its CRD is being deleted: removed our finalizer")
            }
            Err(error) => {
                tracing::warn!(kind = %K::kind(&()), name = %object.name_any(), "removing our finalizer: {error}")
            }
        }
    }
}
