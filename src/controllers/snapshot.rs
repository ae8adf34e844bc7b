//! The world as one reconcile sees it after apply: the release's workloads, read once from the
//! caches. A cached object older than the manager's own last write to it is not trusted: the
//! rollout waits until the watch has shown that write.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};

use super::Context;
use crate::apply::{Applier, Rollout, deployment_rollout, statefulset_rollout};

/// Names of the workloads a release renders (in its namespace); `None`: it renders none of that kind.
#[derive(Debug, Clone, Default)]
pub struct Workloads {
    pub statefulset: Option<String>,
    pub deployment: Option<String>,
}

/// One workload as observed.
#[derive(Debug, Clone)]
pub enum Observed<K> {
    /// The release does not render it.
    NotRendered,
    Absent(String),
    /// The cache has not yet shown the manager's last write to it.
    Stale(String),
    Current(Arc<K>),
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Observed<K> {
    fn read(store: &Store<K>, applier: &Applier, namespace: &str, name: Option<&String>) -> Self {
        let Some(name) = name else { return Observed::NotRendered };
        let kind = K::kind(&());
        match store.get(&ObjectRef::new(name).within(namespace)) {
            None => Observed::Absent(name.clone()),
            Some(object)
                if applier.cache_is_current(&kind, Some(namespace), name, object.resource_version().as_deref()) =>
            {
                Observed::Current(object)
            }
            Some(_) => Observed::Stale(name.clone()),
        }
    }

    pub fn current(&self) -> Option<&K> {
        match self {
            Observed::Current(object) => Some(object),
            _ => None,
        }
    }

    /// The rollout verdict; a workload that is not rendered is complete.
    pub fn rollout(&self, judge: fn(&K) -> Rollout) -> Rollout {
        let kind = K::kind(&());
        match self {
            Observed::NotRendered => Rollout::Complete,
            Observed::Absent(name) => Rollout::InProgress(format!("waiting for the {kind} {name} to appear")),
            Observed::Stale(name) => {
                Rollout::InProgress(format!("waiting to observe the latest write to the {kind} {name}"))
            }
            Observed::Current(object) => judge(object),
        }
    }
}

/// The release's workloads, read once.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub statefulset: Observed<StatefulSet>,
    pub deployment: Observed<Deployment>,
}

impl Snapshot {
    pub fn take(ctx: &Context, namespace: &str, workloads: &Workloads) -> Self {
        let children = &ctx.children;
        Self {
            statefulset: Observed::read(
                &children.statefulsets.store,
                &ctx.applier,
                namespace,
                workloads.statefulset.as_ref(),
            ),
            deployment: Observed::read(
                &children.deployments.store,
                &ctx.applier,
                namespace,
                workloads.deployment.as_ref(),
            ),
        }
    }

    pub fn statefulset_rollout(&self) -> Rollout {
        self.statefulset.rollout(statefulset_rollout)
    }

    pub fn deployment_rollout(&self) -> Rollout {
        self.deployment.rollout(deployment_rollout)
    }
}
