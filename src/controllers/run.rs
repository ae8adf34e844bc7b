//! Wiring: reflectors for every kind we render (shared by the controllers), the controllers on
//! kube's runtime, and a graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, future};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, Resource, ResourceExt};

use super::children::Children;
use super::context::CrStores;
use super::context::OPTIONAL_APIS;
use super::pipeline::{error_policy, reconcile};
use super::shared::SharedWatch;
use super::{Config, Context, KymaMode, crds, credentials, eventing, kyma, nats};
use crate::api::{Eventing, Kyma, Nats};
use crate::apply::{Applier, MANAGED_BY_LABEL};

/// Whether one of the manager's CRDs was gone or being deleted when it stopped (the module is being removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uninstalling(pub bool);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("loading the bundled chart: {0}")]
    Chart(#[from] crate::chart::ChartError),
}

fn log_result<T, E: std::fmt::Display>(result: Result<T, E>) -> future::Ready<()> {
    if let Err(error) = result {
        tracing::debug!("controller: {error}");
    }
    future::ready(())
}

/// Every CR in `store` (an optional API such as Istio's appeared or went away: re-render all).
fn every<K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static>(
    store: Store<K>,
) -> impl Fn(Arc<CustomResourceDefinition>) -> Vec<ObjectRef<K>> + Send + Sync + 'static {
    move |_| store.state().iter().map(|object| ObjectRef::from_obj(object.as_ref())).collect()
}

/// The CRs in `store` in the namespace of the changed object, and (with `deleting`) those anywhere
/// that are being deleted.
fn neighbours<K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static, T: Resource>(
    store: Store<K>,
    deleting: bool,
) -> impl Fn(Arc<T>) -> Vec<ObjectRef<K>> + Send + Sync + 'static {
    move |changed| {
        let namespace = changed.meta().namespace.clone();
        store
            .state()
            .iter()
            .filter(|cr| cr.meta().namespace == namespace || (deleting && cr.meta().deletion_timestamp.is_some()))
            .map(|cr| ObjectRef::from_obj(cr.as_ref()))
            .collect()
    }
}

/// The CRs in `store` that refer to a Secret (`refers(cr, namespace, name)`), when it comes or goes.
fn referring<K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static>(
    store: Store<DeserializeGuard<K>>,
    refers: fn(&K, &str, &str) -> bool,
) -> impl Fn(Arc<PartialObjectMeta<Secret>>) -> Vec<ObjectRef<DeserializeGuard<K>>> + Send + Sync + 'static {
    move |secret| {
        let (namespace, name) = (secret.namespace().unwrap_or_default(), secret.name_any());
        store
            .state()
            .iter()
            .filter(|cr| cr.0.as_ref().is_ok_and(|cr| refers(cr, &namespace, &name)))
            .map(|cr| ObjectRef::from_obj(cr.as_ref()))
            .collect()
    }
}

/// Runs the controllers until `shutdown` completes, then lets running reconciles finish. Without
/// its CRDs the manager waits for them (not ready); when one is deleted the controllers stop and
/// wait for it to return, so that a re-installed CRD is watched again within seconds.
/// Returns whether the module was being removed when the manager stopped.
pub async fn run(
    client: Client,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> Result<Uninstalling, RunError> {
    let shutdown = shutdown.shared();
    let required = crds::required(config.kyma_mode);
    loop {
        config.readiness.set_not_ready();
        tokio::select! {
            () = crds::wait_until_established(&client, &required) => {}
            () = shutdown.clone() => return Ok(Uninstalling(crds::module_uninstalling(&client).await)),
        }
        let lifecycle_manager = match config.kyma_mode {
            KymaMode::Standalone => Some(crds::lifecycle_manager_runs(&client).await),
            KymaMode::Managed => None,
        };
        let lost = crds::wait_until_changed(client.clone(), required.clone(), lifecycle_manager).shared();
        let stop = future::select(shutdown.clone(), lost.clone()).map(|_| ());
        run_controllers(client.clone(), config.clone(), lifecycle_manager == Some(true), stop).await?;
        if shutdown.clone().now_or_never().is_some() {
            // Shut down: a CRD being deleted means the module is being removed; no manager may be
            // left to handle our finalizers, so they go now (owned children follow by garbage collection).
            return Ok(Uninstalling(crds::release_finalizers_if_uninstalling(&client).await));
        }
    }
}

async fn run_controllers(
    client: Client,
    config: Config,
    standalone_refused: bool,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> Result<(), RunError> {
    let ours = watcher::Config::default().labels(&format!("{MANAGED_BY_LABEL}={}", config.manager_name));
    let mut drivers: Vec<BoxFuture<'static, ()>> = Vec::new();
    macro_rules! shared {
        ($kind:ty, $config:expr) => {{
            let (watch, driver) = SharedWatch::start(Api::<$kind>::all(client.clone()), $config);
            drivers.push(driver.boxed());
            watch
        }};
    }
    let children = Arc::new(Children::start(&client, &ours, &mut drivers));
    // One watch per optional API's CRD (a field selector names one object).
    let optional_crds: Vec<SharedWatch<CustomResourceDefinition>> = OPTIONAL_APIS
        .iter()
        .map(|(_, crd)| {
            shared!(CustomResourceDefinition, watcher::Config::default().fields(&format!("metadata.name={crd}")))
        })
        .collect();
    // Metadata of every Secret: a user's Secret that a CR refers to comes and goes.
    // (`Api<PartialObjectMeta<_>>` watches metadata only.)
    let user_secrets = shared!(PartialObjectMeta<Secret>, watcher::Config::default());
    // Guarded: one CR that does not deserialize is reported, and does not stall the watch.
    let eventings = shared!(DeserializeGuard<Eventing>, watcher::Config::default());
    let nats_crs = shared!(DeserializeGuard<Nats>, watcher::Config::default());

    let readiness = config.readiness.clone();
    let synced = {
        let children = children.clone();
        async move {
            children.synced().await;
            readiness.set_ready();
            tracing::info!("caches synced");
        }
    };
    drivers.push(synced.boxed());
    let kyma_mode = config.kyma_mode;
    let master_key = match credentials::master_key(&client, &config.manager_namespace, &config.manager_name).await {
        Ok(key) => key,
        Err(error) => {
            tracing::error!("cannot make a key for generated passwords: {error}");
            return Ok(());
        }
    };
    let ctx = Arc::new(Context::new(
        client.clone(),
        Applier::new(client.clone(), children.live(), &config.manager_name),
        config,
        children.clone(),
        optional_crds.iter().map(|watch| watch.store.clone()).collect(),
        CrStores { nats: nats_crs.store.clone(), eventings: eventings.store.clone() },
        master_key,
    )?);
    let shutdown = shutdown.shared();

    let nats_store = nats_crs.store.clone();
    let controller = Controller::for_shared_stream(nats_crs.subscribe(), nats_store.clone());
    // A user's Secret that a NATS CR refers to (leaf node credentials) re-triggers that CR.
    let nats_refers = |n: &Nats, namespace: &str, name: &str| {
        n.namespace().as_deref() == Some(namespace) && nats::referenced_secrets(&n.spec).contains(name)
    };
    let mut controller = children.trigger(controller);
    for watch in &optional_crds {
        controller = controller.watches_shared_stream(watch.subscribe(), every(nats_store.clone()));
    }
    let nats_controller = controller
        .watches_shared_stream(user_secrets.subscribe(), referring(nats_store.clone(), nats_refers))
        // An Eventing CR that hands its own NATS over to this namespace's NATS CR (or takes it back).
        .watches_shared_stream(eventings.subscribe(), neighbours(nats_store, false))
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile::<Nats>, error_policy::<Nats>, ctx.clone())
        .for_each(log_result);

    // The Eventing controller and the Kyma controller read the store their triggers come from.
    let eventing_store = eventings.store.clone();
    let controller = Controller::for_shared_stream(eventings.subscribe(), eventing_store.clone());
    // The EventMesh Secret is a dependency that comes and goes: watched, not polled.
    let mut controller = children.trigger(controller);
    for watch in &optional_crds {
        controller = controller.watches_shared_stream(watch.subscribe(), every(eventing_store.clone()));
    }
    let eventing_controller = controller
        .watches_shared_stream(user_secrets.subscribe(), referring(eventing_store.clone(), eventing::refers_to))
        // A NATS CR of the namespace is the NATS backend (it comes, goes or changes state), and one
        // that goes (or comes) may unblock (or block) the module's removal.
        .watches_shared_stream(nats_crs.subscribe(), neighbours(eventing_store.clone(), true))
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile::<Eventing>, error_policy::<Eventing>, ctx.clone())
        .for_each(log_result);

    crate::metrics::set_kyma_status_refused(standalone_refused);
    if standalone_refused {
        tracing::error!(
            "standalone mode, but lifecycle-manager's Manifest CRD ({}) is served: lifecycle-manager owns the Kyma status here, so this manager does not write it; run with --kyma-mode managed",
            crds::MANIFEST_CRD
        );
    }
    let kyma_controller = match kyma_mode {
        KymaMode::Standalone if standalone_refused => future::ready(()).boxed(),
        KymaMode::Managed => future::ready(()).boxed(),
        KymaMode::Standalone => {
            // An Eventing CR re-triggers the Kyma CR named in its label.
            let to_kyma = |eventing: Arc<DeserializeGuard<Eventing>>| {
                let namespace = eventing.namespace().unwrap_or_default();
                eventing
                    .labels()
                    .get(kyma::KYMA_LABEL)
                    .map(|name| ObjectRef::<DeserializeGuard<Kyma>>::new(name).within(&namespace))
            };
            let watch = shared!(DeserializeGuard<Kyma>, watcher::Config::default());
            let kymas = watch.store.clone();
            Controller::for_shared_stream(watch.subscribe(), kymas.clone())
                .watches_shared_stream(eventings.subscribe(), to_kyma)
                .graceful_shutdown_on(shutdown)
                .run(
                    move |object, ctx| kyma::reconcile(object, ctx, kymas.clone(), eventing_store.clone()),
                    kyma::error_policy,
                    ctx,
                )
                .for_each(log_result)
                .boxed()
        }
    };

    tracing::info!(kyma_mode = ?kyma_mode, "controllers started");
    // The reflector drivers run until the controllers have shut down.
    let drivers = future::join_all(drivers);
    tokio::select! {
        _ = future::join3(nats_controller, eventing_controller, kyma_controller) => {},
        _ = drivers => {},
    }
    tracing::info!("controllers stopped");
    Ok(())
}
