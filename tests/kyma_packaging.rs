//! The module as today's lifecycle-manager consumes it: module-template.yaml and
//! module-release-meta.yaml agree with Cargo.toml and with the release manifests, and lifecycle-manager's
//! real CRDs accept them (strict server-side dry run); the raw manifest is the managed install.

mod common;

use common::{TestNamespace, apply_manifest, client, install_crd, lifecycle_manager_crd, repo_documents};
use eventing_manager::chart::Manifest;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn manifest(object: &Value, source: &str) -> Manifest {
    Manifest { source: source.into(), object: object.clone() }
}

#[test]
fn the_module_template_release_meta_and_release_manifests_agree() {
    let template = &repo_documents("module-template.yaml")[0];
    let spec = &template["spec"];
    assert_eq!(
        template["metadata"]["name"],
        format!("eventing-{VERSION}"),
        "lifecycle-manager looks up eventing-<version>"
    );
    assert_eq!(spec["version"], VERSION, "spec.version is Cargo.toml's version");
    assert_eq!(spec["moduleName"], "eventing");
    assert!(spec.get("channel").is_none(), "spec.channel is deprecated: the ModuleReleaseMeta maps channels");
    assert_eq!(spec["descriptor"], json!({}));
    assert_eq!(template["metadata"]["annotations"]["operator.kyma-project.io/is-cluster-scoped"], "false");
    assert_eq!((spec["mandatory"].as_bool(), spec["requiresDowntime"].as_bool()), (Some(false), Some(false)));
    let repository = env!("CARGO_PKG_REPOSITORY");
    assert_eq!(spec["info"]["repository"], repository);
    assert!(spec["info"]["documentation"].as_str().is_some_and(|d| d.starts_with(repository)));
    assert!(spec["info"]["icons"][0]["link"].as_str().is_some(), "an icon");
    let link = |name: &str| {
        spec["resources"].as_array().and_then(|r| r.iter().find(|r| r["name"] == name)).map(|r| r["link"].clone())
    };
    assert_eq!(
        link("rawManifest"),
        Some(json!(format!("{repository}/releases/download/{VERSION}/eventing-manager.yaml")))
    );
    assert_eq!(
        link("defaultResource"),
        Some(json!(format!("{repository}/releases/download/{VERSION}/default-eventing.yaml")))
    );
    let kinds: Vec<&str> = spec["associatedResources"]
        .as_array()
        .expect("associatedResources")
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["Eventing", "NATS"]);

    // The default CR: spec.data is exactly the published default resource.
    assert_eq!(spec["data"], repo_documents("release/default-eventing.yaml")[0]);

    let meta = &repo_documents("module-release-meta.yaml")[0];
    assert_eq!(meta["metadata"]["name"], "eventing");
    assert_eq!(meta["metadata"]["namespace"], template["metadata"]["namespace"]);
    let channels: Vec<(String, String)> = meta["spec"]["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .map(|c| {
            (c["channel"].as_str().unwrap_or_default().to_owned(), c["version"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    assert_eq!(channels, [("regular".into(), VERSION.into()), ("fast".into(), VERSION.into())]);

    // The raw manifest: the managed install, the manager Deployment (named in spec.manager) its only workload.
    let raw = repo_documents("release/eventing-manager.yaml");
    let workloads: Vec<&Value> = raw
        .iter()
        .filter(|d| {
            ["Deployment", "StatefulSet", "DaemonSet", "Job", "Pod"].contains(&d["kind"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(workloads.len(), 1);
    let deployment = workloads[0];
    assert_eq!(deployment["kind"], spec["manager"]["kind"]);
    assert_eq!(deployment["metadata"]["name"], spec["manager"]["name"]);
    assert_eq!(deployment["metadata"]["namespace"], spec["manager"]["namespace"]);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert!(
        container["image"].as_str().is_some_and(|i| i.ends_with(&format!(":{VERSION}"))),
        "a versioned image: {}",
        container["image"]
    );
    let args: Vec<&str> = container["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    assert!(args.windows(2).any(|w| w == ["--kyma-mode", "managed"]), "managed mode: {args:?}");
    for object in &raw {
        assert_eq!(
            object["metadata"]["labels"]["kyma-project.io/module"], "eventing",
            "{} {}",
            object["kind"], object["metadata"]["name"]
        );
        assert_ne!(
            object["kind"], "Namespace",
            "kyma-system is Kyma's: lifecycle-manager would delete it with the module"
        );
        for rule in object["rules"].as_array().into_iter().flatten() {
            assert!(!rule["resources"].to_string().contains("kyma"), "no Kyma RBAC in the managed install: {rule}");
        }
    }
    let crds: Vec<&str> = raw
        .iter()
        .filter(|d| d["kind"] == "CustomResourceDefinition")
        .filter_map(|d| d["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        crds,
        ["eventings.operator.kyma-project.io", "nats.operator.kyma-project.io"],
        "only the CRDs this project owns"
    );
}

#[tokio::test]
async fn lifecycle_managers_crds_accept_the_packaging() {
    let client = client().await;
    for plural in ["moduletemplates", "modulereleasemetas"] {
        install_crd(&client, &lifecycle_manager_crd(plural)).await;
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for name in ["kcp-system", "kyma-system"] {
        let _ = namespaces
            .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": name}})).expect("ns"))
            .await;
    }
    for path in ["module-template.yaml", "module-release-meta.yaml"] {
        apply_manifest(&client, &manifest(&repo_documents(path)[0], path), true)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // What the old template lacked is refused by the real schema, naming the field.
    let mut old = repo_documents("module-template.yaml")[0].clone();
    if let Some(spec) = old["spec"].as_object_mut() {
        spec.remove("descriptor");
    }
    let refused =
        apply_manifest(&client, &manifest(&old, "a template without descriptor"), true).await.expect_err("refused");
    assert!(refused.contains("spec.descriptor"), "{refused}");

    // The raw manifest and the default CR, as the dashboard or the Kyma CLI applies them.
    let ns = TestNamespace::create(&client, "packaging").await;
    common::client_with_crds().await;
    for object in repo_documents("release/eventing-manager.yaml") {
        apply_manifest(&client, &manifest(&object, "release/eventing-manager.yaml"), true)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut default_cr = repo_documents("release/default-eventing.yaml")[0].clone();
    default_cr["metadata"]["namespace"] = json!(ns.name);
    apply_manifest(&client, &manifest(&default_cr, "release/default-eventing.yaml"), true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}
