//! The Kyma controller (standalone mode, when no lifecycle-manager runs) does lifecycle-manager's
//! part for the eventing module, within lifecycle-manager's Kyma schema: it creates the default
//! Eventing CR once when a Kyma CR enables `eventing`, deletes the module's Eventing CRs when the
//! module is removed, and reports `status.modules[]`, `status.state`, the `Modules` condition,
//! `lastOperation` and `activeChannel` as lifecycle-manager does. It renders nothing itself.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use super::conditions::{self, Decided};
use super::module_template::{self, MODULE, ResolveError, Resolved};
use super::pipeline;
use super::{Context, ReconcileError};
use crate::api::eventing::Eventing;
use crate::api::kyma::{
    CustomResourcePolicy, Kyma, KymaState, KymaStatus, LastOperation, ModuleStatus, TrackingObject,
};

/// Marks the Eventing CR a Kyma CR made, with the Kyma CR's name.
pub const KYMA_LABEL: &str = "operator.kyma-project.io/kyma-name";
/// lifecycle-manager's condition type, reason and messages for the modules of a Kyma CR.
const MODULES_CONDITION: &str = "Modules";
const CONDITION_REASON: &str = "Ready";
const ALL_READY: &str = "all modules are in ready state";
const NOT_ALL_READY: &str = "not all modules are in ready state";

/// The summary state of all modules: the most urgent one wins (no modules: Ready).
pub fn summarize(states: &[KymaState]) -> KymaState {
    let rank = |s: &KymaState| match s {
        KymaState::Error => 5,
        KymaState::Warning => 4,
        KymaState::Deleting => 3,
        KymaState::Processing | KymaState::Unset => 2,
        KymaState::Unmanaged => 1,
        KymaState::Ready => 0,
    };
    states.iter().copied().max_by_key(rank).unwrap_or(KymaState::Ready)
}

fn eventing_tracking(eventing: &Eventing) -> TrackingObject {
    TrackingObject::new(&Eventing::api_version(&()), &Eventing::kind(&()), &eventing.name_any(), eventing.namespace())
}

/// The entry for a module CR that exists.
fn entry_for(eventing: &Eventing, channel: &str, resolved: &Resolved) -> ModuleStatus {
    let state = if eventing.metadata.deletion_timestamp.is_some() {
        KymaState::Deleting
    } else {
        eventing.status.as_ref().and_then(|s| s.state).map(KymaState::from).unwrap_or(KymaState::Processing)
    };
    let message = if state == KymaState::Ready {
        Some("module is ready".to_owned())
    } else {
        eventing.status.as_ref().and_then(|s| {
            s.conditions.iter().find(|c| c.status != "True" && c.type_ != "Deleted").map(|c| c.message.clone())
        })
    };
    ModuleStatus { resource: Some(eventing_tracking(eventing)), ..entry(state, message, channel, resolved) }
}

fn entry(state: KymaState, message: Option<String>, channel: &str, resolved: &Resolved) -> ModuleStatus {
    ModuleStatus {
        name: MODULE.into(),
        state,
        message,
        channel: Some(channel.to_owned()),
        version: Some(resolved.version.clone()),
        resource: None,
        template: resolved.template.clone(),
        manifest: None,
        fqdn: None,
        maintenance: None,
        ocm_component_name: None,
    }
}

/// The Kyma controller's reconcile, in the pipeline's frame (span, timer, backoff reset).
pub async fn reconcile(
    kyma: Arc<DeserializeGuard<Kyma>>,
    ctx: Arc<Context>,
    kymas: Store<DeserializeGuard<Kyma>>,
    eventings: Store<DeserializeGuard<Eventing>>,
) -> Result<Action, ReconcileError> {
    pipeline::framed("kyma", kyma.meta(), &ctx, async {
        match &kyma.0 {
            Ok(kyma) => match first_in_namespace(kyma, &kymas) {
                Some(first) => refuse_second(kyma, &ctx, &first).await,
                None => reconcile_inner(kyma, &ctx, &eventings).await,
            },
            // lifecycle-manager's CR, not ours to rewrite: say it in the log and wait for a change.
            Err(invalid) => {
                tracing::warn!(
                    "the Kyma CR cannot be read: {}",
                    crate::text::bounded(&invalid.error, crate::text::MAX_MESSAGE)
                );
                Ok(Action::requeue(Duration::from_secs(300)))
            }
        }
    })
    .await
}

/// The Kyma CR that came first in this one's namespace, when it is not this one.
fn first_in_namespace(kyma: &Kyma, kymas: &Store<DeserializeGuard<Kyma>>) -> Option<String> {
    let kymas = kymas.state();
    super::seniority::earlier(&kyma.metadata, kymas.iter().map(|k| k.meta())).and_then(|first| first.name.clone())
}

/// A second Kyma CR in a namespace: state Error, no modules, a message naming the first.
async fn refuse_second(kyma: &Kyma, ctx: &Context, first: &str) -> Result<Action, ReconcileError> {
    let message = format!(
        "the Kyma CR {first} already manages the modules of this namespace; only one Kyma CR per namespace is allowed: delete this one"
    );
    let modules = kyma.spec.modules.iter().map(|m| unknown_module(&m.name, KymaState::Error, &message)).collect();
    publish(kyma, ctx, modules, Some(&message)).await?;
    Ok(Action::requeue(Duration::from_secs(60)))
}

/// The entry of a module this manager does not provide (standalone mode installs only eventing).
fn unknown_module(name: &str, state: KymaState, message: &str) -> ModuleStatus {
    ModuleStatus {
        name: name.to_owned(),
        state,
        message: Some(message.to_owned()),
        channel: None,
        version: None,
        resource: None,
        template: None,
        manifest: None,
        fqdn: None,
        maintenance: None,
        ocm_component_name: None,
    }
}

async fn reconcile_inner(
    kyma: &Kyma,
    ctx: &Context,
    eventings: &Store<DeserializeGuard<Eventing>>,
) -> Result<Action, ReconcileError> {
    let namespace = kyma.namespace().unwrap_or_default();
    let in_namespace: Vec<Arc<Eventing>> = eventings
        .state()
        .iter()
        .filter_map(|e| e.0.as_ref().ok())
        .filter(|e| e.namespace().as_deref() == Some(namespace.as_str()))
        .map(|e| Arc::new(e.clone()))
        .collect();
    let previous = kyma.status.as_ref().and_then(|s| s.modules.iter().find(|m| m.name == MODULE).cloned());
    let api: Api<Eventing> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut modules = Vec::new();
    match kyma.spec.modules.iter().find(|m| m.name == MODULE) {
        Some(module) => {
            let channel = module.channel.clone().unwrap_or_else(|| kyma.spec.channel.clone());
            let resolved = match module_template::resolve(&ctx.client, &namespace, &channel).await {
                Ok(resolved) => resolved,
                Err(ResolveError::Unresolvable(message)) => {
                    let fallback = module_template::embedded().map_err(|e| ReconcileError::Internal(e.to_string()))?;
                    modules.push(entry(
                        KymaState::Error,
                        Some(message),
                        &channel,
                        &Resolved { template: None, ..fallback },
                    ));
                    publish(kyma, ctx, modules, None).await?;
                    return Ok(Action::requeue(Duration::from_secs(30)));
                }
                Err(ResolveError::Kube { object, source }) => {
                    return Err(ReconcileError::Kube { step: "resolving the module template", object, source });
                }
                Err(other @ ResolveError::Embedded(_)) => return Err(ReconcileError::Internal(other.to_string())),
            };
            let ours = in_namespace.iter().find(|e| e.labels().get(KYMA_LABEL) == Some(&kyma.name_any())).cloned();
            // lifecycle-manager creates the default CR once: a user who deletes it is not overruled.
            let created_before = previous.as_ref().is_some_and(|m| m.resource.is_some());
            let mut current = ours;
            if current.is_none()
                && !created_before
                && module.custom_resource_policy == CustomResourcePolicy::CreateAndDelete
            {
                current = create_default_cr(kyma, &api, &resolved).await?;
            }
            if module.custom_resource_policy == CustomResourcePolicy::Ignore && current.is_none() {
                current = in_namespace.first().cloned();
            }
            modules.push(match (current, previous.and_then(|m| m.resource)) {
                (Some(eventing), _) => entry_for(&eventing, &channel, &resolved),
                (None, Some(deleted)) => ModuleStatus {
                    message: Some(format!(
                        "the Eventing CR {} was deleted and is not created again while the module stays enabled; create one, or remove and re-add the module",
                        deleted.name().unwrap_or_default()
                    )),
                    resource: Some(deleted),
                    ..entry(KymaState::Warning, None, &channel, &resolved)
                },
                // customResourcePolicy Ignore and no CR: installed, waiting for the user's CR.
                (None, None) => entry(
                    KymaState::Ready,
                    Some(format!("customResourcePolicy is Ignore: no Eventing CR in {namespace} yet")),
                    &channel,
                    &resolved,
                ),
            });
        }
        None if previous.is_some() => {
            // The module was removed: every Eventing CR of the namespace goes; the entry says
            // Deleting until they are gone (their finalizers deprovision), then disappears.
            for eventing in &in_namespace {
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
            }
            if let (Some(first), Some(previous)) = (in_namespace.first(), previous) {
                let message = first
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Deleted"))
                    .map(|c| c.message.clone());
                modules.push(ModuleStatus {
                    state: KymaState::Deleting,
                    message: message.or_else(|| Some("waiting for module crs deletion".into())),
                    resource: Some(eventing_tracking(first)),
                    ..previous
                });
            }
        }
        None => {}
    }
    for module in kyma.spec.modules.iter().filter(|m| m.name != MODULE) {
        modules.push(unknown_module(
            &module.name,
            KymaState::Error,
            &format!(
                "module {:?} is not available: no lifecycle-manager runs here, and this manager (standalone mode) installs only {MODULE:?}",
                module.name
            ),
        ));
    }
    publish(kyma, ctx, modules, None).await?;
    Ok(Action::requeue(ctx.config.resync.min(Duration::from_secs(300))))
}

/// Creates the default Eventing CR next to the Kyma CR, labelled with it and owned by it.
async fn create_default_cr(
    kyma: &Kyma,
    api: &Api<Eventing>,
    resolved: &Resolved,
) -> Result<Option<Arc<Eventing>>, ReconcileError> {
    let mut cr = resolved.data.clone();
    cr["metadata"]["namespace"] = json!(kyma.namespace());
    cr["metadata"]["labels"][KYMA_LABEL] = json!(kyma.name_any());
    cr["metadata"]["ownerReferences"] = json!([{
        "apiVersion": Kyma::api_version(&()), "kind": Kyma::kind(&()), "name": kyma.name_any(),
        "uid": kyma.uid().unwrap_or_default(), "blockOwnerDeletion": true
    }]);
    let eventing: Eventing = serde_json::from_value(cr)
        .map_err(|e| ReconcileError::Internal(format!("the default Eventing CR is not valid: {e}")))?;
    crate::metrics::api_write("create", "Eventing");
    match api.create(&PostParams::default(), &eventing).await {
        Ok(created) => {
            tracing::info!(eventing = %created.name_any(), "created the default Eventing CR");
            Ok(Some(Arc::new(created)))
        }
        // The namespace (and the Kyma CR in it) is being deleted: nothing to create.
        Err(kube::Error::Api(status)) if crate::apply::namespace_terminating(&status) => {
            tracing::info!("the namespace is being deleted: not creating the default Eventing CR");
            Ok(None)
        }
        Err(kube::Error::Api(status)) if status.code == 409 => {
            api.get_opt(&eventing.name_any()).await.map(|found| found.map(Arc::new)).map_err(|source| {
                ReconcileError::Kube { step: "reading the default Eventing CR", object: eventing.name_any(), source }
            })
        }
        Err(source) => {
            Err(ReconcileError::Kube { step: "creating the default Eventing CR", object: eventing.name_any(), source })
        }
    }
}

/// The status lifecycle-manager would write for these module entries; times are kept from
/// `current` while what they stamp is unchanged. A `refusal` (this Kyma CR is not served at all)
/// makes the state Error whatever the entries say, and is the condition's message and the operation.
pub fn desired_status(kyma: &Kyma, modules: Vec<ModuleStatus>, refusal: Option<&str>) -> KymaStatus {
    let current = kyma.status.clone().unwrap_or_default();
    let state = match refusal {
        Some(_) => KymaState::Error,
        None => summarize(&modules.iter().map(|m| m.state).collect::<Vec<_>>()),
    };
    let ready = state == KymaState::Ready;
    let message = refusal.unwrap_or(if ready { ALL_READY } else { NOT_ALL_READY });
    let modules_condition = Decided::new(MODULES_CONDITION, ready, CONDITION_REASON, message);
    let conditions = conditions::merge(&current.conditions, &[modules_condition], kyma.metadata.generation);
    let operation = match refusal {
        Some(refusal) => crate::text::message(refusal),
        None if ready => "kyma is ready".into(),
        None => "waiting for all modules to become ready".into(),
    };
    let last_operation = match &current.last_operation {
        Some(last) if last.operation == operation => last.clone(),
        _ => LastOperation { operation, last_update_time: Some(Time(Timestamp::now())) },
    };
    KymaStatus {
        state: Some(state),
        modules,
        conditions,
        last_operation: Some(last_operation),
        active_channel: Some(kyma.spec.channel.clone()),
    }
}

async fn publish(
    kyma: &Kyma,
    ctx: &Context,
    modules: Vec<ModuleStatus>,
    refusal: Option<&str>,
) -> Result<(), ReconcileError> {
    let desired = desired_status(kyma, modules, refusal);
    if Some(&desired) == kyma.status.as_ref() {
        return Ok(());
    }
    let api: Api<Kyma> = Api::namespaced(ctx.client.clone(), &kyma.namespace().unwrap_or_default());
    crate::metrics::api_write("patch", "Kyma/status");
    // Strict: a field lifecycle-manager's schema lacks is refused, never silently dropped. A merge
    // patch cannot remove list entries, so every field is replaced whole.
    let body = json!({"status": {
        "state": desired.state, "modules": desired.modules, "conditions": desired.conditions,
        "lastOperation": desired.last_operation, "activeChannel": desired.active_channel,
    }});
    api.patch_status(&kyma.name_any(), &PatchParams::default().validation_strict(), &Patch::Merge(body))
        .await
        .map_err(|source| ReconcileError::Status { object: format!("Kyma {}", kyma.name_any()), source })?;
    Ok(())
}

pub fn error_policy(kyma: Arc<DeserializeGuard<Kyma>>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    pipeline::error_policy_for("kyma", kyma.meta(), error, &ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kyma(status: Option<KymaStatus>) -> Kyma {
        let mut kyma: Kyma = serde_json::from_value(json!({
            "apiVersion": "operator.kyma-project.io/v1beta2", "kind": "Kyma",
            "metadata": {"name": "default", "namespace": "kyma-system", "generation": 4},
            "spec": {"channel": "regular", "modules": [{"name": "eventing"}]}
        }))
        .expect("Kyma");
        kyma.status = status;
        kyma
    }

    #[test]
    fn the_most_urgent_state_summarizes() {
        assert_eq!(summarize(&[]), KymaState::Ready);
        assert_eq!(summarize(&[KymaState::Ready, KymaState::Processing]), KymaState::Processing);
        assert_eq!(summarize(&[KymaState::Warning, KymaState::Deleting, KymaState::Ready]), KymaState::Warning);
        assert_eq!(summarize(&[KymaState::Warning, KymaState::Error]), KymaState::Error);
    }

    #[test]
    fn the_status_has_lifecycle_managers_condition_operation_and_channel() {
        let resolved = module_template::embedded().expect("embedded");
        let ready = desired_status(&kyma(None), vec![entry(KymaState::Ready, None, "regular", &resolved)], None);
        let condition = &ready.conditions[0];
        assert_eq!(
            (condition.type_.as_str(), condition.status.as_str(), condition.reason.as_str()),
            ("Modules", "True", "Ready")
        );
        assert_eq!(condition.message, "all modules are in ready state");
        assert_eq!(condition.observed_generation, Some(4));
        assert_eq!(ready.last_operation.as_ref().map(|o| o.operation.as_str()), Some("kyma is ready"));
        assert_eq!(ready.active_channel.as_deref(), Some("regular"));

        // Unchanged: the same status, times included, so nothing is written.
        let again = desired_status(&kyma(Some(ready.clone())), ready.modules.clone(), None);
        assert_eq!(again, ready);

        let waiting = desired_status(
            &kyma(Some(ready.clone())),
            vec![entry(KymaState::Processing, None, "regular", &resolved)],
            None,
        );
        assert_eq!(waiting.state, Some(KymaState::Processing));
        assert_eq!(
            (waiting.conditions[0].status.as_str(), waiting.conditions[0].message.as_str()),
            ("False", "not all modules are in ready state")
        );
        assert_eq!(waiting.last_operation.map(|o| o.operation), Some("waiting for all modules to become ready".into()));
    }

    #[test]
    fn a_refused_kyma_cr_is_an_error_even_without_modules() {
        let refused = desired_status(&kyma(None), vec![], Some("the Kyma CR first already manages this namespace"));
        assert_eq!(refused.state, Some(KymaState::Error));
        let condition = &refused.conditions[0];
        assert_eq!(
            (condition.status.as_str(), condition.message.as_str()),
            ("False", "the Kyma CR first already manages this namespace")
        );
        assert_eq!(
            refused.last_operation.map(|o| o.operation).as_deref(),
            Some("the Kyma CR first already manages this namespace")
        );
    }
}
