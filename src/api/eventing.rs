//! `Eventing` (`operator.kyma-project.io/v1alpha1`): the Eventing module; the backend type toggles NATS.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::{State, conditions_schema};
use super::validate::cel;

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "operator.kyma-project.io",
    version = "v1alpha1",
    kind = "Eventing",
    plural = "eventings",
    namespaced,
    category = "kyma-modules",
    category = "kyma-eventing",
    status = "EventingStatus",
    shortname = "ev",
    printcolumn = r#"{"name":"Backend","type":"string","jsonPath":".status.activeBackend"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(oldSelf.backend) || has(self.backend)",
    "message": "spec.backend cannot be removed once set (as upstream): change spec.backend.type instead",
    "fieldPath": ".backend"
}]))]
pub struct EventingSpec {
    /// The backend; none (as upstream's default CR): nothing is provisioned and the CR says Warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    #[serde(default)]
    pub publisher: Publisher,
    #[serde(default)]
    pub logging: Logging,
    /// Labels added to every object the module renders.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("additionalProperties" = {"type": "string", "maxLength": 63}, "maxProperties" = 64, "x-kubernetes-validations" = [
        {"rule": cel::KEYS, "message": "spec.labels keys must be qualified names ([prefix/]name, name at most 63 characters)"},
        {"rule": cel::NOT_RESERVED, "message": "spec.labels must not set keys the manager sets (eventing-manager.kyma-project.io/*, app.kubernetes.io/managed-by, name, instance)"},
        {"rule": cel::LABEL_VALUES, "message": "spec.labels values must be at most 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit"}
    ]))]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to every object the module renders.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 64, "x-kubernetes-validations" = [
        {"rule": cel::KEYS, "message": "spec.annotations keys must be qualified names ([prefix/]name, name at most 63 characters)"},
        {"rule": cel::NOT_RESERVED, "message": "spec.annotations must not set keys the manager sets (eventing-manager.kyma-project.io/*, app.kubernetes.io/managed-by, name, instance)"}
    ]))]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!(self.type in ['EventMesh', 'eventmesh']) || (has(self.config) && has(self.config.eventMeshSecret))",
    "message": "spec.backend.config.eventMeshSecret is required when spec.backend.type is EventMesh",
    "fieldPath": ".config"
}]))]
pub struct Backend {
    /// `NATS` provisions a NATS JetStream cluster; `EventMesh` uses SAP Event Mesh and provisions no NATS.
    #[serde(default, rename = "type")]
    pub kind: BackendType,
    #[serde(default)]
    pub config: BackendConfig,
}

/// The backend as written in the spec; [`BackendType::canonical`] folds the lower-case spellings.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum BackendType {
    #[default]
    #[serde(rename = "NATS")]
    Nats,
    EventMesh,
    #[serde(rename = "nats")]
    NatsLower,
    #[serde(rename = "eventmesh")]
    EventMeshLower,
    /// `""`: no backend, as upstream reads an empty type (nothing is provisioned; Warning).
    #[serde(rename = "")]
    Unset,
}

/// The canonical backend, as reported in `status.activeBackend`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ActiveBackend {
    #[serde(rename = "NATS")]
    Nats,
    EventMesh,
}

impl EventingSpec {
    /// The backend in use, canonical; `None` when the spec names none.
    pub fn active_backend(&self) -> Option<ActiveBackend> {
        self.backend.as_ref().and_then(|b| b.kind.canonical())
    }

    /// The backend's settings (their defaults when the spec names no backend).
    pub fn backend_config(&self) -> &BackendConfig {
        static DEFAULT: std::sync::LazyLock<BackendConfig> = std::sync::LazyLock::new(BackendConfig::default);
        self.backend.as_ref().map_or(&DEFAULT, |b| &b.config)
    }
}

impl BackendType {
    /// The canonical backend; `None` for [`BackendType::Unset`].
    pub fn canonical(self) -> Option<ActiveBackend> {
        match self {
            BackendType::Nats | BackendType::NatsLower => Some(ActiveBackend::Nats),
            BackendType::EventMesh | BackendType::EventMeshLower => Some(ActiveBackend::EventMesh),
            BackendType::Unset => None,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackendConfig {
    /// Storage of the eventing JetStream stream.
    #[serde(default)]
    pub nats_stream_storage_type: StreamStorageType,
    /// Replicas of the eventing stream; at most the NATS cluster size.
    #[serde(default = "default_stream_replicas")]
    #[schemars(range(min = 1, max = 5))]
    pub nats_stream_replicas: i32,
    /// Maximum size of the eventing stream, a Kubernetes quantity (`700Mi`) or a number of bytes;
    /// `-1` for no limit.
    #[serde(default = "default_stream_max_size", deserialize_with = "super::size::stream")]
    #[schemars(schema_with = "super::size::stream_max_size")]
    pub nats_stream_max_size: String,
    /// Maximum messages kept per subject; `-1` for no limit.
    #[serde(default = "default_max_msgs_per_topic")]
    #[schemars(range(min = -1))]
    pub nats_max_msgs_per_topic: i64,
    /// Prefix of the event types the publisher accepts.
    #[serde(default = "default_event_type_prefix")]
    #[schemars(length(max = 128), extend("x-kubernetes-validations" = [{
        "rule": "self.matches('^\\\\S+$')",
        "message": "spec.backend.config.eventTypePrefix cannot be empty or contain spaces"
    }]))]
    pub event_type_prefix: String,
    /// The cluster's public domain (upstream's field, which it uses for the APIRules of EventMesh
    /// subscriptions). Accepted and kept; this manager runs no subscription controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253), extend("x-kubernetes-validations" = [{
        "rule": cel::DOMAIN,
        "message": "spec.backend.config.domain must be a domain name (labels of letters, digits and '-', separated by '.')"
    }]))]
    pub domain: Option<String>,
    /// `namespace/name` of the Secret with the EventMesh credentials; required for `EventMesh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 317), extend("x-kubernetes-validations" = [{
        "rule": "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$')",
        "message": "spec.backend.config.eventMeshSecret must have the form <namespace>/<name>"
    }]))]
    pub event_mesh_secret: Option<String>,
}

impl Default for BackendConfig {
    fn default() -> Self {
        Self {
            nats_stream_storage_type: StreamStorageType::default(),
            nats_stream_replicas: default_stream_replicas(),
            nats_stream_max_size: default_stream_max_size(),
            nats_max_msgs_per_topic: default_max_msgs_per_topic(),
            event_type_prefix: default_event_type_prefix(),
            domain: None,
            event_mesh_secret: None,
        }
    }
}

fn default_stream_replicas() -> i32 {
    3
}
fn default_stream_max_size() -> String {
    super::size::DEFAULT_STREAM_MAX_SIZE.into()
}
fn default_max_msgs_per_topic() -> i64 {
    1_000_000
}
fn default_event_type_prefix() -> String {
    "sap.kyma.custom".into()
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum StreamStorageType {
    #[default]
    File,
    Memory,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Publisher {
    #[serde(default)]
    pub replicas: PublisherReplicas,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.min <= self.max",
    "message": "spec.publisher.replicas.min must be less than or equal to spec.publisher.replicas.max"
}]))]
pub struct PublisherReplicas {
    #[serde(default = "default_publisher_replicas")]
    #[schemars(range(min = 1, max = 100))]
    pub min: i32,
    #[serde(default = "default_publisher_replicas")]
    #[schemars(range(min = 1, max = 100))]
    pub max: i32,
}

impl Default for PublisherReplicas {
    fn default() -> Self {
        Self { min: default_publisher_replicas(), max: default_publisher_replicas() }
    }
}

fn default_publisher_replicas() -> i32 {
    2
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Logging {
    #[serde(default)]
    pub log_level: LogLevel,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum LogLevel {
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventingStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// The backend in use, in canonical spelling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_backend: Option<ActiveBackend>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The publisher proxy's Service, `name.namespace` (as Kyma's eventing-manager reports it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_service: Option<String>,
}
