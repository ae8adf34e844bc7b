//! Harness for the integration tests: a client for the real control plane named by `KUBECONFIG`
//! (`make testenv-up` starts one), our CRDs installed, and a temporary namespace per test.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod apiserver;
pub mod crs;
pub mod matrix;
pub mod nats;
pub mod process;
pub mod sites;

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{Condition, await_condition, conditions};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

pub const FIELD_MANAGER: &str = "eventing-manager-tests";
const NO_CONTROL_PLANE: &str = "no Kubernetes control plane is reachable: run `make testenv-up` and \
     `export KUBECONFIG=$PWD/.testenv/kubeconfig` (or `make test`, which does both)";

/// A client for the control plane in `KUBECONFIG`; panics with instructions when none answers.
pub async fn client() -> Client {
    let client = match Client::try_default().await {
        Ok(client) => client,
        Err(error) => panic!("{NO_CONTROL_PLANE} ({error})"),
    };
    match tokio::time::timeout(Duration::from_secs(10), client.apiserver_version()).await {
        Ok(Ok(_)) => client,
        Ok(Err(error)) => panic!("{NO_CONTROL_PLANE} ({error})"),
        Err(_) => panic!("{NO_CONTROL_PLANE} (no answer within 10s)"),
    }
}

/// lifecycle-manager's real CRDs, unmodified upstream files beside the checkout (`../shared/kyma`).
pub const LIFECYCLE_MANAGER_CRDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/kyma/lifecycle-manager/crds");

/// One of lifecycle-manager's CRDs by plural (`kymas`, `moduletemplates`, `manifests`, ...).
pub fn lifecycle_manager_crd(plural: &str) -> CustomResourceDefinition {
    let path = format!("{LIFECYCLE_MANAGER_CRDS}/operator.kyma-project.io_{plural}.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (the tests need ../shared/kyma beside the checkout)"));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Applies `crd` (server-side, forced) and waits until it is established.
pub async fn install_crd(client: &Client, crd: &CustomResourceDefinition) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd.name_any();
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut crd = crd.clone();
    crd.metadata.managed_fields = None;
    crds.patch(&name, &params, &Patch::Apply(&crd)).await.unwrap_or_else(|e| panic!("applying CRD {name}: {e}"));
    wait_until(&crds, &name, conditions::is_crd_established(), Duration::from_secs(30)).await;
}

/// A client with our CRDs and lifecycle-manager's Kyma, ModuleTemplate and ModuleReleaseMeta CRDs
/// (the real ones; not its Manifest CRD, whose presence means lifecycle-manager runs) established.
pub async fn client_with_crds() -> Client {
    let client = client().await;
    for crd in eventing_manager::api::crds() {
        install_crd(&client, &crd).await;
    }
    for plural in ["kymas", "moduletemplates", "modulereleasemetas"] {
        install_crd(&client, &lifecycle_manager_crd(plural)).await;
    }
    client
}

/// Waits until `condition` holds for the named object, or panics after `timeout` with its last state.
pub async fn wait_until<K>(api: &Api<K>, name: &str, condition: impl Condition<K>, timeout: Duration) -> K
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    match tokio::time::timeout(timeout, await_condition(api.clone(), name, condition)).await {
        Ok(Ok(Some(object))) => object,
        Ok(Ok(None)) => panic!("{name} does not exist"),
        Ok(Err(error)) => panic!("watching {name}: {error}"),
        Err(_) => {
            panic!("{name} did not reach the expected state within {timeout:?}; last: {:#?}", api.get_opt(name).await)
        }
    }
}

/// Waits until the named object is gone.
pub async fn wait_deleted<K>(api: &Api<K>, name: &str, timeout: Duration)
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match api.get_opt(name).await {
            Ok(None) => return,
            Ok(Some(object)) if tokio::time::Instant::now() >= deadline => {
                panic!("{name} still exists after {timeout:?}: {object:#?}")
            }
            Ok(Some(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(error) => panic!("reading {name}: {error}"),
        }
    }
}

/// A namespace of its own for one test, deleted when the value is dropped (also when the test panics).
pub struct TestNamespace {
    pub name: String,
}

impl TestNamespace {
    pub async fn create(client: &Client, prefix: &str) -> Self {
        let name = format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let mut namespace = Namespace::default();
        namespace.metadata.name = Some(name.clone());
        namespace.metadata.labels =
            Some([("eventing-manager.kyma-project.io/test".to_owned(), "true".to_owned())].into());
        namespaces.create(&PostParams::default(), &namespace).await.unwrap_or_else(|e| panic!("creating {name}: {e}"));
        Self { name }
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop cannot await, and the test's runtime may be shutting down: delete from a thread of our own.
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let client = Client::try_default().await.ok()?;
                Api::<Namespace>::all(client).delete(&name, &DeleteParams::background()).await.ok()
            })
        })
        .join();
        if !matches!(deleted, Ok(Some(_))) {
            eprintln!("warning: could not delete test namespace {}", self.name);
        }
    }
}

/// The API server's message of a rejected request, or a panic when the request was accepted.
pub fn rejection<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> String {
    match result {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "expected 422 Invalid, got {status:?}");
            status.message
        }
        Err(other) => panic!("expected the API server to reject the object as invalid, got {other}"),
        Ok(object) => panic!("expected the API server to reject the object, but it was accepted: {object:#?}"),
    }
}

/// Makes the cluster serve `networking.istio.io/v1` DestinationRules (our stand-in CRD).
pub async fn install_istio_destinationrule_crd(client: &Client) {
    let text = include_str!("../fixtures/istio-destinationrule-crd.yaml");
    let crd: CustomResourceDefinition = yaml_serde::from_str(text).expect("fixture parses");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd.name_any();
    crds.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&crd))
        .await
        .unwrap_or_else(|e| panic!("applying {name}: {e}"));
    wait_until(&crds, &name, conditions::is_crd_established(), Duration::from_secs(30)).await;
}

/// The API of `object`'s kind (resolved through discovery), in its namespace (`default` when it names none).
pub async fn dynamic_api(client: &Client, object: &serde_json::Value) -> Result<Api<kube::api::DynamicObject>, String> {
    use kube::api::GroupVersionKind;
    use kube::discovery::{self, Scope};
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, object["kind"].as_str().unwrap_or_default());
    let (resource, capabilities) =
        discovery::pinned_kind(client, &gvk).await.map_err(|e| format!("discovering {gvk:?}: {e}"))?;
    Ok(match capabilities.scope {
        Scope::Namespaced => Api::namespaced_with(
            client.clone(),
            object["metadata"]["namespace"].as_str().unwrap_or("default"),
            &resource,
        ),
        Scope::Cluster => Api::all_with(client.clone(), &resource),
    })
}

/// The YAML documents of a file of this repository (`module-template.yaml`, `release/...`).
pub fn repo_documents(path: &str) -> Vec<serde_json::Value> {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    text.split("\n---\n")
        .map(|doc| yaml_serde::from_str::<serde_json::Value>(doc).unwrap_or_else(|e| panic!("{path}: {e}")))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// Server-side applies one rendered object (optionally as a dry run), resolving its resource through discovery.
pub async fn apply_manifest(
    client: &Client,
    manifest: &eventing_manager::chart::Manifest,
    dry_run: bool,
) -> Result<kube::api::DynamicObject, String> {
    let api = dynamic_api(client, &manifest.object).await?;
    // Strict: an unknown or misspelled field is an error, not a warning and a dropped field.
    let mut params = PatchParams::apply(FIELD_MANAGER).force().validation_strict();
    params.dry_run = dry_run;
    api.patch(manifest.name(), &params, &Patch::Apply(&manifest.object))
        .await
        .map_err(|e| format!("{} {} from {}: {e}", manifest.kind(), manifest.name(), manifest.source))
}

/// Runs the manager's controllers in this test process, once, on a runtime of their own (each
/// `#[tokio::test]` has its own runtime, which ends with the test). Tests use their own namespaces.
pub fn start_manager() {
    start_manager_with(eventing_manager::controllers::Config {
        manager_namespace: MANAGER_NAMESPACE.into(),
        kyma_mode: eventing_manager::controllers::KymaMode::Standalone,
        ..Default::default()
    });
}

/// Starts the manager in this test binary with `config`, once: later calls find it running.
pub fn start_manager_with(config: eventing_manager::controllers::Config) {
    static STARTED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    STARTED.get_or_init(|| {
        // `TEST_LOG=debug cargo test ... -- --nocapture` shows the in-process manager's log.
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let client = client_with_crds().await;
                let namespaces: Api<Namespace> = Api::all(client.clone());
                let mut manager_ns = Namespace::default();
                manager_ns.metadata.name = Some(config.manager_namespace.clone());
                let _ = namespaces.create(&PostParams::default(), &manager_ns).await;
                let _ = ready_tx.send(());
                if let Err(error) = eventing_manager::controllers::run(client, config, std::future::pending()).await {
                    panic!("the manager stopped: {error}");
                }
            });
        });
        ready_rx.recv().expect("manager thread started");
    });
}

/// The manager running, our CRDs installed, and a namespace of the test's own.
pub async fn setup_with_manager(prefix: &str) -> (Client, TestNamespace) {
    start_manager();
    let client = client_with_crds().await;
    let namespace = TestNamespace::create(&client, prefix).await;
    (client, namespace)
}

/// Where the test manager keeps its credentials key.
pub const MANAGER_NAMESPACE: &str = "eventing-manager-tests";

/// An Eventing CR whose status reports `state` for `backend` at its current generation.
pub fn eventing_in_state(
    state: eventing_manager::api::State,
    backend: eventing_manager::api::eventing::ActiveBackend,
) -> impl Fn(Option<&eventing_manager::api::eventing::Eventing>) -> bool {
    move |e| {
        e.is_some_and(|e| {
            e.status.as_ref().is_some_and(|s| {
                s.state == Some(state)
                    && s.active_backend == Some(backend)
                    && s.observed_generation == e.metadata.generation
            })
        })
    }
}

/// `GET path` on 127.0.0.1:`port` (a monitoring or metrics endpoint): the status code and the body.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    // One write: a server may read the request line in one go.
    // HTTP/1.0: the answer is never chunked (a large /routez would be, to HTTP/1.1).
    let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((code, body))
}

/// An empty directory of this test process under the system's temporary directory.
pub fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
