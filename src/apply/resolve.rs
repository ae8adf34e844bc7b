//! Which API resource serves a rendered object's apiVersion and kind, through discovery (cached),
//! so the chart may contain any kind and kinds may appear (a CRD installed) or disappear.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::discovery::{self, Scope};
use kube::{Api, Client};

use super::ApplyError;

#[derive(Debug, Clone)]
pub struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
}

impl Resolved {
    pub fn api(&self, client: &Client, namespace: Option<&str>) -> Api<DynamicObject> {
        match (self.namespaced, namespace) {
            (true, Some(namespace)) => Api::namespaced_with(client.clone(), namespace, &self.resource),
            _ => Api::all_with(client.clone(), &self.resource),
        }
    }
}

#[derive(Clone)]
pub struct Resolver {
    client: Client,
    cache: Arc<Mutex<HashMap<(String, String), Resolved>>>,
}

impl Resolver {
    pub fn new(client: Client) -> Self {
        Self { client, cache: Arc::default() }
    }

    /// The resource serving `apiVersion`/`kind`, or `None` when the cluster does not serve it.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Option<Resolved>, ApplyError> {
        let key = (api_version.to_owned(), kind.to_owned());
        if let Some(hit) = self.cache.lock().ok().and_then(|cache| cache.get(&key).cloned()) {
            return Ok(Some(hit));
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        match discovery::pinned_kind(&self.client, &gvk).await {
            Ok((resource, capabilities)) => {
                let resolved = Resolved { resource, namespaced: capabilities.scope == Scope::Namespaced };
                if let Ok(mut cache) = self.cache.lock() {
                    cache.insert(key, resolved.clone());
                }
                Ok(Some(resolved))
            }
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
            Err(kube::Error::Discovery(_)) => Ok(None),
            Err(source) => Err(ApplyError::Discovery { api_version: api_version.into(), kind: kind.into(), source }),
        }
    }

    /// Drops a cached resolution (its kind stopped being served).
    pub fn forget(&self, api_version: &str, kind: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&(api_version.to_owned(), kind.to_owned()));
        }
    }
}
