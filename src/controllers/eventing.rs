//! The Eventing controller: an `Eventing` CR is one release of the whole module chart; the backend
//! type switches the nats subchart on or off, and the publisher follows the backend.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, Resource, ResourceExt};
use serde_json::{Value, json};

use super::conditions::Decided;
use super::credentials;
use super::nats::{ADMIN_PASSWORD_KEY, CREDENTIALS_ANNOTATION, NatsNames};
use super::pipeline::{Assessment, Module, Prepared};
use super::snapshot::{Snapshot, Workloads};
use super::{Context, ReconcileError};
use crate::api::Nats;
use crate::api::State;
use crate::api::eventing::{ActiveBackend, Eventing, EventingSpec, EventingStatus, LogLevel, StreamStorageType};
use crate::api::validate::{self, FieldError};
use crate::apply::{Owner, Rollout};
use crate::chart::{CompiledChart, Manifest, Release, helpers_fullname};

pub const FINALIZER: &str = "eventing-manager.kyma-project.io/deletion-hook";

/// A Secret annotation that lets Eventing CRs of other namespaces use it as their EventMesh
/// Secret: a comma-separated list of namespaces, or `*` for every namespace.
pub const ALLOWED_NAMESPACES_ANNOTATION: &str = "eventing-manager.kyma-project.io/allowed-namespaces";
/// What an Eventing CR without a backend says (upstream: "Backend config is not provided").
const NO_BACKEND: &str = "spec.backend is not set: nothing is provisioned; set spec.backend.type to NATS or EventMesh";
/// The number of servers of the module's own NATS cluster (the nats subchart's `cluster.size`).
const MODULE_NATS_SERVERS: i32 = 3;
/// The JetStream store size of each of the module's own servers (the nats subchart's sizes).
const MODULE_NATS_STORE: &str = "1Gi";

/// Every name of an Eventing release the controller needs, made in one place and handed to the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventingNames {
    pub nats: NatsNames,
    /// The publisher's Deployment.
    pub publisher: String,
    /// The copy of the EventMesh Secret in the release namespace that the publisher reads.
    pub event_mesh_copy: String,
}

impl EventingNames {
    pub fn of(release: &str) -> Self {
        Self {
            nats: NatsNames::of(release),
            publisher: format!("{}-proxy", helpers_fullname(release, "publisher")),
            event_mesh_copy: format!("{release}-eventmesh-credentials"),
        }
    }

    /// The chart values that carry these names.
    pub fn values(&self, namespace: &str) -> Value {
        json!({
            "nats": self.nats.values(),
            "publisher": {"proxyName": self.publisher, "nats": {"url": self.nats.client_url(namespace)}},
        })
    }
}

/// The copy of the EventMesh Secret in the release namespace that the publisher reads.
pub fn event_mesh_copy(release: &str) -> String {
    EventingNames::of(release).event_mesh_copy
}

/// Whether a Secret's annotation lets CRs of `namespace` use it.
pub fn shared_with(annotations: &std::collections::BTreeMap<String, String>, namespace: &str) -> bool {
    annotations
        .get(ALLOWED_NAMESPACES_ANNOTATION)
        .is_some_and(|list| list.split(',').map(str::trim).any(|n| n == "*" || n == namespace))
}

/// `namespace/name` of the EventMesh Secret, when the backend is EventMesh.
pub fn event_mesh_secret(spec: &EventingSpec) -> Option<(String, String)> {
    if spec.active_backend() != Some(ActiveBackend::EventMesh) {
        return None;
    }
    let reference = spec.backend_config().event_mesh_secret.as_deref()?;
    let (namespace, name) = reference.split_once('/')?;
    Some((namespace.to_owned(), name.to_owned()))
}

/// The chart values an Eventing spec sets (a pure function; the README's table documents it).
pub fn overrides(release: &str, spec: &EventingSpec) -> Value {
    let backend = spec.active_backend();
    let config = spec.backend_config();
    let mut values = json!({
        "global": {"labels": spec.labels, "annotations": spec.annotations},
        "nats": {"enabled": backend == Some(ActiveBackend::Nats)},
        "publisher": {
            // No backend: nothing is rendered (as upstream, which creates nothing without one).
            "enabled": backend.is_some(),
            "backend": match backend { Some(ActiveBackend::EventMesh) => "EventMesh", _ => "NATS" },
            "replicas": {"min": spec.publisher.replicas.min, "max": spec.publisher.replicas.max},
            "logLevel": match spec.logging.log_level { LogLevel::Debug => "Debug", LogLevel::Info => "Info", LogLevel::Warn => "Warn", LogLevel::Error => "Error" },
            "eventTypePrefix": config.event_type_prefix,
            "nats": {
                "streamStorageType": match config.nats_stream_storage_type { StreamStorageType::File => "File", StreamStorageType::Memory => "Memory" },
                "streamReplicas": config.nats_stream_replicas,
                "streamMaxSize": config.nats_stream_max_size,
                "maxMsgsPerTopic": config.nats_max_msgs_per_topic,
            },
            "eventMesh": {"secretName": if backend == Some(ActiveBackend::EventMesh) { event_mesh_copy(release) } else { String::new() }},
        },
    });
    if let Some(resources) = &spec.publisher.resources {
        values["publisher"]["resources"] = json!(resources);
    }
    values
}

impl Module for Eventing {
    const CONTROLLER: &'static str = "eventing";
    const FINALIZER: &'static str = FINALIZER;
    const UPSTREAM_FINALIZER: Option<&'static str> = Some("eventing.operator.kyma-project.io/finalizer");
    const READINESS_CONDITIONS: &'static [&'static str] = &["BackendAvailable", "PublisherProxyReady"];
    const SUBJECT: &'static str = "module";
    const NAME_FIELD: &'static str = "metadata.name (or the manager's --release-name)";

    fn chart(ctx: &Context) -> &CompiledChart {
        &ctx.module_chart
    }

    fn kinds(ctx: &Context) -> &[(String, String)] {
        &ctx.module_kinds
    }

    fn install_namespace(ctx: &Context) -> Option<&str> {
        ctx.config.eventing_install_namespace.as_deref()
    }

    fn validate(&self) -> Result<(), FieldError> {
        validate::eventing(&self.spec)
    }

    async fn prepare(&self, ctx: &Context, owner: &Owner) -> Result<Prepared, ReconcileError> {
        if let Some(first) = earlier_in_namespace(self, ctx) {
            return Err(ReconcileError::Duplicate(format!(
                "the Eventing CR {first} already provisions the module in this namespace; only one Eventing CR per namespace is allowed: delete this one"
            )));
        }
        let name = ctx.config.eventing_release_name.clone().unwrap_or_else(|| owner.name.clone());
        let release = Release { name, namespace: owner.install_namespace.clone() };
        let names = EventingNames::of(&release.name);
        let mut overrides = overrides(&release.name, &self.spec);
        crate::chart::merge_values(&mut overrides, &names.values(&release.namespace));
        let mut prepared = Prepared {
            overrides,
            release,
            warnings: Vec::new(),
            extra: Vec::new(),
            keep: Vec::new(),
            workloads: Workloads { statefulset: None, deployment: None },
        };
        // No backend: nothing is rendered, and `assess` says why.
        let Some(backend) = self.spec.active_backend() else { return Ok(prepared) };
        prepared.workloads.deployment = Some(names.publisher.clone());
        match backend {
            ActiveBackend::Nats => {
                let cluster = match cluster_in_namespace(self, ctx) {
                    // Kyma's two-module layout: the namespace's NATS CR is the backend; nothing of
                    // NATS is rendered here (and what was is pruned: its claims stay, and a NATS CR
                    // of the same name finds them).
                    Some(nats) => {
                        let namespace = nats.namespace().unwrap_or_default();
                        let url = NatsNames::of(&nats.name_any()).client_url(&namespace);
                        prepared.overrides["nats"]["enabled"] = json!(false);
                        prepared.overrides["publisher"]["nats"]["url"] = json!(url);
                        let state = nats.status.as_ref().and_then(|s| s.state);
                        if !matches!(state, Some(State::Ready | State::Warning)) {
                            prepared.warnings.push(format!(
                                "the NATS CR {namespace}/{} that this module uses is not available (state {}): the publisher waits for it",
                                nats.name_any(),
                                state.map_or_else(|| "unknown".to_owned(), |s| s.to_string())
                            ));
                        }
                        Cluster::Cr(Box::new(nats))
                    }
                    None => {
                        let secret = names.nats.secret.clone();
                        let credentials =
                            credentials::ensure(ctx, owner, &secret, ADMIN_PASSWORD_KEY, "eventing-nats-admin").await?;
                        prepared.overrides["nats"]["podAnnotations"] = json!({CREDENTIALS_ANNOTATION: credentials.uid});
                        prepared.extra.extend(credentials.adopt);
                        prepared.keep.push(("Secret".into(), secret));
                        prepared.workloads.statefulset = Some(names.nats.fullname.clone());
                        Cluster::Own
                    }
                };
                prepared.warnings.extend(stream_fits(&self.spec, &cluster));
            }
            ActiveBackend::EventMesh => {
                let Some((namespace, name)) = event_mesh_secret(&self.spec) else {
                    return Err(ReconcileError::InvalidSpec(FieldError::new(
                        "spec.backend.config.eventMeshSecret",
                        "is required for the EventMesh backend",
                    )));
                };
                match event_mesh_source(ctx, owner, &namespace, &name).await? {
                    Err(warning) => prepared.warnings.push(warning),
                    Ok(source) => prepared.extra.push(Manifest {
                        source: format!("copy of Secret {namespace}/{name}"),
                        object: json!({
                            "apiVersion": "v1",
                            "kind": "Secret",
                            "metadata": {
                                "name": names.event_mesh_copy,
                                "namespace": prepared.release.namespace,
                            },
                            "type": source.type_.unwrap_or_else(|| "Opaque".into()),
                            "data": source.data.unwrap_or_default(),
                        }),
                    }),
                }
            }
        }
        Ok(prepared)
    }

    async fn after_apply(&self, _: &Context, _: &Owner, _: &Prepared) -> Result<Vec<String>, ReconcileError> {
        Ok(Vec::new())
    }

    async fn assess(
        &self,
        _: &Context,
        prepared: &Prepared,
        snapshot: &Snapshot,
        warnings: &[String],
    ) -> Result<Assessment, ReconcileError> {
        if self.spec.active_backend().is_none() {
            return Ok(Assessment {
                state: State::Warning,
                conditions: vec![
                    Decided::new("BackendAvailable", false, "BackendNotSpecified", NO_BACKEND),
                    Decided::new("PublisherProxyReady", false, "BackendNotSpecified", "no publisher without a backend"),
                    Decided::new("Deleted", false, "Provisioned", "nothing is provisioned without a backend"),
                ],
                fields: serde_json::Map::new(),
            });
        }
        let publisher = snapshot.deployment_rollout();
        let backend = snapshot.statefulset_rollout();
        let backend_condition = match (&backend, warnings.is_empty()) {
            (Rollout::InProgress(message), _) => {
                Decided::new("BackendAvailable", false, "RollingOut", format!("NATS is rolling out: {message}"))
            }
            (Rollout::Complete, false) => {
                Decided::new("BackendAvailable", false, "DependencyMissing", warnings.join("; "))
            }
            (Rollout::Complete, true) => Decided::new(
                "BackendAvailable",
                true,
                "Available",
                format!("the {} backend is available", backend_label(&self.spec)),
            ),
        };
        let publisher_condition = match &publisher {
            Rollout::InProgress(message) => Decided::new("PublisherProxyReady", false, "RollingOut", message.clone()),
            Rollout::Complete => {
                Decided::new("PublisherProxyReady", true, "Ready", "the publisher proxy is rolled out")
            }
        };
        let state = if !warnings.is_empty() {
            State::Warning
        } else if backend != Rollout::Complete || publisher != Rollout::Complete {
            State::Processing
        } else {
            State::Ready
        };
        let service = format!("{}.{}", EventingNames::of(&prepared.release.name).publisher, prepared.release.namespace);
        Ok(Assessment {
            state,
            fields: serde_json::Map::from_iter([("publisherService".to_owned(), json!(service))]),
            conditions: vec![
                backend_condition,
                publisher_condition,
                Decided::new("Deleted", false, "Provisioned", "the module is provisioned"),
            ],
        })
    }

    async fn cleanup(&self, _: &Context, _: &Owner) -> Result<(), ReconcileError> {
        // JetStream volume claims are kept (Retain): a re-enabled module finds its streams again.
        Ok(())
    }

    fn removal_blocked(&self, ctx: &Context) -> Option<String> {
        if ctx.config.kyma_mode != super::KymaMode::Managed {
            return None;
        }
        let eventings = ctx.crs.eventings.state();
        let nats: Vec<String> = ctx
            .crs
            .nats
            .state()
            .iter()
            .filter(|n| n.labels().get(crate::apply::MANAGED_BY_LABEL) != Some(&ctx.config.manager_name))
            .map(|n| format!("{}/{}", n.namespace().unwrap_or_default(), n.name_any()))
            .collect();
        removal_blockers(eventings.iter().all(|e| e.meta().deletion_timestamp.is_some()), &nats)
    }

    fn current_conditions(&self) -> Vec<Condition> {
        self.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default()
    }

    fn current_status(&self) -> Value {
        self.status.as_ref().map(|s| json!(s)).unwrap_or(Value::Null)
    }

    fn status(&self, state: State, conditions: Vec<Condition>, observed: Option<(&Snapshot, &Assessment)>) -> Value {
        let publisher_service = match observed {
            Some((_, assessed)) => assessed.fields.get("publisherService").and_then(Value::as_str).map(str::to_owned),
            None => self.status.as_ref().and_then(|s| s.publisher_service.clone()),
        };
        json!(EventingStatus {
            state: Some(state),
            active_backend: self.spec.active_backend(),
            conditions,
            observed_generation: self.metadata.generation,
            publisher_service,
        })
    }
}

fn backend_label(spec: &EventingSpec) -> &'static str {
    match spec.active_backend() {
        Some(ActiveBackend::Nats) => "NATS",
        Some(ActiveBackend::EventMesh) => "EventMesh",
        None => "no",
    }
}

/// The NATS cluster the NATS backend uses.
enum Cluster {
    /// The module's own (the nats subchart with its defaults).
    Own,
    /// The NATS CR of the Eventing CR's namespace.
    Cr(Box<Nats>),
}

impl Cluster {
    fn servers(&self) -> i32 {
        match self {
            Cluster::Own => MODULE_NATS_SERVERS,
            Cluster::Cr(nats) => nats.spec.cluster.size,
        }
    }

    /// Why the publisher, which connects without credentials, is refused, if it is.
    fn refuses_publisher(&self) -> Option<String> {
        let Cluster::Cr(nats) = self else { return None };
        (!nats.spec.accounts.is_empty() && nats.spec.default_account.is_none()).then(|| {
            format!(
                "spec.defaultAccount of the NATS CR {}/{} is unset while it has spec.accounts: the publisher connects without credentials and is refused; set spec.defaultAccount",
                nats.namespace().unwrap_or_default(),
                nats.name_any()
            )
        })
    }

    /// The JetStream store of each server for `kind` (None: that store is off), and the field that sets it.
    fn store(&self, kind: StreamStorageType) -> (Option<String>, String) {
        let Cluster::Cr(nats) = self else {
            return (Some(MODULE_NATS_STORE.to_owned()), "the module's own NATS cluster".to_owned());
        };
        let name = format!("{}/{}", nats.namespace().unwrap_or_default(), nats.name_any());
        let jet_stream = &nats.spec.jet_stream;
        if !jet_stream.enabled {
            return (None, format!("spec.jetStream.enabled of the NATS CR {name}: JetStream is off"));
        }
        let default_account = nats.spec.default_account.as_deref();
        if let Some(a) = nats.spec.accounts.iter().position(|a| Some(a.name.as_str()) == default_account)
            && !nats.spec.accounts[a].jet_stream
        {
            return (
                None,
                format!("spec.accounts[{a}].jetStream of the NATS CR {name}: the default account has no JetStream"),
            );
        }
        match kind {
            StreamStorageType::File => (
                jet_stream.file_storage.enabled.then(|| jet_stream.file_storage.size.clone()),
                format!("spec.jetStream.fileStorage.size of the NATS CR {name}"),
            ),
            StreamStorageType::Memory => (
                jet_stream.mem_storage.enabled.then(|| jet_stream.mem_storage.size.clone()),
                format!("spec.jetStream.memStorage.size of the NATS CR {name}"),
            ),
        }
    }
}

/// The NATS CR in the Eventing CR's namespace that the NATS backend uses (the oldest, as upstream
/// takes the first), if any. One being deleted is not used: the module provisions its own.
fn cluster_in_namespace(eventing: &Eventing, ctx: &Context) -> Option<Nats> {
    let namespace = eventing.namespace();
    ctx.crs
        .nats
        .state()
        .iter()
        .filter_map(|guard| guard.0.as_ref().ok())
        .filter(|nats| nats.namespace() == namespace && nats.meta().deletion_timestamp.is_none())
        .min_by_key(|nats| super::seniority::rank(nats.meta()))
        .cloned()
}

/// Warnings when the stream cannot work on `cluster`: more replicas than servers, or a maximum size
/// that does not fit its JetStream store with headroom (a full store refuses every publish).
fn stream_fits(spec: &EventingSpec, cluster: &Cluster) -> Vec<String> {
    let config = spec.backend_config();
    let mut warnings: Vec<String> = cluster.refuses_publisher().into_iter().collect();
    let servers = cluster.servers();
    if config.nats_stream_replicas > servers {
        warnings.push(format!(
            "spec.backend.config.natsStreamReplicas is {}, but the NATS cluster has {servers} servers: the stream cannot be created; use at most {servers}",
            config.nats_stream_replicas
        ));
    }
    let (store, field) = cluster.store(config.nats_stream_storage_type);
    let store_bytes = store.as_deref().and_then(crate::chart::quantity_bytes).unwrap_or(0);
    let limit = store_bytes / 10 * 9;
    let wanted = config.nats_stream_max_size.as_str();
    let fits = match crate::chart::quantity_bytes(wanted) {
        Some(bytes) => bytes <= limit,
        None => false, // -1: unlimited
    };
    if !fits {
        let store = store.map_or_else(|| "off".to_owned(), |s| format!("{s} per server"));
        warnings.push(format!(
            "spec.backend.config.natsStreamMaxSize is {wanted}, but the JetStream store it goes to ({field}) is {store}: the stream can fill it and publishing then fails; use at most {} (90% of the store) or enlarge the store",
            if limit > 0 { limit.to_string() } else { "a store that is on".to_owned() }
        ));
    }
    warnings
}

/// The Eventing CR of the same namespace that came first (older, or as old with a smaller name),
/// if any: it is the one that provisions the module there.
fn earlier_in_namespace(eventing: &Eventing, ctx: &Context) -> Option<String> {
    let eventings = ctx.crs.eventings.state();
    let alive = eventings.iter().map(|e| e.meta()).filter(|meta| meta.deletion_timestamp.is_none());
    super::seniority::earlier(&eventing.metadata, alive).map(|first| {
        format!("{}/{}", first.namespace.as_deref().unwrap_or_default(), first.name.as_deref().unwrap_or_default())
    })
}

/// The EventMesh Secret to copy, or the Warning (naming the field) why it cannot be used. A
/// Secret of another namespace is read only when its annotation shares it with the CR's namespace;
/// until then only its metadata is looked at.
async fn event_mesh_source(
    ctx: &Context,
    owner: &Owner,
    namespace: &str,
    name: &str,
) -> Result<Result<Secret, String>, ReconcileError> {
    const FIELD: &str = "spec.backend.config.eventMeshSecret";
    let api = Api::<Secret>::namespaced(ctx.client.clone(), namespace);
    let prepare = |source| ReconcileError::Prepare { object: format!("Secret {namespace}/{name}"), source };
    if namespace != owner.namespace {
        let Some(meta) = api.get_metadata_opt(name).await.map_err(prepare)? else {
            return Ok(Err(format!("{FIELD}: the Secret {namespace}/{name} does not exist")));
        };
        if !shared_with(meta.annotations(), &owner.namespace) {
            return Ok(Err(format!(
                "{FIELD}: the Secret {namespace}/{name} is in another namespace and does not share itself with {}: annotate it {ALLOWED_NAMESPACES_ANNOTATION}={}, or use a Secret in {}",
                owner.namespace, owner.namespace, owner.namespace
            )));
        }
    }
    let Some(secret) = api.get_opt(name).await.map_err(prepare)? else {
        return Ok(Err(format!("{FIELD}: the Secret {namespace}/{name} does not exist")));
    };
    if secret.data.as_ref().is_none_or(|d| d.is_empty()) {
        return Ok(Err(format!(
            "{FIELD}: the Secret {namespace}/{name} has no keys; the publisher needs the EventMesh credentials in it"
        )));
    }
    Ok(Ok(secret))
}

/// Why the module's removal must wait (managed mode): when every Eventing CR is being deleted the
/// module is being removed, and lifecycle-manager deletes the NATS CRD next; NATS CRs the module did
/// not create would go with it, or hang it once no manager runs. The message names at most five.
pub fn removal_blockers(module_removed: bool, nats: &[String]) -> Option<String> {
    if !module_removed || nats.is_empty() {
        return None;
    }
    let shown: Vec<&str> = nats.iter().take(5).map(String::as_str).collect();
    let more = if nats.len() > shown.len() { format!(" and {} more", nats.len() - shown.len()) } else { String::new() };
    Some(format!(
        "the eventing module is deprovisioned, but its removal waits for the NATS CRs {}{more}: removing the module would delete the NATS CRD and with it these clusters; delete them to finish, or keep the module",
        shown.join(", ")
    ))
}

/// Eventing CRs in `namespace` whose EventMesh Secret is `namespace/name` (for the Secret watch).
pub fn refers_to(eventing: &Eventing, namespace: &str, name: &str) -> bool {
    event_mesh_secret(&eventing.spec).is_some_and(|(ns, n)| ns == namespace && n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(value: Value) -> EventingSpec {
        serde_json::from_value(value).expect("valid spec")
    }

    #[test]
    fn the_backend_switches_nats_and_the_publisher() {
        let nats = overrides("eventing", &spec(json!({"backend": {"type": "nats"}})));
        assert_eq!(nats["nats"]["enabled"], true);
        assert_eq!(nats["publisher"]["backend"], "NATS");
        assert_eq!(nats["publisher"]["eventMesh"]["secretName"], "");
        let mesh = overrides(
            "eventing",
            &spec(json!({"backend": {"type": "eventmesh", "config": {"eventMeshSecret": "kyma-system/em"}}})),
        );
        assert_eq!(mesh["nats"]["enabled"], false);
        assert_eq!(mesh["publisher"]["backend"], "EventMesh");
        assert_eq!(mesh["publisher"]["eventMesh"]["secretName"], "eventing-eventmesh-credentials");
    }

    #[test]
    fn overrides_map_every_spec_field() {
        let values = overrides(
            "ev",
            &spec(json!({
                "backend": {"config": {"natsStreamStorageType": "Memory", "natsStreamReplicas": 1, "natsStreamMaxSize": "1Gi", "natsMaxMsgsPerTopic": 10, "eventTypePrefix": "acme"}},
                "publisher": {"replicas": {"min": 1, "max": 4}, "resources": {"limits": {"cpu": "1"}}},
                "logging": {"logLevel": "Debug"},
                "labels": {"team": "a"},
                "annotations": {"note": "b"}
            })),
        );
        assert_eq!(
            values["publisher"]["nats"],
            json!({"streamStorageType": "Memory", "streamReplicas": 1, "streamMaxSize": "1Gi", "maxMsgsPerTopic": 10})
        );
        assert_eq!(values["publisher"]["replicas"], json!({"min": 1, "max": 4}));
        assert_eq!(values["publisher"]["resources"]["limits"]["cpu"], "1");
        assert_eq!(
            (values["publisher"]["logLevel"].as_str(), values["publisher"]["eventTypePrefix"].as_str()),
            (Some("Debug"), Some("acme"))
        );
        assert_eq!(values["global"], json!({"labels": {"team": "a"}, "annotations": {"note": "b"}}));
    }

    #[test]
    fn removal_waits_for_nats_crs_only_when_the_module_goes() {
        let nats: Vec<String> = (1..=7).map(|i| format!("ns/nats-{i}")).collect();
        assert_eq!(removal_blockers(false, &nats), None, "another Eventing CR stays: the module stays");
        assert_eq!(removal_blockers(true, &[]), None);
        let message = removal_blockers(true, &nats).expect("blocked");
        assert!(message.contains("ns/nats-1, ns/nats-2, ns/nats-3, ns/nats-4, ns/nats-5 and 2 more"), "{message}");
        assert!(!message.contains("nats-6"), "{message}");
    }

    #[test]
    fn both_backends_render() {
        let chart = crate::chart::bundled().expect("chart").compile().expect("compiles");
        let release = Release { name: "eventing".into(), namespace: "kyma-system".into() };
        let nats_spec = spec(json!({"backend": {"type": "NATS"}}));
        let nats = chart.render(&overrides("eventing", &nats_spec), &release, &[]).expect("NATS renders");
        assert!(nats.iter().any(|m| m.kind() == "StatefulSet"));
        let mesh_spec =
            spec(json!({"backend": {"type": "EventMesh", "config": {"eventMeshSecret": "kyma-system/em"}}}));
        let mesh = chart.render(&overrides("eventing", &mesh_spec), &release, &[]).expect("EventMesh renders");
        assert!(!mesh.iter().any(|m| m.kind() == "StatefulSet"));
        assert_eq!(event_mesh_secret(&mesh_spec), Some(("kyma-system".into(), "em".into())));
        let names = EventingNames::of("eventing");
        assert_eq!(names.publisher, "eventing-publisher-proxy");
        assert_eq!(names.nats.secret, "eventing-nats-secret");
        let none = chart.render(&overrides("eventing", &spec(json!({}))), &release, &[]).expect("no backend renders");
        assert!(
            none.is_empty(),
            "no backend, nothing rendered: {:?}",
            none.iter().map(|m| m.kind()).collect::<Vec<_>>()
        );
        let mut values = overrides("eventing", &nats_spec);
        crate::chart::merge_values(&mut values, &names.values("kyma-system"));
        let rendered = chart.render(&values, &release, &[]).expect("renders with the names");
        for (kind, name) in [("Deployment", &names.publisher), ("StatefulSet", &names.nats.fullname)] {
            assert!(rendered.iter().any(|m| m.kind() == kind && m.name() == name), "{kind} {name}");
        }
    }

    #[test]
    fn a_nats_cr_with_accounts_warns_when_the_publisher_cannot_publish() {
        let eventing = spec(json!({"backend": {"type": "NATS", "config": {"natsStreamMaxSize": "100Mi"}}}));
        let nats = |spec: Value| {
            let mut nats = Nats::new("primary", serde_json::from_value(spec).expect("NATS spec"));
            nats.metadata.namespace = Some("ns".into());
            Cluster::Cr(Box::new(nats))
        };
        let user = json!({"user": "orders", "password": {"name": "s", "key": "k"}});
        assert_eq!(stream_fits(&eventing, &nats(json!({}))), Vec::<String>::new(), "no accounts: $G");
        let refused = stream_fits(&eventing, &nats(json!({"accounts": [{"name": "APP", "users": [user]}]})));
        assert!(
            refused.len() == 1 && refused[0].contains("spec.defaultAccount of the NATS CR ns/primary"),
            "{refused:?}"
        );
        let with_default = nats(json!({"accounts": [{"name": "APP", "users": [user]}], "defaultAccount": "APP"}));
        assert_eq!(stream_fits(&eventing, &with_default), Vec::<String>::new());
        let no_js = nats(json!({"accounts": [{"name": "APP", "jetStream": false}], "defaultAccount": "APP"}));
        let warnings = stream_fits(&eventing, &no_js);
        assert!(
            warnings.len() == 1 && warnings[0].contains("spec.accounts[0].jetStream of the NATS CR ns/primary"),
            "{warnings:?}"
        );
    }
}
