//! Applying a release: stamp rendered objects with owner and inventory, server-side apply what
//! drifted, prune what carries our inventory labels but was not rendered, and judge rollouts.

mod adopt;
mod drift;
mod error;
mod inventory;
mod live;
mod readiness;
mod resolve;

use adopt::made_by_upstream_for;
pub use drift::contains;
pub use error::ApplyError;
pub use inventory::{MANAGED_BY_LABEL, MANAGER_NAME, Owner, owner_from_labels};
pub use live::LiveObjects;
pub use readiness::{Rollout, deployment_rollout, statefulset_rollout};
pub use resolve::{Resolved, Resolver};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::Value;

use crate::chart::Manifest;

/// What one apply round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    pub applied: usize,
    pub unchanged: usize,
    /// Kinds the cluster does not serve (skipped; the chart renders them only when served).
    pub unserved: Vec<String>,
    /// Objects still being deleted (by someone else): re-created once they are gone.
    pub terminating: Vec<String>,
}

/// What the manager last wrote to one object: the resource version and generation the API server
/// answered with. A cache that has not reached this version must not decide anything about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub resource_version: String,
    pub generation: Option<i64>,
}

impl Written {
    /// Whether an object read with `resource_version` already reflects this write. Resource versions
    /// are etcd revisions; when one is not a number, only an identical version counts.
    pub fn seen_by(&self, resource_version: Option<&str>) -> bool {
        let Some(seen) = resource_version else { return false };
        match (seen.parse::<u64>(), self.resource_version.parse::<u64>()) {
            (Ok(seen), Ok(written)) => seen >= written,
            _ => seen == self.resource_version,
        }
    }
}

/// `kind/namespace/name`: the key of [`Applier::written`].
pub fn object_key(kind: &str, namespace: Option<&str>, name: &str) -> String {
    format!("{kind}/{}/{name}", namespace.unwrap_or_default())
}

/// Server-side apply with one field manager, for the objects of one release.
#[derive(Clone)]
pub struct Applier {
    client: Client,
    resolver: Resolver,
    live: LiveObjects,
    field_manager: String,
    written: Arc<Mutex<HashMap<String, Written>>>,
}

impl Applier {
    pub fn new(client: Client, live: LiveObjects, field_manager: &str) -> Self {
        Self {
            resolver: Resolver::new(client.clone()),
            client,
            live,
            field_manager: field_manager.to_owned(),
            written: Arc::default(),
        }
    }

    /// What this manager last wrote to the object `kind/namespace/name`, if it wrote it.
    pub fn written(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Written> {
        self.written.lock().unwrap_or_else(|e| e.into_inner()).get(&object_key(kind, namespace, name)).cloned()
    }

    /// Whether a cached copy of the object at `resource_version` may be trusted: it reflects this
    /// manager's last write to it, or the manager never wrote it.
    pub fn cache_is_current(
        &self,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        resource_version: Option<&str>,
    ) -> bool {
        self.written(kind, namespace, name).is_none_or(|w| w.seen_by(resource_version))
    }

    fn remember(&self, kind: &str, namespace: Option<&str>, name: &str, written: Option<Written>) {
        let mut map = self.written.lock().unwrap_or_else(|e| e.into_inner());
        match written {
            Some(written) => map.insert(object_key(kind, namespace, name), written),
            None => map.remove(&object_key(kind, namespace, name)),
        };
    }

    /// The live object as a decision may use it: from the cache when the cache has seen our last
    /// write to it, else from the API server. The caches hold only what carries our managed-by
    /// label, so an object missing there may still exist (a user's): the API server says.
    async fn read(
        &self,
        resolved: &Resolved,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ApplyError> {
        let kind = resolved.resource.kind.as_str();
        if let Some(cached) = self.live.cached(kind, namespace, name) {
            let version = cached.pointer("/metadata/resourceVersion").and_then(Value::as_str);
            if self.cache_is_current(kind, namespace, name, version) {
                return Ok(Some(cached));
            }
        }
        self.live.get_from_api(&self.client, resolved, namespace, name).await
    }

    /// Applies `owner`'s manifests; objects whose live state already holds every rendered field are
    /// not written (an unchanged release makes no API writes). Every object is checked before any
    /// is written: one that another CR's release owns, or that this manager did not create, stops
    /// the apply with nothing written, taken over or owner-referenced.
    pub async fn apply(&self, owner: &Owner, manifests: &[Manifest]) -> Result<ApplyReport, ApplyError> {
        let mut report = ApplyReport::default();
        let mut plan = Vec::with_capacity(manifests.len());
        for manifest in manifests {
            let Some(resolved) = self.resolver.resolve(manifest.api_version(), manifest.kind()).await? else {
                report.unserved.push(format!("{}/{}", manifest.api_version(), manifest.kind()));
                continue;
            };
            let live = self.read(&resolved, manifest.namespace(), manifest.name()).await?;
            let mut adoption = None;
            // One that is going away is re-created once gone (below); whose it was does not matter.
            let terminating = live.as_ref().is_some_and(is_terminating);
            if let Some(live) = &live
                && !terminating
                && check_ownership(live, owner, || describe(manifest))? == Ownership::Adopt
            {
                // Asked before anything is written: what cannot be adopted stops the apply untouched.
                let body = adopt::replacement(&manifest.object, live);
                let api = resolved.api(&self.client, manifest.namespace());
                adopt::replace(&api, manifest.name(), &body, &self.field_manager, true)
                    .await
                    .map_err(|source| ApplyError::NotAdoptable { object: describe(manifest), source })?;
                adoption = Some(body);
            }
            plan.push((manifest, resolved, live, adoption));
        }
        let params = PatchParams::apply(&self.field_manager).force();
        for (manifest, resolved, live, adoption) in plan {
            let namespace = manifest.namespace();
            let api = resolved.api(&self.client, namespace);
            if let Some(body) = adoption {
                adopt::replace(&api, manifest.name(), &body, &self.field_manager, false)
                    .await
                    .map_err(|source| ApplyError::NotAdoptable { object: describe(manifest), source })?;
                crate::metrics::api_write("replace", manifest.kind());
                tracing::info!(object = %describe(manifest), "adopted from Kyma's manager");
            } else if let Some(live) = live {
                if is_terminating(&live) {
                    report.terminating.push(describe(manifest));
                    continue;
                }
                if contains(&live, &manifest.object) {
                    report.unchanged += 1;
                    continue;
                }
            }
            match api.patch(manifest.name(), &params, &Patch::Apply(&manifest.object)).await {
                Ok(object) => {
                    crate::metrics::api_write("patch", manifest.kind());
                    let written = object
                        .metadata
                        .resource_version
                        .map(|resource_version| Written { resource_version, generation: object.metadata.generation });
                    self.remember(manifest.kind(), namespace, manifest.name(), written);
                    report.applied += 1;
                }
                // The namespace is being deleted (and the CR with it, soon): nothing to create there.
                Err(kube::Error::Api(status)) if namespace_terminating(&status) => {
                    report.terminating.push(format!("{} (its namespace is being deleted)", describe(manifest)));
                }
                Err(kube::Error::Api(status)) if status.code == 404 => {
                    // The kind went away between discovery and apply (a CRD was removed).
                    self.resolver.forget(manifest.api_version(), manifest.kind());
                    report.unserved.push(format!("{}/{}", manifest.api_version(), manifest.kind()));
                }
                Err(source) => return Err(ApplyError::Apply { object: describe(manifest), source }),
            }
        }
        Ok(report)
    }

    /// Deletes every object of `kinds` labelled as owned by `owner` that is not in `keep` (rendered
    /// objects) or `also_keep` (`(kind, name)` made outside the chart). Returns how many deletions were issued.
    pub async fn prune(
        &self,
        owner: &Owner,
        kinds: &[(String, String)],
        keep: &[Manifest],
        also_keep: &[(String, String)],
    ) -> Result<usize, ApplyError> {
        let mut deleted = 0;
        for (api_version, kind) in kinds {
            let Some(resolved) = self.resolver.resolve(api_version, kind).await? else { continue };
            for (namespace, name) in self.live.list_owned(&self.client, &resolved, owner).await? {
                let kept = keep.iter().any(|m| {
                    m.kind() == kind
                        && m.name() == name
                        && m.namespace().unwrap_or_default() == namespace.as_deref().unwrap_or_default()
                });
                if kept || also_keep.iter().any(|(k, n)| k == kind && *n == name) {
                    continue;
                }
                let api: Api<DynamicObject> = resolved.api(&self.client, namespace.as_deref());
                self.remember(kind, namespace.as_deref(), &name, None);
                match api.delete(&name, &DeleteParams::background()).await {
                    Ok(_) => {
                        crate::metrics::api_write("delete", kind);
                        deleted += 1;
                    }
                    Err(kube::Error::Api(status)) if status.code == 404 => {}
                    Err(source) => return Err(ApplyError::Prune { object: format!("{kind} {name}"), source }),
                }
            }
        }
        Ok(deleted)
    }
}

fn is_terminating(live: &Value) -> bool {
    live.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null())
}

/// The API server refused to create an object because its namespace is being deleted.
pub fn namespace_terminating(status: &kube::core::Status) -> bool {
    status.code == 403
        && status.details.as_ref().is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating"))
}

/// Whether a live object may be written for its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// This manager created it for the owner.
    Ours,
    /// Kyma's own manager created it for the same CR: taken over (see `adopt`).
    Adopt,
}

/// A live object may be written for `owner` only when `owner`'s release created it, or Kyma's own
/// manager did for the same CR: one that another CR's release holds is a conflict naming that CR;
/// anything else without our labels is not ours.
pub fn check_ownership(live: &Value, owner: &Owner, object: impl Fn() -> String) -> Result<Ownership, ApplyError> {
    if let Some(other) = owned_by_another(live, owner) {
        return Err(ApplyError::Conflict { object: object(), owner: other });
    }
    if owner.created(live) {
        return Ok(Ownership::Ours);
    }
    if made_by_upstream_for(live, owner) {
        return Ok(Ownership::Adopt);
    }
    Err(ApplyError::NotOurs { object: object(), manager: owner.manager.clone() })
}

/// The CR (`Kind namespace/name`) that a live object's inventory labels name, when it is not `owner`.
fn owned_by_another(live: &serde_json::Value, owner: &Owner) -> Option<String> {
    let labels = live.pointer("/metadata/labels")?.as_object()?;
    let (kind, namespace, name) = owner_from_labels(|key| labels.get(key)?.as_str())?;
    (kind != owner.kind || namespace != owner.namespace || name != owner.name)
        .then(|| format!("{kind} {namespace}/{name}"))
}

fn describe(manifest: &Manifest) -> String {
    format!(
        "{} {}/{} (from {})",
        manifest.kind(),
        manifest.namespace().unwrap_or("-"),
        manifest.name(),
        manifest.source
    )
}
