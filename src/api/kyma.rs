//! `Kyma` (`operator.kyma-project.io/v1beta2`): this project's client view of lifecycle-manager's
//! Kyma CR. The CRD is lifecycle-manager's; the manager reads `spec.modules` and, in standalone mode
//! only, writes `status` in the shapes that CRD defines (the patch is sent with strict field
//! validation, so a field that CRD lacks is an error, never silently dropped).
//!
//! [`standalone_crd`] is a Kyma CRD of our own for clusters without lifecycle-manager; a test proves
//! that it accepts whatever lifecycle-manager's accepts. It is created only where no Kyma CRD exists.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::conditions_schema;

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "operator.kyma-project.io",
    version = "v1beta2",
    kind = "Kyma",
    plural = "kymas",
    singular = "kyma",
    namespaced,
    status = "KymaStatus",
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct KymaSpec {
    /// Release channel the modules follow unless a module names its own (for example `regular`, `fast`).
    #[schemars(length(min = 3, max = 32), regex(pattern = r"^[a-z]+$"))]
    pub channel: String,
    /// Modules to install.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub modules: Vec<Module>,
    /// Whether module upgrades that require downtime bypass maintenance windows (lifecycle-manager's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_maintenance_windows: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Module {
    /// Module name, for example `eventing`.
    pub name: String,
    /// Channel of this module; the Kyma CR's `spec.channel` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 32), regex(pattern = r"^[a-z]+$"))]
    pub channel: Option<String>,
    /// lifecycle-manager's controller name for the module (not used by this manager).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// Whether the module's default CR is created (and deleted) for the user.
    #[serde(default)]
    #[schemars(default = "CustomResourcePolicy::default")]
    pub custom_resource_policy: CustomResourcePolicy,
    /// Whether the module is managed by Kyma's lifecycle.
    #[serde(default = "default_true")]
    #[schemars(default = "default_true")]
    pub managed: bool,
    /// Deprecated in lifecycle-manager; kept so that such CRs are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_module_template_ref: Option<String>,
}

fn default_true() -> bool {
    true
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum CustomResourcePolicy {
    /// Create the module's default CR when the module is enabled, delete it when it is disabled.
    #[default]
    CreateAndDelete,
    /// Leave the module CR to the user.
    Ignore,
}

/// lifecycle-manager's state values (`""` included: an unset state).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum KymaState {
    Processing,
    Deleting,
    Ready,
    Error,
    #[serde(rename = "")]
    Unset,
    Warning,
    Unmanaged,
}

impl From<super::State> for KymaState {
    fn from(state: super::State) -> Self {
        match state {
            super::State::Ready => KymaState::Ready,
            super::State::Processing => KymaState::Processing,
            super::State::Error => KymaState::Error,
            super::State::Deleting => KymaState::Deleting,
            super::State::Warning => KymaState::Warning,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KymaStatus {
    /// Summary of all modules' states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<KymaState>,
    /// One entry per installed module.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<ModuleStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// The last operation of the control loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_operation: Option<LastOperation>,
    /// The channel in force (`spec.channel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_channel: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastOperation {
    pub operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModuleStatus {
    pub name: String,
    pub state: KymaState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The module's CR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<TrackingObject>,
    /// The ModuleTemplate the module was resolved from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TrackingObject>,
    /// lifecycle-manager's Manifest of the module (never set in standalone mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<TrackingObject>,
    /// Deprecated in lifecycle-manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_false")]
    pub maintenance: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocm_component_name: Option<String>,
}

fn default_false() -> Option<bool> {
    Some(false)
}

/// lifecycle-manager's reference to an object it tracks.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrackingObject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<PartialMeta>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PartialMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
}

impl TrackingObject {
    pub fn new(api_version: &str, kind: &str, name: &str, namespace: Option<String>) -> Self {
        Self {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
            metadata: Some(PartialMeta { name: Some(name.into()), namespace, generation: None }),
        }
    }

    pub fn name(&self) -> Option<&str> {
        self.metadata.as_ref()?.name.as_deref()
    }
}

/// A Kyma CRD for clusters without lifecycle-manager (standalone mode), labelled as ours. Created
/// only where no Kyma CRD exists (`kubectl create`, never `apply`).
pub fn standalone_crd() -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition
{
    use kube::CustomResourceExt;
    let mut crd = Kyma::crd();
    let labels = crd.metadata.labels.get_or_insert_with(Default::default);
    labels.insert("app.kubernetes.io/part-of".into(), "eventing-manager-standalone".into());
    crd
}
