//! What every reconcile shares: the client, the applier with its caches, the compiled charts and
//! the manager's configuration.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::core::DeserializeGuard;
use kube::runtime::reflector::Store;

use super::backoff::Backoffs;
use super::children::Children;
use crate::apply::Applier;
use crate::chart::{self, ChartError, CompiledChart};

/// The manager's settings (from flags and environment).
#[derive(Debug, Clone)]
pub struct Config {
    /// Namespace the manager runs in; holds the key its generated credentials derive from.
    pub manager_namespace: String,
    /// Requeue after a successful reconcile: the safety net for missed events.
    pub resync: Duration,
    /// Set when the caches are synced (`/readyz`).
    pub readiness: crate::health::Readiness,
    /// Standalone: the manager runs the Kyma controller; managed: lifecycle-manager does that job.
    pub kyma_mode: KymaMode,
    /// The field manager of every apply and the value of the managed-by label on what we create.
    pub manager_name: String,
    /// Where the Eventing module installs; `None`: the Eventing CR's namespace.
    pub eventing_install_namespace: Option<String>,
    /// The release name of the Eventing module's objects; `None`: the Eventing CR's name.
    pub eventing_release_name: Option<String>,
    /// Where each NATS server's monitoring endpoint answers (`{pod}`, `{service}`, `{namespace}`).
    pub nats_monitor_url: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum KymaMode {
    /// No lifecycle-manager: create module CRs from Kyma CRs and report into them.
    Standalone,
    /// lifecycle-manager owns the Kyma CR: leave it alone, only publish the module CR's status.
    #[default]
    Managed,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            manager_namespace: "kyma-system".into(),
            resync: Duration::from_secs(300),
            readiness: Default::default(),
            kyma_mode: KymaMode::default(),
            manager_name: crate::apply::MANAGER_NAME.into(),
            eventing_install_namespace: None,
            eventing_release_name: None,
            nats_monitor_url: super::storage::DEFAULT_MONITOR_URL.into(),
        }
    }
}

/// APIs the charts test with `hasApiVersion`, and the CRD that serves each.
pub const OPTIONAL_APIS: &[(&str, &str)] = &[("networking.istio.io/v1", "destinationrules.networking.istio.io")];

/// The caches of the CRs themselves, for decisions that look beyond one CR (the module's removal,
/// one Eventing CR per namespace). Guarded: a CR that does not deserialize is held as an error.
pub struct CrStores {
    pub nats: Store<DeserializeGuard<crate::api::Nats>>,
    pub eventings: Store<DeserializeGuard<crate::api::Eventing>>,
}

pub struct Context {
    pub client: Client,
    pub applier: Applier,
    pub config: Config,
    pub nats_chart: CompiledChart,
    pub nats_kinds: Vec<(String, String)>,
    pub module_chart: CompiledChart,
    /// The module chart's kinds plus Secret (the copied EventMesh Secret).
    pub module_kinds: Vec<(String, String)>,
    /// The caches of what the charts render (the read model of every reconcile's snapshot).
    pub children: Arc<Children>,
    /// The CRDs of [`OPTIONAL_APIS`], watched so that installing Istio renders DestinationRules.
    pub optional_crds: Vec<Store<CustomResourceDefinition>>,
    pub crs: CrStores,
    /// The key generated passwords derive from (see `credentials`).
    pub(super) master_key: Vec<u8>,
    pub backoffs: Backoffs,
}

impl Context {
    pub fn new(
        client: Client,
        applier: Applier,
        config: Config,
        children: Arc<Children>,
        optional_crds: Vec<Store<CustomResourceDefinition>>,
        crs: CrStores,
        master_key: Vec<u8>,
    ) -> Result<Self, ChartError> {
        let module = chart::bundled()?;
        let nats = module
            .subcharts
            .iter()
            .find(|c| c.name == "nats")
            .cloned()
            .ok_or(ChartError::MissingSubchart { name: "nats".into() })?;
        let nats_kinds = nats.kinds();
        let mut module_kinds = module.kinds();
        module_kinds.push(("v1".into(), "Secret".into()));
        Ok(Self {
            client,
            applier,
            config,
            nats_chart: nats.compile()?,
            nats_kinds,
            module_chart: module.compile()?,
            module_kinds,
            children,
            optional_crds,
            crs,
            master_key,
            backoffs: Backoffs::default(),
        })
    }

    /// `Capabilities.APIVersions` of the optional APIs the cluster serves now.
    pub fn api_versions(&self) -> Vec<String> {
        OPTIONAL_APIS
            .iter()
            .filter(|(api_version, crd)| {
                let (_, version) = api_version.rsplit_once('/').unwrap_or_default();
                self.optional_crds.iter().flat_map(Store::state).any(|c| {
                    c.metadata.name.as_deref() == Some(*crd)
                        && c.metadata.deletion_timestamp.is_none()
                        && c.spec.versions.iter().any(|v| v.name == version && v.served)
                })
            })
            .map(|(api_version, _)| (*api_version).to_owned())
            .collect()
    }
}
