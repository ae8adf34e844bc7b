//! The one reconcile pipeline every controller runs; a [`Module`] supplies what differs:
//!
//! finalizer? → validate → prepare (dependencies, credentials, overrides) → render → stamp → apply
//! (ownership checked first) → prune → after-apply (volume growth) → snapshot (read once) → assess
//! (rollout) → status (written only when it changed).
//! Deletion: state Deleting → prune everything → module cleanup (volume claims) → finalizer removed.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::DeserializeGuard;
use kube::core::error_boundary::InvalidObject;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event, finalizer};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tracing::Instrument;

use super::backoff;
use super::conditions::{self, Decided};
use super::error::Retry;
use super::snapshot::{Snapshot, Workloads};
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
    /// The workloads whose rollout decides readiness.
    pub workloads: Workloads,
}

/// The state a module reports after apply, with its conditions.
pub struct Assessment {
    pub state: State,
    pub conditions: Vec<Decided>,
    /// Status fields beyond state and conditions that the assessment found (zones used, ...).
    pub fields: serde_json::Map<String, Value>,
}

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
    /// The finalizer Kyma's own manager puts on the CR when it differs from ours: replaced by ours on
    /// takeover, and removed (after our cleanup) from a CR deleted before that.
    const UPSTREAM_FINALIZER: Option<&'static str> = None;
    /// The spec field that chooses the names of the release's objects (named in conflicts).
    const NAME_FIELD: &'static str = "metadata.name";

    /// The rules the API server may not have checked (a CR older than its CRD's rules).
    fn validate(&self) -> Result<(), crate::api::validate::FieldError>;
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
    /// Rollout state of what was applied, from the snapshot taken after apply.
    fn assess(
        &self,
        ctx: &Context,
        prepared: &Prepared,
        snapshot: &Snapshot,
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
    /// The complete status to publish; `observed` (the snapshot after apply and the assessment) is
    /// `None` when the reconcile failed before it: the fields it would give keep their values.
    fn status(&self, state: State, conditions: Vec<Condition>, observed: Option<(&Snapshot, &Assessment)>) -> Value;
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
    backoff::key(M::CONTROLLER, object.meta())
}

/// The frame every controller's reconcile runs in: one span with a reconcile id, the object and
/// the controller; the duration metric; the failure count reset after a success.
pub async fn framed<F>(
    controller: &'static str,
    object: &ObjectMeta,
    ctx: &Context,
    work: F,
) -> Result<Action, ReconcileError>
where
    F: Future<Output = Result<Action, ReconcileError>>,
{
    let key = backoff::key(controller, object);
    let span = tracing::info_span!(
        "reconcile",
        controller,
        reconcileID = %uuid::Uuid::new_v4(),
        namespace = %object.namespace.as_deref().unwrap_or_default(),
        name = %object.name.as_deref().unwrap_or_default(),
    );
    async move {
        let started = std::time::Instant::now();
        let result = work.await;
        crate::metrics::reconciled(controller, started.elapsed());
        if result.is_ok() {
            ctx.backoffs.reset(&key);
        }
        result
    }
    .instrument(span)
    .await
}

/// The delay after a failed reconcile of `object`, by the error's retry policy.
pub fn retry_delay(controller: &str, object: &ObjectMeta, error: &ReconcileError, ctx: &Context) -> Duration {
    backoff::retry_delay(&backoff::key(controller, object), error, &ctx.backoffs)
}

/// The error policy of every controller: the delay by [`retry_delay`], a metric and one bounded log line.
pub fn error_policy_for(
    controller: &'static str,
    object: &ObjectMeta,
    error: &ReconcileError,
    ctx: &Context,
) -> Action {
    let delay = retry_delay(controller, object, error, ctx);
    crate::metrics::reconcile_failed(controller, error.reason());
    tracing::warn!(
        controller,
        namespace = %object.namespace.as_deref().unwrap_or_default(),
        name = %object.name.as_deref().unwrap_or_default(),
        reason = error.reason(),
        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        "reconcile failed: {}",
        crate::text::bounded(&error.to_string(), crate::text::MAX_MESSAGE)
    );
    Action::requeue(delay)
}

/// The reconcile function handed to kube's `Controller` for a [`Module`].
pub async fn reconcile<M: Module>(
    guard: Arc<DeserializeGuard<M>>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    framed(M::CONTROLLER, guard.meta(), &ctx, async {
        match &guard.0 {
            Ok(object) => reconcile_valid(Arc::new(object.clone()), &ctx).await,
            Err(invalid) => malformed(guard.as_ref(), invalid, &ctx).await,
        }
    })
    .await
}

async fn reconcile_valid<M: Module>(object: Arc<M>, ctx: &Context) -> Result<Action, ReconcileError> {
    let api: Api<M> = Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
    if let Some(upstream) = M::UPSTREAM_FINALIZER
        && object.finalizers().iter().any(|f| f == upstream)
    {
        return take_over_finalizer(object.as_ref(), upstream, &api, ctx).await;
    }
    let adds_finalizer =
        !object.finalizers().iter().any(|f| f == M::FINALIZER) && object.meta().deletion_timestamp.is_none();
    if adds_finalizer {
        crate::metrics::api_write("patch", &M::kind(&()));
    }
    let result = finalizer(&api, M::FINALIZER, object, |event| async {
        match event {
            Event::Apply(object) => apply(object.as_ref(), ctx).await,
            Event::Cleanup(object) => cleanup(object.as_ref(), ctx).await,
        }
    })
    .await;
    match result {
        // Deprovisioned, the finalizer kept: waiting for the CRs named in the status.
        Err(kube::runtime::finalizer::Error::CleanupFailed(error @ ReconcileError::RemovalBlocked(_))) => {
            tracing::info!(step = "cleanup", "deprovisioned; removal waits: {error}");
            Ok(Action::requeue(match error.retry() {
                Retry::After(delay) => delay,
                _ => backoff::TRANSIENT_MAX,
            }))
        }
        // The object went away while we removed our finalizer: deletion is complete.
        Err(kube::runtime::finalizer::Error::RemoveFinalizer(kube::Error::Api(status))) if status.code == 404 => {
            Ok(Action::await_change())
        }
        other => other.map_err(|error| ReconcileError::Finalizer(Box::new(error))),
    }
}

/// Replaces Kyma's manager's finalizer on a taken-over CR by ours (the next reconcile, triggered by
/// this write, goes on as usual). A CR already being deleted cannot get a new finalizer: it is
/// deprovisioned here and the old finalizer removed, so that it never hangs on a manager that is gone.
async fn take_over_finalizer<M: Module>(
    object: &M,
    upstream: &str,
    api: &Api<M>,
    ctx: &Context,
) -> Result<Action, ReconcileError> {
    let deleting = object.meta().deletion_timestamp.is_some();
    if deleting && !object.finalizers().iter().any(|f| f == M::FINALIZER) {
        cleanup(object, ctx).await?;
    }
    let mut finalizers: Vec<&str> = object.finalizers().iter().map(String::as_str).filter(|f| *f != upstream).collect();
    if !deleting && !finalizers.contains(&M::FINALIZER) {
        finalizers.push(M::FINALIZER);
    }
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": object.meta().resource_version}});
    crate::metrics::api_write("patch", &M::kind(&()));
    api.patch(&object.name_any(), &PatchParams::default(), &Patch::Merge(patch)).await.map_err(|source| {
        ReconcileError::Kube { step: "replacing Kyma's manager's finalizer", object: object.name_any(), source }
    })?;
    tracing::info!(replaced = upstream, "took over the CR from Kyma's manager");
    Ok(Action::await_change())
}

/// A CR that does not deserialize: its status says why (state Error); while it is being deleted,
/// its objects are pruned (volume claims kept) and the finalizer goes, so it never hangs.
async fn malformed<M: Module>(
    guard: &DeserializeGuard<M>,
    invalid: &InvalidObject,
    ctx: &Context,
) -> Result<Action, ReconcileError> {
    let meta = &invalid.metadata;
    let (namespace, name) = (meta.namespace.clone().unwrap_or_default(), meta.name.clone().unwrap_or_default());
    let resource = ApiResource::erase::<M>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &namespace, &resource);
    let deleting = meta.deletion_timestamp.is_some();
    // The field it breaks is for the status: the CR is read once more for it, not while deleting.
    let message = if deleting { invalid.error.clone() } else { where_malformed::<M>(&api, &name, invalid).await };
    let error = ReconcileError::Malformed { kind: M::kind(&()).into_owned(), message };
    tracing::warn!(reason = error.reason(), "{}", crate::text::bounded(&error.to_string(), crate::text::MAX_MESSAGE));
    if deleting {
        if meta.finalizers.iter().flatten().any(|f| f == M::FINALIZER) {
            let owner = Owner::of(guard, &ctx.config.manager_name, M::install_namespace(ctx));
            ctx.applier.prune(&owner, M::kinds(ctx), &[], &[]).await?;
            let finalizers: Vec<&String> = meta.finalizers.iter().flatten().filter(|f| *f != M::FINALIZER).collect();
            let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": meta.resource_version}});
            crate::metrics::api_write("patch", &M::kind(&()));
            api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await.map_err(|source| {
                ReconcileError::Kube { step: "removing the finalizer", object: name.clone(), source }
            })?;
        }
        return Ok(Action::await_change());
    }
    let conditions = conditions::merge(&[], &failed::<M>(&error), meta.generation);
    let status =
        json!({"status": {"state": State::Error, "conditions": conditions, "observedGeneration": meta.generation}});
    crate::metrics::api_write("patch", &format!("{}/status", M::kind(&())));
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .map_err(|source| ReconcileError::Status { object: format!("{namespace}/{name}"), source })?;
    Ok(Action::requeue(Duration::from_secs(300)))
}

/// The field a CR breaks and serde's reason (`spec.cluster.size: invalid type: ...`): the watch's
/// error names no field, so the CR is read once more and deserialized with its path tracked.
async fn where_malformed<M: Module>(api: &Api<DynamicObject>, name: &str, invalid: &InvalidObject) -> String {
    let Ok(object) = api.get(name).await else { return invalid.error.clone() };
    let Ok(value) = serde_json::to_value(&object) else { return invalid.error.clone() };
    match serde_path_to_error::deserialize::<_, M>(value) {
        Err(error) => format!("{}: {}", error.path(), error.inner()),
        // Fixed since the watch saw it: the next event reconciles it.
        Ok(_) => invalid.error.clone(),
    }
}

/// The error policy handed to kube's `Controller` for a [`Module`].
pub fn error_policy<M: Module>(guard: Arc<DeserializeGuard<M>>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    error_policy_for(M::CONTROLLER, guard.meta(), error, &ctx)
}

async fn apply<M: Module>(object: &M, ctx: &Context) -> Result<Action, ReconcileError> {
    let owner = owner_of(object, ctx);
    match run_stages(object, ctx, &owner).await {
        Ok((assessment, snapshot, terminating)) => {
            publish(object, ctx, assessment.state, &assessment.conditions, Some((&snapshot, &assessment))).await?;
            tracing::info!(state = %assessment.state, "reconciled");
            if terminating.is_empty() {
                Ok(Action::requeue(ctx.config.resync))
            } else {
                tracing::info!(objects = ?terminating, "waiting for objects being deleted, to re-create them");
                Ok(Action::requeue(TERMINATING_RECHECK))
            }
        }
        Err(error) if error.needs_user() => {
            // The user must change something: say what, touch nothing else, and look again when it changes.
            tracing::warn!(
                reason = error.reason(),
                "cannot reconcile: {}",
                crate::text::bounded(&error.to_string(), crate::text::MAX_MESSAGE)
            );
            publish(object, ctx, State::Error, &failed::<M>(&error), None).await?;
            Ok(Action::requeue(retry_delay(M::CONTROLLER, object.meta(), &error, ctx)))
        }
        Err(error) => {
            if let Err(status_error) = publish(object, ctx, State::Error, &failed::<M>(&error), None).await {
                tracing::warn!(
                    "could not report the failure in the status: {}",
                    crate::text::bounded(&status_error.to_string(), crate::text::MAX_MESSAGE)
                );
            }
            Err(error)
        }
    }
}

/// The stages of an apply; also returns the snapshot and the rendered objects still being deleted.
async fn run_stages<M: Module>(
    object: &M,
    ctx: &Context,
    owner: &Owner,
) -> Result<(Assessment, Snapshot, Vec<String>), ReconcileError> {
    object.validate().map_err(ReconcileError::InvalidSpec)?;
    let prepared = object.prepare(ctx, owner).await?;
    let mut rendered: Vec<Manifest> =
        M::chart(ctx).render(&prepared.overrides, &prepared.release, &ctx.api_versions())?;
    rendered.extend(prepared.extra.iter().cloned());
    for manifest in &mut rendered {
        owner.stamp(manifest);
    }
    // An object another CR holds, or one we did not create, is the user's to resolve: say which
    // field chose its name; never fight over it.
    let report = ctx.applier.apply(owner, &rendered).await.map_err(|error| match ReconcileError::from(error) {
        ReconcileError::Conflict(conflict @ (ApplyError::Conflict { .. } | ApplyError::NotOurs { .. })) => {
            ReconcileError::Conflict(ApplyError::Named { field: M::NAME_FIELD, source: Box::new(conflict) })
        }
        other => other,
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
    let snapshot = Snapshot::take(ctx, &prepared.release.namespace, &prepared.workloads);
    let mut assessment = object.assess(ctx, &prepared, &snapshot, &warnings).await?;
    if !report.terminating.is_empty() && assessment.state == State::Ready {
        assessment.state = State::Processing;
    }
    Ok((assessment, snapshot, report.terminating))
}

async fn cleanup<M: Module>(object: &M, ctx: &Context) -> Result<Action, ReconcileError> {
    let owner = owner_of(object, ctx);
    if let Err(error) = publish(object, ctx, State::Deleting, &deleting::<M>(), None).await {
        tracing::debug!("could not publish Deleting: {error}");
    }
    let pruned = ctx.applier.prune(&owner, M::kinds(ctx), &[], &[]).await?;
    crate::metrics::objects_pruned(pruned);
    object.cleanup(ctx, &owner).await?;
    if let Some(message) = object.removal_blocked(ctx) {
        publish(object, ctx, State::Warning, &blocked::<M>(&message), None).await?;
        return Err(ReconcileError::RemovalBlocked(message));
    }
    tracing::info!(pruned, step = "cleanup", "deprovisioned");
    Ok(Action::await_change())
}

/// Writes the status through the status subresource, only when it differs from the current one.
async fn publish<M: Module>(
    object: &M,
    ctx: &Context,
    state: State,
    decided: &[Decided],
    observed: Option<(&Snapshot, &Assessment)>,
) -> Result<(), ReconcileError> {
    let conditions = conditions::merge(&object.current_conditions(), decided, object.meta().generation);
    let desired = object.status(state, conditions, observed);
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
