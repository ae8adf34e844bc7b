//! Standalone mode resolves the module as lifecycle-manager does, on lifecycle-manager's real CRDs:
//! the ModuleReleaseMeta `eventing` maps the channel to a version, the ModuleTemplate
//! `eventing-<version>` holds the default CR. The repository's own module-release-meta.yaml and
//! module-template.yaml are applied (strict validation), only moved into the test's namespace.

mod common;

use std::time::Duration;

use common::{setup_with_manager, wait_until};
use eventing_manager::api::eventing::{ActiveBackend, Eventing};
use eventing_manager::api::kyma::{Kyma, KymaState};
use eventing_manager::chart::Manifest;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);

fn entry(kyma: Option<&Kyma>) -> Option<eventing_manager::api::kyma::ModuleStatus> {
    kyma?.status.as_ref()?.modules.iter().find(|m| m.name == "eventing").cloned()
}

#[tokio::test]
async fn the_channel_resolves_through_the_module_release_meta() {
    let (client, ns) = setup_with_manager("kyma-template").await;
    let version = env!("CARGO_PKG_VERSION");
    let mut meta = common::repo_documents("module-release-meta.yaml").remove(0);
    meta["metadata"]["namespace"] = json!(ns.name);
    let mut template = common::repo_documents("module-template.yaml").remove(0);
    template["metadata"]["namespace"] = json!(ns.name);
    template["spec"]["data"]["spec"]["publisher"]["replicas"] = json!({"min": 1, "max": 3});
    for object in [meta, template] {
        let manifest = Manifest { source: "tests/kyma_module_template.rs".into(), object };
        common::apply_manifest(&client, &manifest, false).await.unwrap_or_else(|e| panic!("{e}"));
    }

    let kymas: Api<Kyma> = Api::namespaced(client.clone(), &ns.name);
    let kyma: Kyma = serde_json::from_value(json!({
        "apiVersion": "operator.kyma-project.io/v1beta2", "kind": "Kyma", "metadata": {"name": "default"},
        "spec": {"channel": "regular", "modules": [{"name": "eventing", "channel": "fast"}]}
    }))
    .expect("Kyma");
    kymas.create(&PostParams::default(), &kyma).await.expect("create Kyma");
    let eventings: Api<Eventing> = Api::namespaced(client.clone(), &ns.name);
    let eventing = wait_until(&eventings, "eventing", |e: Option<&Eventing>| e.is_some(), TIMEOUT).await;
    assert_eq!(
        (eventing.spec.publisher.replicas.min, eventing.spec.publisher.replicas.max),
        (1, 3),
        "spec.data of the cluster's ModuleTemplate"
    );
    assert_eq!(eventing.spec.active_backend(), Some(ActiveBackend::Nats));
    assert_eq!(eventing.namespace().as_deref(), Some(ns.name.as_str()), "created next to the Kyma CR");

    let kyma =
        wait_until(&kymas, "default", |k: Option<&Kyma>| entry(k).is_some_and(|e| e.template.is_some()), TIMEOUT).await;
    let module = entry(Some(&kyma)).expect("entry");
    assert_eq!((module.channel.as_deref(), module.version.as_deref()), (Some("fast"), Some(version)));
    let template = module.template.expect("template");
    assert_eq!(template.name(), Some(format!("eventing-{version}").as_str()));
    assert_eq!(template.metadata.and_then(|m| m.namespace), Some(ns.name.clone()));

    // A channel the ModuleReleaseMeta does not offer: Error naming it, as lifecycle-manager reports it.
    let rapid = json!({"spec": {"modules": [{"name": "eventing", "channel": "rapid"}]}});
    kymas.patch("default", &PatchParams::default(), &Patch::Merge(&rapid)).await.expect("channel rapid");
    let kyma = wait_until(
        &kymas,
        "default",
        |k: Option<&Kyma>| entry(k).is_some_and(|e| e.state == KymaState::Error),
        TIMEOUT,
    )
    .await;
    let message = entry(Some(&kyma)).and_then(|e| e.message).unwrap_or_default();
    assert!(message.contains("channel \"rapid\" is not offered (channels: regular, fast)"), "{message}");
    assert!(message.contains(&format!("ModuleReleaseMeta {}/eventing", ns.name)), "{message}");
}
