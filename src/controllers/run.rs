//! Wiring: reflectors for every kind we render (shared by the controllers), the controllers on
//! kube's runtime, and a graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use futures::{FutureExt, StreamExt, future};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, Resource, ResourceExt};

use super::context::OPTIONAL_APIS;
use super::pipeline::{error_policy, reconcile};
use super::shared::SharedWatch;
use super::{Config, Context, KymaMode, eventing, kyma, nats};
use crate::api::{Eventing, Kyma, Nats};
use crate::apply::{Applier, LiveObjects, MANAGED_BY_LABEL, owner_from_labels};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "the CRD {0} is not installed or not established: install config/crd (`eventing-manager crd | kubectl apply -f -`)"
    )]
    MissingCrd(String),
    #[error("checking the CRDs: {0}")]
    Kube(#[from] kube::Error),
    #[error("loading the bundled chart: {0}")]
    Chart(#[from] crate::chart::ChartError),
}

async fn check_crds(client: &Client) -> Result<(), RunError> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crate::api::crds() {
        let name = crd.name_any();
        let established = crds
            .get_opt(&name)
            .await?
            .and_then(|c| c.status)
            .and_then(|s| s.conditions)
            .is_some_and(|conditions| conditions.iter().any(|c| c.type_ == "Established" && c.status == "True"));
        if !established {
            return Err(RunError::MissingCrd(name));
        }
    }
    Ok(())
}

/// The CR that an object's inventory labels name, if it is of kind `K`. Labels, not owner
/// references: a release may live in another namespace than its CR, where references cannot point.
fn owner_of<K: Resource<DynamicType = ()>, Child: ResourceExt>(child: Arc<Child>) -> Option<ObjectRef<K>> {
    let (kind, namespace, name) = owner_from_labels(child.labels())?;
    (kind == K::kind(&())).then(|| ObjectRef::new(name).within(namespace))
}

fn log_result<T, E: std::fmt::Display>(result: Result<T, E>) -> future::Ready<()> {
    if let Err(error) = result {
        tracing::debug!("controller: {error}");
    }
    future::ready(())
}

/// Runs the controllers until `shutdown` completes, then lets running reconciles finish.
pub async fn run(
    client: Client,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> Result<(), RunError> {
    check_crds(&client).await?;
    let ours = watcher::Config::default().labels(&format!("{MANAGED_BY_LABEL}={}", config.manager_name));
    let mut drivers = Vec::new();
    macro_rules! shared {
        ($kind:ty, $config:expr) => {{
            let (watch, driver) = SharedWatch::start(Api::<$kind>::all(client.clone()), $config);
            drivers.push(driver.boxed());
            watch
        }};
    }
    macro_rules! owned {
        ($kind:ty) => {{
            let watch = shared!($kind, ours.clone());
            (watch.store.clone(), watch)
        }};
    }
    let (statefulsets, statefulset_events) = owned!(StatefulSet);
    let (deployments, deployment_events) = owned!(Deployment);
    let (config_maps, config_map_events) = owned!(ConfigMap);
    let (services, service_events) = owned!(Service);
    let (service_accounts, service_account_events) = owned!(ServiceAccount);
    let (secrets, secret_events) = owned!(Secret);
    let (disruption_budgets, disruption_budget_events) = owned!(PodDisruptionBudget);
    let (autoscalers, autoscaler_events) = owned!(HorizontalPodAutoscaler);
    let optional_names = OPTIONAL_APIS.iter().map(|(_, crd)| format!("metadata.name={crd}")).collect::<Vec<_>>();
    let optional_crd_events = shared!(
        CustomResourceDefinition,
        watcher::Config::default().fields(optional_names.first().map(String::as_str).unwrap_or_default())
    );
    let optional_crds = optional_crd_events.store.clone();
    // Metadata of every Secret: a user's Secret that a CR refers to comes and goes.
    // (`Api<PartialObjectMeta<_>>` watches metadata only.)
    let user_secrets = shared!(PartialObjectMeta<Secret>, watcher::Config::default());
    let eventing_watch = shared!(Eventing, watcher::Config::default());

    let readiness = config.readiness.clone();
    let synced = {
        let (a, b, c, d) = (statefulsets.clone(), config_maps.clone(), secrets.clone(), services.clone());
        async move {
            let _ =
                tokio::join!(a.wait_until_ready(), b.wait_until_ready(), c.wait_until_ready(), d.wait_until_ready());
            readiness.set_ready();
            tracing::info!("caches synced");
        }
    };
    drivers.push(synced.boxed());
    let live = LiveObjects {
        statefulsets: Some(statefulsets),
        deployments: Some(deployments),
        config_maps: Some(config_maps),
        services: Some(services),
        service_accounts: Some(service_accounts),
        secrets: Some(secrets),
        disruption_budgets: Some(disruption_budgets),
        autoscalers: Some(autoscalers),
    };
    let kyma_mode = config.kyma_mode;
    let ctx = Arc::new(Context::new(
        client.clone(),
        Applier::new(client.clone(), live, &config.manager_name),
        config,
        optional_crds,
    )?);

    let controller = Controller::new(Api::<Nats>::all(client.clone()), watcher::Config::default());
    let nats_store = controller.store();
    let all_nats = {
        let store = nats_store.clone();
        move |_: Arc<CustomResourceDefinition>| {
            store.state().iter().map(|n| ObjectRef::from_obj(n.as_ref())).collect::<Vec<_>>()
        }
    };
    // A user's Secret that a NATS CR refers to (leaf node credentials) re-triggers that CR when it comes or goes.
    let referring = {
        let store = nats_store.clone();
        move |secret: Arc<PartialObjectMeta<Secret>>| {
            let namespace = secret.namespace();
            let name = secret.name_any();
            store
                .state()
                .iter()
                .filter(|n| n.namespace() == namespace && nats::referenced_secrets(&n.spec).contains(&name))
                .map(|n| ObjectRef::from_obj(n.as_ref()))
                .collect::<Vec<_>>()
        }
    };

    let shutdown = shutdown.shared();
    let shutdown_kyma = shutdown.clone();
    let kyma_ctx = ctx.clone();
    let nats_controller = controller
        .watches_shared_stream(statefulset_events.subscribe(), owner_of)
        .watches_shared_stream(config_map_events.subscribe(), owner_of)
        .watches_shared_stream(service_events.subscribe(), owner_of)
        .watches_shared_stream(service_account_events.subscribe(), owner_of)
        .watches_shared_stream(secret_events.subscribe(), owner_of)
        .watches_shared_stream(disruption_budget_events.subscribe(), owner_of)
        .watches_shared_stream(optional_crd_events.subscribe(), all_nats)
        .watches_shared_stream(user_secrets.subscribe(), referring)
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile::<Nats>, error_policy::<Nats>, ctx.clone())
        .for_each(log_result);

    let eventing_store = eventing_watch.store.clone();
    let controller = Controller::for_shared_stream(eventing_watch.subscribe(), eventing_store.clone());
    let all_eventings = {
        let store = eventing_store.clone();
        move |_: Arc<CustomResourceDefinition>| {
            store.state().iter().map(|e| ObjectRef::from_obj(e.as_ref())).collect::<Vec<_>>()
        }
    };
    // The EventMesh Secret is a dependency that comes and goes: watched, not polled.
    let event_mesh_secret = {
        let store = eventing_store.clone();
        move |secret: Arc<PartialObjectMeta<Secret>>| {
            let (namespace, name) = (secret.namespace().unwrap_or_default(), secret.name_any());
            store
                .state()
                .iter()
                .filter(|e| eventing::refers_to(e, &namespace, &name))
                .map(|e| ObjectRef::from_obj(e.as_ref()))
                .collect::<Vec<_>>()
        }
    };
    let eventing_controller = controller
        .watches_shared_stream(statefulset_events.subscribe(), owner_of)
        .watches_shared_stream(deployment_events.subscribe(), owner_of)
        .watches_shared_stream(config_map_events.subscribe(), owner_of)
        .watches_shared_stream(service_events.subscribe(), owner_of)
        .watches_shared_stream(service_account_events.subscribe(), owner_of)
        .watches_shared_stream(secret_events.subscribe(), owner_of)
        .watches_shared_stream(disruption_budget_events.subscribe(), owner_of)
        .watches_shared_stream(autoscaler_events.subscribe(), owner_of)
        .watches_shared_stream(optional_crd_events.subscribe(), all_eventings)
        .watches_shared_stream(user_secrets.subscribe(), event_mesh_secret)
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<Eventing>, error_policy::<Eventing>, ctx)
        .for_each(log_result);

    let kyma_controller = match kyma_mode {
        KymaMode::Managed => future::ready(()).boxed(),
        KymaMode::Standalone => {
            // An Eventing CR re-triggers the Kyma CR named in its label.
            let to_kyma = |eventing: Arc<Eventing>| {
                let namespace = eventing.namespace().unwrap_or_default();
                eventing.labels().get(kyma::KYMA_LABEL).map(|name| ObjectRef::<Kyma>::new(name).within(&namespace))
            };
            let eventings = eventing_store.clone();
            Controller::new(Api::<Kyma>::all(client.clone()), watcher::Config::default())
                .watches_shared_stream(eventing_watch.subscribe(), to_kyma)
                .graceful_shutdown_on(shutdown_kyma)
                .run(move |object, ctx| kyma::reconcile(object, ctx, eventings.clone()), kyma::error_policy, kyma_ctx)
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
