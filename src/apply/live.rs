//! Live objects for apply and prune: from the controllers' reflector caches for the kinds that
//! have one (which kinds is the controllers' business, see `controllers/children.rs`), else from
//! the API server (Istio's DestinationRule; an object the caches cannot hold because it lacks our label).

use std::collections::HashMap;
use std::sync::Arc;

use kube::api::ListParams;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde_json::Value;

use super::{ApplyError, Owner, Resolved};

/// One kind's cache, as apply reads it.
pub trait CachedKind: Send + Sync {
    fn get(&self, namespace: Option<&str>, name: &str) -> Option<Value>;
    fn owned(&self, owner: &Owner) -> Vec<(Option<String>, String)>;
}

impl<K> CachedKind for Store<K>
where
    K: Resource<DynamicType = ()> + Clone + Serialize + Send + Sync + 'static,
{
    fn get(&self, namespace: Option<&str>, name: &str) -> Option<Value> {
        let mut reference = ObjectRef::<K>::new(name);
        if let Some(namespace) = namespace {
            reference = reference.within(namespace);
        }
        Store::get(self, &reference).and_then(|object| serde_json::to_value(object.as_ref()).ok())
    }

    fn owned(&self, owner: &Owner) -> Vec<(Option<String>, String)> {
        self.state().iter().filter(|o| owner.owns(o.labels())).map(|o| (o.namespace(), o.name_any())).collect()
    }
}

/// The caches by kind.
#[derive(Clone, Default)]
pub struct LiveObjects {
    caches: HashMap<&'static str, Arc<dyn CachedKind>>,
}

impl LiveObjects {
    pub fn with(mut self, kind: &'static str, cache: Arc<dyn CachedKind>) -> Self {
        self.caches.insert(kind, cache);
        self
    }

    /// The cached object; `None` when the kind has no cache or the cache does not hold it.
    pub fn cached(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        self.caches.get(kind)?.get(namespace, name)
    }

    /// The object as the API server has it now, or `None` when it does not exist.
    pub async fn get_from_api(
        &self,
        client: &Client,
        resolved: &Resolved,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ApplyError> {
        let kind = resolved.resource.kind.as_str();
        match resolved.api(client, namespace).get_opt(name).await {
            Ok(object) => Ok(object.and_then(|mut o| {
                o.metadata.managed_fields = None;
                serde_json::to_value(o).ok()
            })),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
            Err(source) => Err(ApplyError::Read { object: format!("{kind} {name}"), source }),
        }
    }

    /// Namespace and name of every object of the resolved kind labelled as `owner`'s.
    pub async fn list_owned(
        &self,
        client: &Client,
        resolved: &Resolved,
        owner: &Owner,
    ) -> Result<Vec<(Option<String>, String)>, ApplyError> {
        let kind = resolved.resource.kind.as_str();
        if let Some(cache) = self.caches.get(kind) {
            return Ok(cache.owned(owner));
        }
        // Every namespace: a release whose install namespace changed leaves objects in the old one.
        match resolved.api(client, None).list_metadata(&ListParams::default().labels(&owner.selector())).await {
            Ok(list) => Ok(list.items.iter().map(|o| (o.namespace(), o.name_any())).collect()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(Vec::new()),
            Err(source) => Err(ApplyError::Read { object: format!("{kind} list"), source }),
        }
    }
}
