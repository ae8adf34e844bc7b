//! Kyma's own samples (`../shared/kyma/{nats,eventing}-manager/samples`, unmodified upstream files)
//! are accepted unchanged by our CRDs on the real API server (a dry-run create in their own
//! namespace, so nothing is provisioned), pass the controller's validation, and mean what they mean
//! upstream where that is settled: `storageClassName: "default"` is the cluster's default class,
//! an Eventing CR without a backend provisions nothing.

mod common;

use std::path::PathBuf;

use common::client_with_crds;
use eventing_manager::api::{Eventing, Nats, State, validate};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ApiResource, DynamicObject, PostParams};
use kube::{Api, Resource};
use serde_json::{Value, json};

fn samples(module: &str) -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/kyma").join(module).join("samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (the tests need ../shared/kyma beside the checkout)", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no samples in {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("sample");
            let value: Value = yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path.file_name().expect("name").to_string_lossy().into_owned(), value)
        })
        .collect()
}

/// The API server's answer to creating `sample` (dry run): the object as it would be stored.
async fn dry_run<K: Resource<DynamicType = ()>>(client: &kube::Client, file: &str, sample: &Value) -> Value {
    let namespace = sample["metadata"]["namespace"].as_str().unwrap_or("default");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let object: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace}})).expect("ns");
    let _ = namespaces.create(&PostParams::default(), &object).await;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ApiResource::erase::<K>(&()));
    let object: DynamicObject = serde_json::from_value(sample.clone()).expect("object");
    let params = PostParams { dry_run: true, field_manager: None };
    let stored = api.create(&params, &object).await.unwrap_or_else(|e| panic!("{file} is refused: {e}"));
    serde_json::to_value(stored).expect("json")
}

#[tokio::test]
async fn every_upstream_sample_is_accepted_unchanged() {
    let client = client_with_crds().await;
    for (file, sample) in samples("nats-manager") {
        let stored = dry_run::<Nats>(&client, &file, &sample).await;
        let nats: Nats = serde_json::from_value(stored).unwrap_or_else(|e| panic!("{file}: {e}"));
        validate::nats(&nats.spec).unwrap_or_else(|e| panic!("{file}: {e}"));
        let values = eventing_manager::controllers::nats::overrides("eventing-nats", &nats.spec);
        let class = sample["spec"]["jetStream"]["fileStorage"]["storageClassName"].as_str();
        let expected = match class {
            None | Some("default") => "",
            Some(other) => other,
        };
        assert_eq!(values["jetStream"]["fileStorage"]["storageClassName"], expected, "{file}");
        if let Some(size) = sample["spec"]["jetStream"]["fileStorage"]["size"].as_str() {
            assert_eq!(values["jetStream"]["fileStorage"]["size"], size, "{file}");
        }
        // Upstream's default cluster has 3 servers (minimal.yaml has no spec at all).
        let size = sample["spec"]["cluster"]["size"].as_i64().unwrap_or(3);
        assert_eq!(values["cluster"]["size"], size, "{file}");
    }
    for (file, sample) in samples("eventing-manager") {
        let stored = dry_run::<Eventing>(&client, &file, &sample).await;
        let eventing: Eventing = serde_json::from_value(stored).unwrap_or_else(|e| panic!("{file}: {e}"));
        validate::eventing(&eventing.spec).unwrap_or_else(|e| panic!("{file}: {e}"));
        let values = eventing_manager::controllers::eventing::overrides("eventing", &eventing.spec);
        if let Some(size) = sample["spec"]["backend"]["config"]["natsStreamMaxSize"].as_str() {
            assert_eq!(values["publisher"]["nats"]["streamMaxSize"], size, "{file}");
        }
        // No backend (upstream's default CR): nothing is rendered, as upstream creates nothing.
        let named = sample["spec"]["backend"]["type"].as_str().filter(|t| !t.trim().is_empty());
        assert_eq!(values["nats"]["enabled"], named == Some("NATS"), "{file}");
        assert_eq!(values["publisher"]["enabled"], named.is_some(), "{file}");
        let replicas = &sample["spec"]["publisher"]["replicas"];
        assert_eq!(values["publisher"]["replicas"], json!({"min": replicas["min"], "max": replicas["max"]}), "{file}");
    }
}

#[tokio::test]
async fn sizes_given_as_integers_are_bytes() {
    let client = client_with_crds().await;
    let sample = json!({
        "apiVersion": "operator.kyma-project.io/v1alpha1", "kind": "NATS",
        "metadata": {"name": "integers", "namespace": "default"},
        "spec": {"jetStream": {"fileStorage": {"size": 1073741824}, "memStorage": {"size": 536870912}}}
    });
    let stored = dry_run::<Nats>(&client, "integers", &sample).await;
    assert_eq!(stored["spec"]["jetStream"]["fileStorage"]["size"], 1073741824, "stored as the user wrote it");
    let nats: Nats = serde_json::from_value(stored).expect("reads");
    assert_eq!(nats.spec.jet_stream.file_storage.size, "1073741824");
    assert_eq!(nats.spec.jet_stream.mem_storage.size, "536870912");
    validate::nats(&nats.spec).expect("valid");
}

/// Each sample, created for real in a namespace of its own (its namespace is the only change),
/// reconciles to what it means: upstream's NATS CRs Ready (`nats-full-spec.yaml` names a StorageClass
/// this cluster lacks: Error naming the field, where upstream leaves the pods Pending); the Eventing
/// CR without a backend Warning, with NATS Ready, with EventMesh Warning until its Secret is there.
#[tokio::test]
async fn every_upstream_sample_reconciles_to_what_it_means() {
    let (client, _) = common::setup_with_manager("samples").await;
    let mut namespaces = Vec::new();
    for (module, (file, mut sample)) in samples("nats-manager")
        .into_iter()
        .map(|s| ("nats", s))
        .chain(samples("eventing-manager").into_iter().map(|s| ("eventing", s)))
    {
        let ns = common::TestNamespace::create(&client, &format!("sample-{module}")).await;
        sample["metadata"]["namespace"] = json!(ns.name);
        let name = sample["metadata"]["name"].as_str().expect("name").to_owned();
        let api = common::dynamic_api(&client, &sample).await.expect("served");
        let object: DynamicObject = serde_json::from_value(sample.clone()).expect("object");
        api.create(&PostParams::default(), &object).await.unwrap_or_else(|e| panic!("{file}: {e}"));
        let expected: (State, &[&str]) = match (module, file.as_str()) {
            ("nats", "nats-full-spec.yaml") => {
                (State::Error, &["spec.jetStream.fileStorage.storageClassName", "gce-sc-hdd"])
            }
            ("nats", _) => (State::Ready, &[]),
            ("eventing", "default.yaml") => (State::Warning, &["spec.backend is not set"]),
            ("eventing", "default_eventmesh.yaml") => (State::Warning, &["spec.backend.config.eventMeshSecret"]),
            ("eventing", _) => (State::Ready, &[]),
            _ => unreachable!(),
        };
        namespaces.push((module, ns, name, expected));
    }
    for (module, ns, name, (state, fragments)) in &namespaces {
        let matches = |object: Option<&DynamicObject>| {
            let Some(status) = object.map(|o| &o.data["status"]) else { return false };
            let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
            status["state"] == json!(state)
                && fragments
                    .iter()
                    .all(|f| conditions.iter().any(|c| c["message"].as_str().is_some_and(|m| m.contains(f))))
        };
        let resource = match *module {
            "eventing" => ApiResource::erase::<Eventing>(&()),
            _ => ApiResource::erase::<Nats>(&()),
        };
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns.name, &resource);
        common::wait_until(&api, name, matches, std::time::Duration::from_secs(60)).await;
    }
}
