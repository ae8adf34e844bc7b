//! The custom resource types this manager serves, one file per kind, plus the shared status types.

pub mod eventing;
pub mod kyma;
pub mod nats;
pub mod size;
pub mod status;
pub mod validate;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use eventing::{Eventing, EventingSpec};
pub use kyma::{Kyma, KymaSpec};
pub use nats::{Nats, NatsSpec};
pub use status::State;

/// The API group shared by all three kinds.
pub const GROUP: &str = "operator.kyma-project.io";

/// The CRDs this project owns (what the module's raw manifest installs), in a stable order.
/// Kyma's CRD is lifecycle-manager's; see [`kyma::standalone_crd`].
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![spec_optional(Eventing::crd()), spec_optional(Nats::crd())]
}

/// As upstream's CRDs: `spec` may be left out (Kyma's `minimal.yaml` NATS CR has none); the API
/// server stores `spec: {}` then, and every field has its default.
fn spec_optional(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSON;
    for version in &mut crd.spec.versions {
        let Some(schema) = version.schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut()) else { continue };
        if let Some(required) = schema.required.as_mut() {
            required.retain(|field| field != "spec");
        }
        if schema.required.as_ref().is_some_and(Vec::is_empty) {
            schema.required = None;
        }
        if let Some(spec) = schema.properties.as_mut().and_then(|p| p.get_mut("spec")) {
            spec.default = Some(JSON(serde_json::json!({})));
        }
    }
    crd
}

/// CRDs as one multi-document YAML stream (what `eventing-manager crd` prints).
pub fn crds_yaml(crds: Vec<CustomResourceDefinition>) -> Result<String, yaml_serde::Error> {
    let mut out = String::new();
    for crd in crds {
        out.push_str("---\n");
        out.push_str(&yaml_serde::to_string(&crd)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_crd_has_status_printer_columns_short_names_and_kyma_categories() {
        for (crd, category) in crds().into_iter().zip(["kyma-eventing", "kyma-nats"]) {
            let name = &crd.spec.names.kind;
            assert_eq!(crd.spec.group, GROUP);
            assert!(crd.spec.names.short_names.as_ref().is_some_and(|s| !s.is_empty()), "{name} has short names");
            let version = &crd.spec.versions[0];
            assert!(version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some(), "{name} has /status");
            let columns = version.additional_printer_columns.as_ref().map(Vec::len).unwrap_or(0);
            assert!(columns >= 2, "{name} has printer columns");
            let categories = crd.spec.names.categories.clone().unwrap_or_default();
            assert_eq!(categories, ["kyma-modules", category], "{name}: upstream's categories");
        }
    }

    #[test]
    fn committed_crds_match_the_rust_types() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let owned = crds().into_iter().map(|crd| (root.join("config/crd/bases"), crd));
        let standalone = std::iter::once((root.join("config/standalone/kyma-crd"), kyma::standalone_crd()));
        for (dir, crd) in owned.chain(standalone) {
            let file = dir.join(format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural));
            let committed = std::fs::read_to_string(&file).unwrap_or_default();
            let generated = format!("---\n{}", yaml_serde::to_string(&crd).expect("CRD serializes"));
            assert!(committed == generated, "{} is stale: run `make manifests`", file.display());
        }
    }

    #[test]
    fn backend_spellings_fold_to_the_canonical_backend() {
        use eventing::{ActiveBackend, BackendType};
        for (written, canonical) in [
            ("NATS", Some(ActiveBackend::Nats)),
            ("nats", Some(ActiveBackend::Nats)),
            ("EventMesh", Some(ActiveBackend::EventMesh)),
            ("eventmesh", Some(ActiveBackend::EventMesh)),
            ("", None),
        ] {
            let parsed: BackendType = serde_json::from_value(serde_json::json!(written)).expect("known spelling");
            assert_eq!(parsed.canonical(), canonical, "{written}");
        }
        assert!(serde_json::from_value::<BackendType>(serde_json::json!("kafka")).is_err());
        assert_eq!(serde_json::to_value(ActiveBackend::Nats).ok(), Some(serde_json::json!("NATS")));
    }

    #[test]
    fn default_specs_match_the_schema_defaults() {
        let nats: NatsSpec = serde_json::from_value(serde_json::json!({})).expect("empty NATS spec");
        assert_eq!(nats.cluster.size, 3);
        assert!(nats.jet_stream.file_storage.enabled);
        assert_eq!(nats.jet_stream.file_storage.size, "1Gi");
        let eventing: EventingSpec = serde_json::from_value(serde_json::json!({})).expect("empty Eventing spec");
        assert_eq!(eventing.active_backend(), None, "no backend, as upstream's default CR");
        let nats_backend: EventingSpec =
            serde_json::from_value(serde_json::json!({"backend": {}})).expect("a backend without a type");
        assert_eq!(nats_backend.active_backend(), Some(eventing::ActiveBackend::Nats));
        assert_eq!((eventing.publisher.replicas.min, eventing.publisher.replicas.max), (2, 2));
    }
}
