//! Finding the eventing module's default CR as lifecycle-manager does (standalone mode): the
//! ModuleReleaseMeta named `eventing` maps the channel to a version, the ModuleTemplate
//! `eventing-<version>` next to it holds the default CR in `spec.data`. Without a ModuleReleaseMeta
//! the `module-template.yaml` compiled into the binary is used.

use kube::api::{ApiResource, DynamicObject};
use kube::{Api, Client};
use serde_json::Value;

use crate::api::kyma::TrackingObject;

pub const MODULE: &str = "eventing";
/// Where lifecycle-manager keeps module templates (`kcp-system`); a Kyma CR's own namespace is tried first.
pub const KCP_NAMESPACE: &str = "kcp-system";
const EMBEDDED_TEMPLATE: &str = include_str!("../../module-template.yaml");

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: crate::api::GROUP.into(),
        version: "v1beta2".into(),
        api_version: format!("{}/v1beta2", crate::api::GROUP),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// lifecycle-manager's ModuleTemplate (`operator.kyma-project.io/v1beta2`).
pub fn module_template_resource() -> ApiResource {
    resource("ModuleTemplate", "moduletemplates")
}

/// lifecycle-manager's ModuleReleaseMeta (`operator.kyma-project.io/v1beta2`).
pub fn module_release_meta_resource() -> ApiResource {
    resource("ModuleReleaseMeta", "modulereleasemetas")
}

/// The module as a channel resolves it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The default CR (`spec.data`).
    pub data: Value,
    pub version: String,
    /// The ModuleTemplate it came from; `None` for the embedded template.
    pub template: Option<TrackingObject>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// What the user must fix (shown in the Kyma CR's module entry).
    #[error("{0}")]
    Unresolvable(String),
    #[error("reading {object}: {source}")]
    Kube { object: String, source: kube::Error },
    #[error("the embedded module-template.yaml: {0}")]
    Embedded(String),
}

/// The default CR of the embedded `module-template.yaml` and its version.
pub fn embedded() -> Result<Resolved, ResolveError> {
    let template: Value = yaml_serde::from_str(EMBEDDED_TEMPLATE).map_err(|e| ResolveError::Embedded(e.to_string()))?;
    let data = template.pointer("/spec/data").cloned().ok_or_else(|| ResolveError::Embedded("no spec.data".into()))?;
    let version = template.pointer("/spec/version").and_then(Value::as_str).unwrap_or(env!("CARGO_PKG_VERSION"));
    Ok(Resolved { data, version: version.to_owned(), template: None })
}

async fn get_opt(
    client: &Client,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
) -> Result<Option<DynamicObject>, ResolveError> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    match api.get_opt(name).await {
        Ok(object) => Ok(object),
        // The kind is not served (no lifecycle-manager CRDs): nothing to find.
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(source) => Err(ResolveError::Kube { object: format!("{} {namespace}/{name}", resource.kind), source }),
    }
}

/// The channel → version of a ModuleReleaseMeta's `spec.channels`.
pub fn version_of(release_meta: &Value, channel: &str) -> Result<String, String> {
    let channels = release_meta.pointer("/spec/channels").and_then(Value::as_array).cloned().unwrap_or_default();
    channels.iter().find(|c| c["channel"] == channel).and_then(|c| c["version"].as_str().map(str::to_owned)).ok_or_else(
        || {
            let offered: Vec<&str> = channels.iter().filter_map(|c| c["channel"].as_str()).collect();
            format!("channel {channel:?} is not offered (channels: {})", offered.join(", "))
        },
    )
}

/// Resolves the module for `channel` from the cluster (the Kyma CR's namespace, then `kcp-system`),
/// else from the embedded template.
pub async fn resolve(client: &Client, kyma_namespace: &str, channel: &str) -> Result<Resolved, ResolveError> {
    let mut namespaces = vec![kyma_namespace, KCP_NAMESPACE];
    namespaces.dedup();
    for namespace in namespaces {
        let Some(meta) = get_opt(client, &module_release_meta_resource(), namespace, MODULE).await? else {
            continue;
        };
        let where_ = format!("ModuleReleaseMeta {namespace}/{MODULE}");
        let version =
            version_of(&meta.data, channel).map_err(|e| ResolveError::Unresolvable(format!("{where_}: {e}")))?;
        let name = format!("{MODULE}-{version}");
        let template = get_opt(client, &module_template_resource(), namespace, &name).await?.ok_or_else(|| {
            ResolveError::Unresolvable(format!(
                "{where_} maps channel {channel:?} to version {version}, but ModuleTemplate {namespace}/{name} does not exist"
            ))
        })?;
        let data = template.data.pointer("/spec/data").cloned().ok_or_else(|| {
            ResolveError::Unresolvable(format!("ModuleTemplate {namespace}/{name} has no spec.data (the default CR)"))
        })?;
        let tracking = TrackingObject::new(
            &module_template_resource().api_version,
            "ModuleTemplate",
            &name,
            Some(namespace.to_owned()),
        );
        return Ok(Resolved { data, version, template: Some(tracking) });
    }
    embedded()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_embedded_template_is_a_valid_default_eventing_cr_of_this_version() {
        let resolved = embedded().expect("spec.data");
        assert_eq!(resolved.version, env!("CARGO_PKG_VERSION"));
        let eventing: crate::api::Eventing = serde_json::from_value(resolved.data).expect("an Eventing CR");
        assert_eq!(kube::ResourceExt::name_any(&eventing), "eventing");
        assert_eq!(eventing.spec.active_backend(), Some(crate::api::eventing::ActiveBackend::Nats));
    }

    #[test]
    fn channels_map_to_versions() {
        let meta = json!({"spec": {"channels": [{"channel": "regular", "version": "0.1.0"}, {"channel": "fast", "version": "0.2.0"}]}});
        assert_eq!(version_of(&meta, "fast"), Ok("0.2.0".into()));
        assert_eq!(
            version_of(&meta, "rapid"),
            Err("channel \"rapid\" is not offered (channels: regular, fast)".into())
        );
        assert!(version_of(&json!({"spec": {}}), "regular").is_err());
    }
}
