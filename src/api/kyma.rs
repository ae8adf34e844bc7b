//! `Kyma` (`operator.kyma-project.io/v1beta2`): which modules are enabled, and their reported state.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::{State, conditions_schema};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "operator.kyma-project.io",
    version = "v1beta2",
    kind = "Kyma",
    plural = "kymas",
    namespaced,
    status = "KymaStatus",
    shortname = "kyma",
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Channel","type":"string","jsonPath":".spec.channel"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct KymaSpec {
    /// Release channel the modules follow unless a module names its own (for example `regular`, `fast`).
    #[schemars(length(min = 3, max = 32), regex(pattern = r"^[a-z]+$"))]
    pub channel: String,
    /// Modules to install. Names are unique.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub modules: Vec<Module>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Module {
    /// Module name, for example `eventing`.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    /// Channel of this module; the Kyma CR's `spec.channel` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 32), regex(pattern = r"^[a-z]+$"))]
    pub channel: Option<String>,
    /// Whether the manager creates (and deletes) the module's default CR.
    #[serde(default)]
    pub custom_resource_policy: CustomResourcePolicy,
    /// Whether the module is managed by Kyma's lifecycle.
    #[serde(default = "default_true")]
    pub managed: bool,
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

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KymaStatus {
    /// Summary of all modules' states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// One entry per enabled module.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub modules: Vec<ModuleStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModuleStatus {
    pub name: String,
    pub state: State,
    /// The module's CR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ModuleResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModuleResource {
    pub api_version: String,
    pub kind: String,
    pub metadata: ModuleResourceMetadata,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct ModuleResourceMetadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}
