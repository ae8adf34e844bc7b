//! Status types shared by the three kinds: the Kyma module state and standard conditions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Kyma module state convention.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum State {
    /// Everything asked for is running.
    Ready,
    /// Work is in progress (rollout, provisioning).
    Processing,
    /// The manager cannot proceed: bad input, render failure, API errors after retries.
    Error,
    /// Deprovisioning is in progress.
    Deleting,
    /// Works, but needs attention (for example a missing dependency).
    Warning,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ready => "Ready",
            State::Processing => "Processing",
            State::Error => "Error",
            State::Deleting => "Deleting",
            State::Warning => "Warning",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Schema of a condition list: `x-kubernetes-list-type: map` keyed by `type`.
pub fn conditions_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = generator.subschema_for::<Vec<Condition>>();
    schema.insert("x-kubernetes-list-type".into(), "map".into());
    schema.insert("x-kubernetes-list-map-keys".into(), serde_json::json!(["type"]));
    schema
}
