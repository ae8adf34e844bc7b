//! The custom resource types this manager serves, one file per kind, plus the shared status types.

pub mod eventing;
pub mod kyma;
pub mod nats;
pub mod status;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use eventing::{Eventing, EventingSpec};
pub use kyma::{Kyma, KymaSpec};
pub use nats::{Nats, NatsSpec};
pub use status::State;

/// The API group shared by all three kinds.
pub const GROUP: &str = "operator.kyma-project.io";

/// Every CRD this manager needs, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![Kyma::crd(), Eventing::crd(), Nats::crd()]
}

/// All CRDs as one multi-document YAML stream (what `eventing-manager crd` prints).
pub fn crds_yaml() -> Result<String, yaml_serde::Error> {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&yaml_serde::to_string(&crd)?);
    }
    Ok(out)
}
