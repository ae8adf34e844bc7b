//! Applying a release: stamp rendered objects with owner and inventory, server-side apply what
//! drifted, prune what carries our inventory labels but was not rendered, and judge rollouts.

mod drift;
mod error;
mod inventory;
mod live;
mod readiness;
mod resolve;

pub use drift::contains;
pub use error::ApplyError;
pub use inventory::{MANAGED_BY_LABEL, MANAGER_NAME, Owner, owner_from_labels};
pub use live::LiveObjects;
pub use readiness::{Rollout, deployment_rollout, statefulset_rollout};
pub use resolve::{Resolved, Resolver};

use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams};
use kube::{Api, Client};

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

/// Server-side apply with one field manager, for the objects of one release.
#[derive(Clone)]
pub struct Applier {
    client: Client,
    resolver: Resolver,
    live: LiveObjects,
    field_manager: String,
}

impl Applier {
    pub fn new(client: Client, live: LiveObjects, field_manager: &str) -> Self {
        Self { resolver: Resolver::new(client.clone()), client, live, field_manager: field_manager.to_owned() }
    }

    pub fn live(&self) -> &LiveObjects {
        &self.live
    }

    /// Applies `owner`'s manifests in order; objects whose live state already holds every rendered
    /// field are not written (an unchanged release makes no API writes). An object that another CR's
    /// release owns is not taken over: that is a conflict the user must resolve.
    pub async fn apply(&self, owner: &Owner, manifests: &[Manifest]) -> Result<ApplyReport, ApplyError> {
        let mut report = ApplyReport::default();
        let params = PatchParams::apply(&self.field_manager).force();
        for manifest in manifests {
            let Some(resolved) = self.resolver.resolve(manifest.api_version(), manifest.kind()).await? else {
                report.unserved.push(format!("{}/{}", manifest.api_version(), manifest.kind()));
                continue;
            };
            let namespace = manifest.namespace();
            if let Some(live) = self.live.get(&self.client, &resolved, namespace, manifest.name()).await? {
                if let Some(other) = owned_by_another(&live, owner) {
                    return Err(ApplyError::Conflict { object: describe(manifest), owner: other });
                }
                if live.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null()) {
                    report.terminating.push(describe(manifest));
                    continue;
                }
                if contains(&live, &manifest.object) {
                    report.unchanged += 1;
                    continue;
                }
            }
            let api = resolved.api(&self.client, namespace);
            match api.patch(manifest.name(), &params, &Patch::Apply(&manifest.object)).await {
                Ok(_) => {
                    crate::metrics::api_write("patch", manifest.kind());
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

/// The API server refused to create an object because its namespace is being deleted.
pub fn namespace_terminating(status: &kube::core::Status) -> bool {
    status.code == 403
        && status.details.as_ref().is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating"))
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
