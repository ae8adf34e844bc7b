//! The kinds the charts render, listed once. From this list come the shared watches (filtered by
//! our managed-by label), the caches apply reads, the triggers that re-reconcile a CR when one of
//! its objects changes, the cache-sync gate of `/readyz`, and [`CHILD_RESOURCES`], which the RBAC
//! role must grant (a test checks it).

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::shared::SharedWatch;
use crate::apply::{LiveObjects, owner_from_labels};

/// The CR that an object's inventory labels name, if it is of kind `K`. Labels, not owner
/// references: a release may live in another namespace than its CR, where references cannot point.
pub fn owner_of<K: Resource<DynamicType = ()>, Child: ResourceExt>(child: Arc<Child>) -> Option<ObjectRef<K>> {
    let labels = child.labels();
    let (kind, namespace, name) = owner_from_labels(|key| labels.get(key).map(String::as_str))?;
    (kind == K::kind(&()).as_ref()).then(|| ObjectRef::new(name).within(namespace))
}

macro_rules! children {
    ($($field:ident: $kind:ty => ($group:literal, $resource:literal)),* $(,)?) => {
        /// One shared watch per rendered kind.
        pub struct Children {
            $(pub $field: SharedWatch<$kind>,)*
        }

        /// `(API group, resource)` of every rendered kind.
        pub const CHILD_RESOURCES: &[(&str, &str)] = &[$(($group, $resource)),*];

        impl Children {
            /// Starts a watch per kind (the drivers go to `drivers`).
            pub fn start(client: &Client, config: &watcher::Config, drivers: &mut Vec<BoxFuture<'static, ()>>) -> Self {
                Self {
                    $($field: {
                        let (watch, driver) = SharedWatch::start(Api::<$kind>::all(client.clone()), config.clone());
                        drivers.push(driver.boxed());
                        watch
                    },)*
                }
            }

            /// The caches, by kind, as apply reads them.
            pub fn live(&self) -> LiveObjects {
                LiveObjects::default()
                    $(.with(<$kind as k8s_openapi::Resource>::KIND, Arc::new(self.$field.store.clone())))*
            }

            /// A change to any rendered object re-triggers the CR its inventory labels name.
            pub fn trigger<K>(&self, controller: Controller<K>) -> Controller<K>
            where
                K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
            {
                controller $(.watches_shared_stream(self.$field.subscribe(), owner_of))*
            }

            /// Completes when every cache has listed once.
            pub async fn synced(&self) {
                let _ = futures::join!($(self.$field.store.wait_until_ready()),*);
            }
        }
    };
}

children! {
    statefulsets: StatefulSet => ("apps", "statefulsets"),
    deployments: Deployment => ("apps", "deployments"),
    config_maps: ConfigMap => ("", "configmaps"),
    services: Service => ("", "services"),
    service_accounts: ServiceAccount => ("", "serviceaccounts"),
    secrets: Secret => ("", "secrets"),
    disruption_budgets: PodDisruptionBudget => ("policy", "poddisruptionbudgets"),
    autoscalers: HorizontalPodAutoscaler => ("autoscaling", "horizontalpodautoscalers"),
}
