//! The one reconcile pipeline every controller runs; a [`Module`] supplies what differs:
//!
//! finalizer? → prepare (validate, credentials, overrides) → render → stamp → apply → prune →
//! after-apply (volume growth) → assess (rollout) → status (written only when it changed).
//! Deletion: state Deleting → prune everything → module cleanup (volume claims) → finalizer removed.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event, finalizer};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tracing::Instrument;

use super::conditions::{self, Decided};
use super::{Context, ReconcileError};
use crate::api::State;
use crate::apply::{ApplyError, Owner};
use crate::chart::{CompiledChart, Manifest, Release};

/// What `prepare` hands to the render step.
pub struct Prepared {
    pub release: Release,
    pub overrides: Value,
    /// Things that work but need attention (state Warning).
    pub warnings: Vec<String>,
    /// Objects the module builds itself (a copied Secret), applied and kept with the chart's.
    pub extra: Vec<Manifest>,
    /// `(kind, name)` of owned objects made outside the chart that prune must leave alone.
    pub keep: Vec<(String, String)>,
}

/// The state a module reports after apply, with its conditions.
pub struct Assessment {
    pub state: State,
    pub conditions: Vec<Decided>,
}

/// How soon to look again while the module's removal is blocked (NATS CRs trigger it sooner).
const BLOCKED_RECHECK: Duration = Duration::from_secs(15);

/// How soon to look again when an object we render is still being deleted by someone else: it is
/// re-created once gone, without relying on its deletion event.
const TERMINATING_RECHECK: Duration = Duration::from_secs(2);

/// A kind reconciled through the pipeline.
pub trait Module:
    Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + Clone
    + std::fmt::Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// Names the controller in logs and metrics.
    const CONTROLLER: &'static str;
    const FINALIZER: &'static str;

    fn chart(ctx: &Context) -> &CompiledChart;
    /// The namespace the release installs into when it is not the CR's own.
    fn install_namespace(_ctx: &Context) -> Option<&str> {
        None
    }
    /// Every kind the chart can render: what prune looks at.
    fn kinds(ctx: &Context) -> &[(String, String)];
    /// Validates what the schema cannot, creates what the chart needs, returns the overrides.
    fn prepare(&self, ctx: &Context, owner: &Owner) -> impl Future<Output = Result<Prepared, ReconcileError>> + Send;
    /// Work that follows a successful apply (growing volumes); returns warnings.
    fn after_apply(
        &self,
        ctx: &Context,
        owner: &Owner,
        prepared: &Prepared,
    ) -> impl Future<Output = Result<Vec<String>, ReconcileError>> + Send;
    /// Rollout state of what was applied.
    fn assess(
        &self,
        ctx: &Context,
        prepared: &Prepared,
        warnings: &[String],
    ) -> impl Future<Output = Result<Assessment, ReconcileError>> + Send;
    /// The condition types that say whether the release works (besides `Deleted`).
    const READINESS_CONDITIONS: &'static [&'static str];
    /// What the release is, in messages ("cluster", "module").
    const SUBJECT: &'static str;
    /// Deprovisioning beyond the rendered objects (volume claims per retention policy).
    fn cleanup(&self, ctx: &Context, owner: &Owner) -> impl Future<Output = Result<(), ReconcileError>> + Send;
    /// Why the finalizer must stay after deprovisioning (CRs that block the module's removal).
    fn removal_blocked(&self, _ctx: &Context) -> Option<String> {
        None
    }
    fn current_conditions(&self) -> Vec<Condition>;
    fn current_status(&self) -> Value;
    /// The complete status to publish.
    fn status(&self, ctx: &Context, state: State, conditions: Vec<Condition>) -> Value;
}

/// The conditions while the pipeline fails with `error`: every readiness condition says why.
fn failed<M: Module>(error: &ReconcileError) -> Vec<Decided> {
    let mut conditions: Vec<Decided> = M::READINESS_CONDITIONS
        .iter()
        .map(|kind| Decided::new(kind, false, error.reason(), error.to_string()))
        .collect();
    conditions.push(Decided::new("Deleted", false, "Provisioned", format!("the {} is provisioned", M::SUBJECT)));
    conditions
}

/// The conditions while deprovisioning.
fn deleting<M: Module>() -> Vec<Decided> {
    let mut conditions: Vec<Decided> = M::READINESS_CONDITIONS
        .iter()
        .map(|kind| Decided::new(kind, false, "Deleting", format!("the {} is being deleted", M::SUBJECT)))
        .collect();
    conditions.push(Decided::new(
        "Deleted",
        false,
        "Deprovisioning",
        format!("deleting every object of the {}", M::SUBJECT),
    ));
    conditions
}

/// The conditions while deprovisioned but the finalizer must stay.
fn blocked<M: Module>(message: &str) -> Vec<Decided> {
    let mut conditions: Vec<Decided> = M::READINESS_CONDITIONS
        .iter()
        .map(|kind| Decided::new(kind, false, "Deleting", format!("the {} is deprovisioned", M::SUBJECT)))
        .collect();
    conditions.push(Decided::new("Deleted", false, "DeletionBlocked", message));
    conditions
}

fn owner_of<M: Module>(object: &M, ctx: &Context) -> Owner {
    Owner::of(object, &ctx.config.manager_name, M::install_namespace(ctx))
}

fn key<M: Module>(object: &M) -> String {
    format!("{}/{}/{}", M::CONTROLLER, object.namespace().unwrap_or_default(), object.name_any())
}

/// The reconcile function handed to kube's `Controller`: one span per reconcile with a reconcile id.
pub async fn reconcile<M: Module>(object: Arc<M>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let span = tracing::info_span!(
        "reconcile",
        controller = M::CONTROLLER,
        reconcileID = %uuid::Uuid::new_v4(),
        namespace = %object.namespace().unwrap_or_default(),
        name = %object.name_any(),
    );
    async move {
        let started = std::time::Instant::now();
        let api: Api<M> = Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
        let adds_finalizer =
            !object.finalizers().iter().any(|f| f == M::FINALIZER) && object.meta().deletion_timestamp.is_none();
        if adds_finalizer {
            crate::metrics::api_write("patch", &M::kind(&()));
        }
        let result = finalizer(&api, M::FINALIZER, object, |event| async {
            match event {
                Event::Apply(object) => apply(object.as_ref(), &ctx).await,
                Event::Cleanup(object) => cleanup(object.as_ref(), &ctx).await,
            }
        })
        .await;
        let result = match result {
            // Deprovisioned, the finalizer kept: waiting for the CRs named in the status.
            Err(kube::runtime::finalizer::Error::CleanupFailed(ReconcileError::RemovalBlocked(message))) => {
                tracing::info!(step = "cleanup", "deprovisioned; removal waits: {message}");
                Ok(Action::requeue(BLOCKED_RECHECK))
            }
            // The object went away while we removed our finalizer: deletion is complete.
            Err(kube::runtime::finalizer::Error::RemoveFinalizer(kube::Error::Api(status))) if status.code == 404 => {
                Ok(Action::await_change())
            }
            other => other.map_err(|error| ReconcileError::Finalizer(Box::new(error))),
        };
        crate::metrics::reconciled(M::CONTROLLER, started.elapsed());
        result
    }
    .instrument(span)
    .await
}

/// Per-object exponential backoff (kube's runtime has none of its own).
pub fn error_policy<M: Module>(object: Arc<M>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let delay = ctx.backoff(&key(object.as_ref()));
    crate::metrics::reconcile_failed(M::CONTROLLER, error.reason());
    tracing::warn!(
        controller = M::CONTROLLER,
        namespace = %object.namespace().unwrap_or_default(),
        name = %object.name_any(),
        reason = error.reason(),
        retry_in_seconds = delay.as_secs(),
        "reconcile failed: {error}"
    );
    Action::requeue(delay)
}

async fn apply<M: Module>(object: &M, ctx: &Context) -> Result<Action, ReconcileError> {
    let owner = owner_of(object, ctx);
    match run_stages(object, ctx, &owner).await {
        Ok((assessment, terminating)) => {
            publish(object, ctx, assessment.state, &assessment.conditions).await?;
            ctx.reset_backoff(&key(object));
            tracing::info!(state = %assessment.state, "reconciled");
            if terminating.is_empty() {
                Ok(Action::requeue(ctx.config.resync))
            } else {
                tracing::info!(objects = ?terminating, "waiting for objects being deleted, to re-create them");
                Ok(Action::requeue(TERMINATING_RECHECK))
            }
        }
        Err(error @ ReconcileError::Invalid(_)) => {
            // The user must change something: say what, touch nothing else, and look again when it changes.
            tracing::warn!(reason = error.reason(), "cannot reconcile: {error}");
            publish(object, ctx, State::Error, &failed::<M>(&error)).await?;
            Ok(Action::requeue(Duration::from_secs(60)))
        }
        Err(error) => {
            if let Err(status_error) = publish(object, ctx, State::Error, &failed::<M>(&error)).await {
                tracing::warn!("could not report the failure in the status: {status_error}");
            }
            Err(error)
        }
    }
}

/// The stages of an apply; also returns the rendered objects that are still being deleted.
async fn run_stages<M: Module>(
    object: &M,
    ctx: &Context,
    owner: &Owner,
) -> Result<(Assessment, Vec<String>), ReconcileError> {
    let prepared = object.prepare(ctx, owner).await?;
    let mut rendered: Vec<Manifest> =
        M::chart(ctx).render(&prepared.overrides, &prepared.release, &ctx.api_versions())?;
    rendered.extend(prepared.extra.iter().cloned());
    for manifest in &mut rendered {
        owner.stamp(manifest);
    }
    let report = ctx.applier.apply(owner, &rendered).await.map_err(|error| match error {
        // Another CR's release holds these objects: the user must choose, we do not fight over them.
        conflict @ ApplyError::Conflict { .. } => ReconcileError::Invalid(conflict.to_string()),
        other => other.into(),
    })?;
    let pruned = ctx.applier.prune(owner, M::kinds(ctx), &rendered, &prepared.keep).await?;
    crate::metrics::objects_applied(report.applied);
    crate::metrics::objects_pruned(pruned);
    tracing::info!(
        applied = report.applied,
        unchanged = report.unchanged,
        pruned,
        step = "apply",
        "applied the release"
    );
    let mut warnings = prepared.warnings.clone();
    warnings.extend(object.after_apply(ctx, owner, &prepared).await?);
    let mut assessment = object.assess(ctx, &prepared, &warnings).await?;
    if !report.terminating.is_empty() && assessment.state == State::Ready {
        assessment.state = State::Processing;
    }
    Ok((assessment, report.terminating))
}

async fn cleanup<M: Module>(object: &M, ctx: &Context) -> Result<Action, ReconcileError> {
    let owner = owner_of(object, ctx);
    if let Err(error) = publish(object, ctx, State::Deleting, &deleting::<M>()).await {
        tracing::debug!("could not publish Deleting: {error}");
    }
    let pruned = ctx.applier.prune(&owner, M::kinds(ctx), &[], &[]).await?;
    crate::metrics::objects_pruned(pruned);
    object.cleanup(ctx, &owner).await?;
    if let Some(message) = object.removal_blocked(ctx) {
        publish(object, ctx, State::Warning, &blocked::<M>(&message)).await?;
        return Err(ReconcileError::RemovalBlocked(message));
    }
    tracing::info!(pruned, step = "cleanup", "deprovisioned");
    ctx.reset_backoff(&key(object));
    Ok(Action::await_change())
}

/// Writes the status through the status subresource, only when it differs from the current one.
async fn publish<M: Module>(
    object: &M,
    ctx: &Context,
    state: State,
    decided: &[Decided],
) -> Result<(), ReconcileError> {
    let conditions = conditions::merge(&object.current_conditions(), decided, object.meta().generation);
    let desired = object.status(ctx, state, conditions);
    if desired == object.current_status() {
        return Ok(());
    }
    let api: Api<M> = Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
    crate::metrics::api_write("patch", &format!("{}/status", M::kind(&())));
    api.patch_status(&object.name_any(), &PatchParams::default(), &Patch::Merge(json!({ "status": desired })))
        .await
        .map_err(|source| ReconcileError::Status { object: key(object), source })?;
    Ok(())
}
