//! Live objects of the kinds we render, read from the controllers' reflector caches; kinds without
//! a cache (Istio's DestinationRule) are read from the API server.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::ListParams;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde_json::Value;

use super::{ApplyError, Owner, Resolved};

/// The reflector stores of every kind the charts render.
#[derive(Clone, Default)]
pub struct LiveObjects {
    pub statefulsets: Option<Store<StatefulSet>>,
    pub deployments: Option<Store<Deployment>>,
    pub config_maps: Option<Store<ConfigMap>>,
    pub services: Option<Store<Service>>,
    pub service_accounts: Option<Store<ServiceAccount>>,
    pub secrets: Option<Store<Secret>>,
    pub disruption_budgets: Option<Store<PodDisruptionBudget>>,
    pub autoscalers: Option<Store<HorizontalPodAutoscaler>>,
}

fn cached<K>(store: &Store<K>, namespace: Option<&str>, name: &str) -> Option<Value>
where
    K: Resource<DynamicType = ()> + Clone + Serialize + 'static,
{
    let mut reference = ObjectRef::<K>::new(name);
    if let Some(namespace) = namespace {
        reference = reference.within(namespace);
    }
    store.get(&reference).and_then(|object| serde_json::to_value(object.as_ref()).ok())
}

fn owned<K>(store: &Store<K>, owner: &Owner) -> Vec<(Option<String>, String)>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store.state().iter().filter(|o| owner.owns(o.labels())).map(|o| (o.namespace(), o.name_any())).collect()
}

macro_rules! by_kind {
    ($self:ident, $kind:expr, |$store:ident| $body:expr) => {
        match $kind {
            "StatefulSet" => $self.statefulsets.as_ref().map(|$store| $body),
            "Deployment" => $self.deployments.as_ref().map(|$store| $body),
            "ConfigMap" => $self.config_maps.as_ref().map(|$store| $body),
            "Service" => $self.services.as_ref().map(|$store| $body),
            "ServiceAccount" => $self.service_accounts.as_ref().map(|$store| $body),
            "Secret" => $self.secrets.as_ref().map(|$store| $body),
            "PodDisruptionBudget" => $self.disruption_budgets.as_ref().map(|$store| $body),
            "HorizontalPodAutoscaler" => $self.autoscalers.as_ref().map(|$store| $body),
            _ => None,
        }
    };
}

impl LiveObjects {
    fn has_store(&self, kind: &str) -> bool {
        by_kind!(self, kind, |_store| ()).is_some()
    }

    /// The live object, or `None` when it does not exist.
    pub async fn get(
        &self,
        client: &Client,
        resolved: &Resolved,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ApplyError> {
        let kind = resolved.resource.kind.as_str();
        if self.has_store(kind) {
            return Ok(by_kind!(self, kind, |store| cached(store, namespace, name)).flatten());
        }
        match resolved.api(client, namespace).get_opt(name).await {
            Ok(object) => Ok(object.and_then(|o| serde_json::to_value(o).ok())),
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
        if self.has_store(kind) {
            return Ok(by_kind!(self, kind, |store| owned(store, owner)).unwrap_or_default());
        }
        // Every namespace: a release whose install namespace changed leaves objects in the old one.
        match resolved.api(client, None).list_metadata(&ListParams::default().labels(&owner.selector())).await {
            Ok(list) => Ok(list.items.iter().map(|o| (o.namespace(), o.name_any())).collect()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(Vec::new()),
            Err(source) => Err(ApplyError::Read { object: format!("{kind} list"), source }),
        }
    }
}
