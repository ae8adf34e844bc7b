//! `NATS` (`operator.kyma-project.io/v1alpha1`): one NATS JetStream cluster.

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
    kind = "NATS",
    plural = "nats",
    singular = "nats",
    namespaced,
    category = "kyma-modules",
    category = "kyma-nats",
    status = "NatsStatus",
    shortname = "nt",
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Ready","type":"integer","jsonPath":".status.readyReplicas"}"#,
    printcolumn = r#"{"name":"Size","type":"integer","jsonPath":".spec.cluster.size"}"#,
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".status.url","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(self.defaultAccount) || (has(self.accounts) && self.accounts.exists(a, a.name == self.defaultAccount))",
    "message": "spec.defaultAccount must name one of spec.accounts[].name",
    "fieldPath": ".defaultAccount"
}, {
    "rule": "!has(self.leafNodes) || !has(self.leafNodes.authorization) || !has(self.leafNodes.authorization.account) || (has(self.accounts) && self.accounts.exists(a, a.name == self.leafNodes.authorization.account))",
    "message": "spec.leafNodes.authorization.account must name one of spec.accounts[].name",
    "fieldPath": ".leafNodes.authorization.account"
}, {
    "rule": "!has(self.leafNodes) || !has(self.leafNodes.remotes) || self.leafNodes.remotes.all(r, !has(r.account) || (has(self.accounts) && self.accounts.exists(a, a.name == r.account)))",
    "message": "spec.leafNodes.remotes[].account must name one of spec.accounts[].name",
    "fieldPath": ".leafNodes.remotes"
}, {
    "rule": "!has(self.accounts) || !has(self.systemAccount) || !has(self.systemAccount.users) || self.accounts.all(a, !has(a.users) || a.users.all(u, !self.systemAccount.users.exists(s, s.user == u.user)))",
    "message": "spec.accounts[].users[].user must differ from every spec.systemAccount.users[].user (nats-server needs each user once)",
    "fieldPath": ".accounts"
}, {
    "rule": "!has(self.accounts) || self.accounts.all(a, !has(a.users) || self.accounts.all(b, a.name == b.name || !has(b.users) || a.users.all(u, !b.users.exists(v, v.user == u.user))))",
    "message": "spec.accounts[].users[].user must be unique across all accounts (nats-server needs each user once)",
    "fieldPath": ".accounts"
}, {
    "rule": "(has(self.jetStream) && has(self.jetStream.enabled) && !self.jetStream.enabled) || (has(self.accounts) && size(self.accounts) > 0) == (has(oldSelf.accounts) && size(oldSelf.accounts) > 0)",
    "message": "spec.accounts cannot be added to a cluster with JetStream that has none, nor all removed: clients without credentials keep their streams in the global account, which has no JetStream once accounts exist (and the accounts' streams would be hidden when they go); re-create the CR",
    "fieldPath": ".accounts"
}]))]
pub struct NatsSpec {
    #[serde(default)]
    pub cluster: Cluster,
    #[serde(default)]
    pub jet_stream: JetStream,
    #[serde(default)]
    pub leaf_nodes: LeafNodes,
    #[serde(default)]
    pub service: Service,
    #[serde(default)]
    pub logging: NatsLogging,
    /// Resources of the nats container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Labels added to every object rendered for this cluster.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("additionalProperties" = {"type": "string", "maxLength": 63}, "maxProperties" = 64, "x-kubernetes-validations" = [
        {"rule": cel::KEYS, "message": "spec.labels keys must be qualified names ([prefix/]name, name at most 63 characters)"},
        {"rule": cel::NOT_RESERVED, "message": "spec.labels must not set keys the manager sets (eventing-manager.kyma-project.io/*, app.kubernetes.io/managed-by, name, instance)"},
        {"rule": cel::LABEL_VALUES, "message": "spec.labels values must be at most 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit"}
    ]))]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to every object rendered for this cluster.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 64, "x-kubernetes-validations" = [
        {"rule": cel::KEYS, "message": "spec.annotations keys must be qualified names ([prefix/]name, name at most 63 characters)"},
        {"rule": cel::NOT_RESERVED, "message": "spec.annotations must not set keys the manager sets (eventing-manager.kyma-project.io/*, app.kubernetes.io/managed-by, name, instance)"}
    ]))]
    pub annotations: BTreeMap<String, String>,
    /// What happens to the JetStream volume claims when the cluster is deleted.
    #[serde(default)]
    pub pvc_retention_policy: PvcRetentionPolicy,
    /// TLS for the client, cluster and leaf node listeners.
    #[serde(default, skip_serializing_if = "TlsListeners::is_empty")]
    pub tls: TlsListeners,
    /// The system account (`$SYS`): monitoring and administration across the cluster.
    #[serde(default, skip_serializing_if = "SystemAccount::is_empty")]
    pub system_account: SystemAccount,
    /// Accounts of your own, each with its users (passwords from Secrets). Once there is one,
    /// clients without credentials are refused unless `defaultAccount` names where they go, and
    /// the global account has no JetStream. With JetStream on, set them when the CR is created.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub accounts: Vec<Account>,
    /// The account of clients that connect without credentials (Eventing's publisher among them),
    /// one of `accounts`; unset with accounts: such clients are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z][A-Za-z0-9_-]*$"))]
    pub default_account: Option<String>,
}

/// An account: a subject namespace of its own, with its users and (optionally) JetStream.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Letters, digits, '_' and '-' (not the reserved `$G` and `$SYS`).
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z][A-Za-z0-9_-]*$"))]
    pub name: String,
    /// Whether the account's clients may use JetStream (within the servers' limits).
    #[serde(default = "default_true")]
    pub jet_stream: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["user"], "x-kubernetes-validations" = [{
        "rule": "self.all(u, u.user != 'admin')",
        "message": "spec.accounts[].users[].user must not be admin (the manager's generated system user)"
    }]))]
    pub users: Vec<User>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemAccount {
    /// Users besides the generated `admin` (its password is in `<fullname>-secret`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["user"], "x-kubernetes-validations" = [{
        "rule": "self.all(u, u.user != 'admin')",
        "message": "spec.systemAccount.users[].user must not be admin (the manager's generated user)"
    }]))]
    pub users: Vec<User>,
}

impl SystemAccount {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// TLS of each listener; a listener without it is plain text.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TlsListeners {
    /// The client port 4222. (Eventing's publisher connects without TLS: a cluster that the Eventing
    /// module uses keeps this off.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<Tls>,
    /// The cluster port 6222 (routes between the servers; each verifies the others against `ca.crt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Tls>,
    /// The leaf node port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_nodes: Option<Tls>,
}

impl TlsListeners {
    pub fn is_empty(&self) -> bool {
        self.client.is_none() && self.cluster.is_none() && self.leaf_nodes.is_none()
    }

    /// The listeners with TLS, by their field name: `client`, `cluster`, `leafNodes`.
    pub fn configured(&self) -> impl Iterator<Item = (&'static str, &Tls)> {
        [("client", &self.client), ("cluster", &self.cluster), ("leafNodes", &self.leaf_nodes)]
            .into_iter()
            .filter_map(|(name, tls)| Some((name, tls.as_ref()?)))
    }
}

/// A listener's certificate: a Secret of the CR's namespace with `tls.crt` and `tls.key` (and
/// `ca.crt` to verify peers), the keys cert-manager writes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tls {
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$"))]
    pub secret_name: String,
    /// Require a client certificate signed by the Secret's `ca.crt`.
    #[serde(default)]
    pub verify: bool,
}

/// How an edge checks the remote's certificate: `ca.crt` of a Secret in the CR's namespace; with
/// `clientCertificate`, it also presents the Secret's `tls.crt` and `tls.key`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemoteTls {
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$"))]
    pub secret_name: String,
    #[serde(default)]
    pub client_certificate: bool,
}

/// A user that authenticates with a password from a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[A-Za-z0-9._-]+$"))]
    pub user: String,
    /// The Secret key with the password (it reaches the server only through the pod's environment).
    pub password: SecretKeyRef,
}

/// The alias the derive gives the kind is `NATS`; Rust code reads better with `Nats`.
pub type Nats = NATS;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(oldSelf.name) || (has(self.name) && self.name == oldSelf.name)",
    "message": "spec.cluster.name is immutable once set",
    "fieldPath": ".name"
}]))]
pub struct Cluster {
    /// Number of NATS servers: odd, so that JetStream keeps a quorum.
    #[serde(default = "default_cluster_size")]
    #[schemars(range(min = 1, max = 99), extend("x-kubernetes-validations" = [{
        "rule": "self % 2 == 1",
        "message": "spec.cluster.size must be odd (1, 3, 5, ...) so that JetStream keeps a quorum"
    }, {
        "rule": "!(oldSelf > 1 && self == 1)",
        "message": "spec.cluster.size cannot go from several servers to 1 (as upstream): replicated JetStream streams would lose their quorum and the other servers' data; keep 3 or more, or re-create the CR"
    }]))]
    pub size: i32,
    /// NATS cluster name (the metadata name when unset); immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: Option<String>,
    /// Extra routes to servers outside this cluster, as `nats://host:port` or `tls://host:port`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(length(max = 512)), extend("x-kubernetes-list-type" = "set", "x-kubernetes-validations" = [{
        "rule": cel::ROUTES,
        "message": "spec.cluster.routes must be nats://host:port or tls://host:port (port 1-65535; no credentials, no path)"
    }]))]
    pub routes: Vec<String>,
}

impl Default for Cluster {
    fn default() -> Self {
        Self { size: default_cluster_size(), name: None, routes: Vec::new() }
    }
}

impl Cluster {
    /// The NATS cluster name: `name`, else the name of the CR (`cr_name`).
    pub fn name_or(&self, cr_name: &str) -> String {
        self.name.clone().unwrap_or_else(|| cr_name.to_owned())
    }
}

fn default_cluster_size() -> i32 {
    3
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.enabled == oldSelf.enabled",
    "message": "spec.jetStream.enabled is immutable (a StatefulSet's volume claim templates cannot change); re-create the CR",
    "fieldPath": ".enabled"
}, {
    "rule": "!self.enabled || self.memStorage.enabled || self.fileStorage.enabled",
    "message": "spec.jetStream needs spec.jetStream.memStorage or spec.jetStream.fileStorage enabled; for core NATS without JetStream set spec.jetStream.enabled to false"
}]))]
pub struct JetStream {
    /// JetStream on every server; false: core NATS only (no volumes, no JetStream configuration).
    /// Immutable.
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default)]
    pub mem_storage: MemStorage,
    #[serde(default)]
    pub file_storage: FileStorage,
}

impl Default for JetStream {
    fn default() -> Self {
        Self { enabled: true, mem_storage: MemStorage::default(), file_storage: FileStorage::default() }
    }
}

impl JetStream {
    /// Whether the servers keep JetStream files on volumes (JetStream on, file storage on).
    pub fn uses_volumes(&self) -> bool {
        self.enabled && self.file_storage.enabled
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemStorage {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// JetStream memory store limit per server: a quantity (`1Gi`) or a number of bytes.
    #[serde(default = "default_storage_size", deserialize_with = "super::size::storage")]
    #[schemars(schema_with = "super::size::mem_storage")]
    pub size: String,
}

impl Default for MemStorage {
    fn default() -> Self {
        Self { enabled: true, size: default_storage_size() }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!isQuantity(string(self.size)) || !isQuantity(string(oldSelf.size)) || quantity(string(self.size)).compareTo(quantity(string(oldSelf.size))) >= 0",
        "message": "spec.jetStream.fileStorage.size may grow but never shrink",
        "fieldPath": ".size"
    },
    {
        "rule": "has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",
        "message": "spec.jetStream.fileStorage.storageClassName is immutable",
        "fieldPath": ".storageClassName"
    },
    {
        "rule": "self.enabled == oldSelf.enabled",
        "message": "spec.jetStream.fileStorage.enabled is immutable (a StatefulSet's volume claim templates cannot change)",
        "fieldPath": ".enabled"
    }
]))]
pub struct FileStorage {
    /// Whether each server gets a persistent volume for JetStream's file store.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Storage class of the volume claims; the cluster's default class when unset or `default`
    /// (as Kyma's nats-manager reads it). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$"))]
    pub storage_class_name: Option<String>,
    /// Volume size per server, a quantity (`1Gi`) or a number of bytes; may grow (when the class
    /// allows expansion), never shrink.
    #[serde(default = "default_storage_size", deserialize_with = "super::size::storage")]
    #[schemars(schema_with = "super::size::file_storage")]
    pub size: String,
}

/// The class name Kyma's nats-manager reads as "the cluster's default class" (its default CR says it).
pub const DEFAULT_STORAGE_CLASS: &str = "default";

impl FileStorage {
    /// The StorageClass the volume claims name; `None`: the cluster's default class.
    pub fn class(&self) -> Option<&str> {
        self.storage_class_name.as_deref().filter(|c| !c.is_empty() && *c != DEFAULT_STORAGE_CLASS)
    }
}

impl Default for FileStorage {
    fn default() -> Self {
        Self { enabled: true, storage_class_name: None, size: default_storage_size() }
    }
}

fn default_true() -> bool {
    true
}

fn default_storage_size() -> String {
    super::size::DEFAULT_STORAGE_SIZE.into()
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!(self.port in [4222, 6222, 8222])",
    "message": "spec.leafNodes.port must not be 4222 (client), 6222 (cluster) or 8222 (monitoring)",
    "fieldPath": ".port"
}]))]
pub struct LeafNodes {
    /// Accept leaf node connections (a primary cluster).
    #[serde(default)]
    pub enabled: bool,
    /// Port leaf nodes connect to.
    #[serde(default = "default_leaf_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Credentials that connecting leaf nodes must present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<LeafAuthorization>,
    /// Clusters this cluster connects to as a leaf node (an edge cluster).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub remotes: Vec<LeafRemote>,
}

impl Default for LeafNodes {
    fn default() -> Self {
        Self { enabled: false, port: default_leaf_port(), authorization: None, remotes: Vec::new() }
    }
}

fn default_leaf_port() -> i32 {
    7422
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeafAuthorization {
    #[schemars(length(min = 1, max = 128))]
    pub user: String,
    /// The Secret key holding the password.
    pub password: SecretKeyRef,
    /// The account leaf connections bind to, one of `spec.accounts`; unset: `spec.defaultAccount`,
    /// else the global account (where clients without credentials are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z][A-Za-z0-9_-]*$"))]
    pub account: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.user) == has(self.password)",
    "message": "spec.leafNodes.remotes[].user and spec.leafNodes.remotes[].password go together"
}, {
    "rule": "(has(self.credentials) ? 1 : 0) + (has(self.password) ? 1 : 0) + (has(self.token) ? 1 : 0) <= 1",
    "message": "spec.leafNodes.remotes[] authenticates with one of credentials, user and password, or token"
}]))]
pub struct LeafRemote {
    /// URLs of the remote cluster's leaf node port (credentials belong in `credentials`, not in the URL).
    #[schemars(length(min = 1, max = 16), inner(length(max = 512)), extend("x-kubernetes-validations" = [{
        "rule": cel::REMOTE_URLS,
        "message": "spec.leafNodes.remotes[].urls must be nats-leaf://, nats://, tls://, ws:// or wss:// with a host and an optional port 1-65535 (no credentials, no path)"
    }]))]
    pub urls: Vec<String>,
    /// A Secret in the CR's namespace whose key holds the remote's credentials (a `.creds` file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<SecretKeyRef>,
    /// The user the remote's leaf node authorization expects (with `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[A-Za-z0-9._-]+$"))]
    pub user: Option<String>,
    /// The Secret key with `user`'s password. It reaches the server only through the pod's
    /// environment, never the CR or the ConfigMap; it must not contain `/`, `?` or `#` (it is
    /// part of the remote's URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretKeyRef>,
    /// The Secret key with a token the remote accepts (instead of user and password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretKeyRef>,
    /// TLS towards the remote (its URLs then use TLS whatever their scheme says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RemoteTls>,
    /// The local account whose messages the connection carries, one of `spec.accounts`; unset:
    /// `spec.defaultAccount`, else the global account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z][A-Za-z0-9_-]*$"))]
    pub account: Option<String>,
}

/// A key of a Secret in the same namespace as the CR.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.type == 'NodePort' || !has(self.nodePorts)",
    "message": "spec.service.nodePorts is only allowed when spec.service.type is NodePort",
    "fieldPath": ".nodePorts"
}]))]
pub struct Service {
    #[serde(default, rename = "type")]
    pub kind: ServiceType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_ports: Option<NodePorts>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(self.client) || !has(self.leafNodes) || self.client != self.leafNodes",
    "message": "spec.service.nodePorts.client and spec.service.nodePorts.leafNodes must differ"
}]))]
pub struct NodePorts {
    /// Node port of the client port 4222 (30000-32767; assigned by Kubernetes when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 30000, max = 32767))]
    pub client: Option<i32>,
    /// Node port of the leaf node port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 30000, max = 32767))]
    pub leaf_nodes: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NatsLogging {
    #[serde(default)]
    pub debug: bool,
    #[serde(default)]
    pub trace: bool,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PvcRetentionPolicy {
    /// Keep the JetStream volume claims when the cluster is deleted.
    #[default]
    Retain,
    /// Delete the JetStream volume claims with the cluster.
    Delete,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NatsStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Client URL of the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Availability zones the servers run in (as Kyma's nats-manager reports it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zones_used: Option<i32>,
}
