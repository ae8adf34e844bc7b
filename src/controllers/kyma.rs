//! The Kyma controller (standalone mode, when no lifecycle-manager runs): creates the default
//! Eventing CR when a Kyma CR enables `eventing`, deletes it when the module is removed, and reports
//! the module's state in the Kyma CR's `status.modules[]` and its `Ready` condition. It renders
//! nothing itself.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use kube::{Api, Resource, ResourceExt};
use serde_json::{Value, json};
use tracing::Instrument;

use super::conditions::{self, Decided};
use super::{Context, ReconcileError};
use crate::api::State;
use crate::api::eventing::Eventing;
use crate::api::kyma::{CustomResourcePolicy, Kyma, KymaStatus, ModuleResource, ModuleResourceMetadata, ModuleStatus};

pub const MODULE: &str = "eventing";
/// Marks the Eventing CR a Kyma CR made, with the Kyma CR's name.
pub const KYMA_LABEL: &str = "operator.kyma-project.io/kyma-name";
const EMBEDDED_TEMPLATE: &str = include_str!("../../module-template.yaml");

/// lifecycle-manager's ModuleTemplate (`operator.kyma-project.io/v1beta2`), which this crate has no type for.
pub fn module_template_resource() -> ApiResource {
    ApiResource {
        group: "operator.kyma-project.io".into(),
        version: "v1beta2".into(),
        api_version: "operator.kyma-project.io/v1beta2".into(),
        kind: "ModuleTemplate".into(),
        plural: "moduletemplates".into(),
    }
}

/// The default Eventing CR: `spec.data` of the cluster's ModuleTemplate for `eventing`, else of the
/// embedded `module-template.yaml`.
pub async fn default_module_cr(ctx: &Context) -> Result<Value, ReconcileError> {
    let templates: Api<DynamicObject> = Api::all_with(ctx.client.clone(), &module_template_resource());
    let selector = format!("operator.kyma-project.io/module-name={MODULE}");
    match templates.list(&ListParams::default().labels(&selector)).await {
        Ok(list) => {
            if let Some(data) = list.items.iter().find_map(|t| t.data.pointer("/spec/data").cloned()) {
                return Ok(data);
            }
        }
        // No ModuleTemplate CRD in this cluster: the embedded template it is.
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(source) => {
            return Err(ReconcileError::Kube { step: "reading the ModuleTemplate", object: MODULE.into(), source });
        }
    }
    embedded_module_cr()
}

pub fn embedded_module_cr() -> Result<Value, ReconcileError> {
    let template: Value = yaml_serde::from_str(EMBEDDED_TEMPLATE)
        .map_err(|e| ReconcileError::Invalid(format!("module-template.yaml: {e}")))?;
    template
        .pointer("/spec/data")
        .cloned()
        .ok_or_else(|| ReconcileError::Invalid("module-template.yaml has no spec.data".into()))
}

/// The summary state of all modules: the most urgent one wins.
pub fn summarize(states: &[State]) -> State {
    let rank = |s: &State| match s {
        State::Error => 4,
        State::Warning => 3,
        State::Deleting => 2,
        State::Processing => 1,
        State::Ready => 0,
    };
    states.iter().copied().max_by_key(rank).unwrap_or(State::Ready)
}

fn ready_condition(modules: &[ModuleStatus]) -> Decided {
    let waiting: Vec<String> =
        modules.iter().filter(|m| m.state != State::Ready).map(|m| format!("{} ({})", m.name, m.state)).collect();
    if waiting.is_empty() {
        Decided::new("Ready", true, "Ready", "all modules are in ready state")
    } else {
        Decided::new("Ready", false, "Processing", format!("modules not ready: {}", waiting.join(", ")))
    }
}

fn module_entry(kyma: &Kyma, eventing: &Eventing, state: State) -> ModuleStatus {
    let module = kyma.spec.modules.iter().find(|m| m.name == MODULE);
    let message = eventing.status.as_ref().and_then(|s| {
        s.conditions.iter().find(|c| c.status != "True" && c.type_ != "Deleted").map(|c| c.message.clone())
    });
    ModuleStatus {
        name: MODULE.into(),
        state,
        resource: Some(ModuleResource {
            api_version: Eventing::api_version(&()).into_owned(),
            kind: Eventing::kind(&()).into_owned(),
            metadata: ModuleResourceMetadata { name: eventing.name_any(), namespace: eventing.namespace() },
        }),
        channel: module.and_then(|m| m.channel.clone()).or_else(|| Some(kyma.spec.channel.clone())),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        message: if state == State::Ready { Some("module is ready".into()) } else { message },
    }
}

pub async fn reconcile(
    kyma: Arc<Kyma>,
    ctx: Arc<Context>,
    eventings: Store<Eventing>,
) -> Result<Action, ReconcileError> {
    let span = tracing::info_span!("reconcile", controller = "kyma", reconcileID = %uuid::Uuid::new_v4(), namespace = %kyma.namespace().unwrap_or_default(), name = %kyma.name_any());
    async move {
        let started = std::time::Instant::now();
        let result = reconcile_inner(&kyma, &ctx, &eventings).await;
        crate::metrics::reconciled("kyma", started.elapsed());
        result
    }
    .instrument(span)
    .await
}

async fn reconcile_inner(kyma: &Kyma, ctx: &Context, eventings: &Store<Eventing>) -> Result<Action, ReconcileError> {
    let namespace = kyma.namespace().unwrap_or_default();
    let module = kyma.spec.modules.iter().find(|m| m.name == MODULE);
    let ours: Vec<Arc<Eventing>> = eventings
        .state()
        .into_iter()
        .filter(|e| {
            e.namespace().as_deref() == Some(namespace.as_str()) && e.labels().get(KYMA_LABEL) == Some(&kyma.name_any())
        })
        .collect();
    let api: Api<Eventing> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut modules = Vec::new();
    match module {
        Some(module) => {
            let mut current = ours.first().cloned();
            if current.is_none() && module.custom_resource_policy == CustomResourcePolicy::CreateAndDelete {
                let mut cr = default_module_cr(ctx).await?;
                // The module CR lives next to the Kyma CR, labelled with it, owned by it.
                cr["metadata"]["namespace"] = json!(namespace);
                cr["metadata"]["labels"][KYMA_LABEL] = json!(kyma.name_any());
                cr["metadata"]["ownerReferences"] = json!([{
                    "apiVersion": Kyma::api_version(&()), "kind": Kyma::kind(&()), "name": kyma.name_any(),
                    "uid": kyma.uid().unwrap_or_default(), "blockOwnerDeletion": true
                }]);
                let eventing: Eventing = serde_json::from_value(cr)
                    .map_err(|e| ReconcileError::Invalid(format!("the default Eventing CR is not valid: {e}")))?;
                crate::metrics::api_write("create", "Eventing");
                match api.create(&PostParams::default(), &eventing).await {
                    Ok(created) => {
                        tracing::info!(eventing = %created.name_any(), "created the default Eventing CR");
                        current = Some(Arc::new(created));
                    }
                    // The namespace (and the Kyma CR in it) is being deleted: nothing to create.
                    Err(kube::Error::Api(status)) if crate::apply::namespace_terminating(&status) => {
                        tracing::info!("the namespace is being deleted: not creating the default Eventing CR");
                    }
                    Err(kube::Error::Api(status)) if status.code == 409 => {
                        current = api.get_opt(&eventing.name_any()).await.ok().flatten().map(Arc::new);
                    }
                    Err(source) => {
                        return Err(ReconcileError::Kube {
                            step: "creating the default Eventing CR",
                            object: eventing.name_any(),
                            source,
                        });
                    }
                }
            }
            if module.custom_resource_policy == CustomResourcePolicy::Ignore && current.is_none() {
                current = eventings.state().into_iter().find(|e| e.namespace().as_deref() == Some(namespace.as_str()));
            }
            if let Some(eventing) = current {
                let state = if eventing.metadata.deletion_timestamp.is_some() {
                    State::Deleting
                } else {
                    eventing.status.as_ref().and_then(|s| s.state).unwrap_or(State::Processing)
                };
                modules.push(module_entry(kyma, &eventing, state));
            }
        }
        None => {
            // The module was removed: delete what we created; the entry says Deleting until it is gone.
            for eventing in &ours {
                if eventing.metadata.deletion_timestamp.is_none() {
                    tracing::info!(eventing = %eventing.name_any(), "module removed: deleting the Eventing CR");
                    crate::metrics::api_write("delete", "Eventing");
                    match api.delete(&eventing.name_any(), &DeleteParams::background()).await {
                        Ok(_) => {}
                        Err(kube::Error::Api(status)) if status.code == 404 => continue,
                        Err(source) => {
                            return Err(ReconcileError::Kube {
                                step: "deleting the Eventing CR",
                                object: eventing.name_any(),
                                source,
                            });
                        }
                    }
                }
                modules.push(module_entry(kyma, eventing, State::Deleting));
            }
        }
    }
    publish(kyma, ctx, modules).await?;
    Ok(Action::requeue(ctx.config.resync.min(Duration::from_secs(300))))
}

async fn publish(kyma: &Kyma, ctx: &Context, modules: Vec<ModuleStatus>) -> Result<(), ReconcileError> {
    let current = kyma.status.clone().unwrap_or_default();
    let state = summarize(&modules.iter().map(|m| m.state).collect::<Vec<_>>());
    let conditions: Vec<Condition> =
        conditions::merge(&current.conditions, &[ready_condition(&modules)], kyma.metadata.generation);
    let desired = KymaStatus { state: Some(state), modules, conditions };
    if desired == current {
        return Ok(());
    }
    let api: Api<Kyma> = Api::namespaced(ctx.client.clone(), &kyma.namespace().unwrap_or_default());
    crate::metrics::api_write("patch", "Kyma/status");
    // A merge patch cannot remove list entries: replace the status as a whole.
    let body =
        json!({"status": {"state": desired.state, "modules": desired.modules, "conditions": desired.conditions}});
    api.patch_status(&kyma.name_any(), &PatchParams::default(), &Patch::Merge(body))
        .await
        .map_err(|source| ReconcileError::Status { object: format!("Kyma {}", kyma.name_any()), source })?;
    Ok(())
}

pub fn error_policy(kyma: Arc<Kyma>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let delay = ctx.backoff(&format!("kyma/{}/{}", kyma.namespace().unwrap_or_default(), kyma.name_any()));
    crate::metrics::reconcile_failed("kyma", error.reason());
    tracing::warn!(controller = "kyma", name = %kyma.name_any(), reason = error.reason(), retry_in_seconds = delay.as_secs(), "reconcile failed: {error}");
    Action::requeue(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_template_is_a_valid_default_eventing_cr() {
        let data = embedded_module_cr().expect("spec.data");
        let eventing: Eventing = serde_json::from_value(data).expect("an Eventing CR");
        assert_eq!(eventing.name_any(), "eventing");
        assert_eq!(eventing.spec.backend.kind.canonical(), crate::api::eventing::ActiveBackend::Nats);
    }

    #[test]
    fn the_most_urgent_state_summarizes() {
        assert_eq!(summarize(&[]), State::Ready);
        assert_eq!(summarize(&[State::Ready, State::Processing]), State::Processing);
        assert_eq!(summarize(&[State::Warning, State::Deleting, State::Ready]), State::Warning);
        assert_eq!(summarize(&[State::Warning, State::Error]), State::Error);
    }
}
