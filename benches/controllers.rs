//! End-to-end figures of the controllers on the local control plane (`make bench` starts it):
//! latency from creating a NATS CR to state Ready, API writes for unchanged CRs over a resync
//! period, 200 CRs across 20 namespaces (time to all Ready, the manager's peak memory), the time
//! from enabling `eventing` in a Kyma CR to the module Ready there, from a backend switch to
//! Ready, and how soon the manager resumes after the real kube-apiserver was down (5 outages).
//! The manager runs as its own process, as in production. `cargo bench --bench controllers --
//! outage` runs only the sections whose name contains an argument (latency, idle, scale, kyma, outage).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use eventing_manager::api::eventing::{ActiveBackend, Eventing};
use eventing_manager::api::{Kyma, Nats, State};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client, ResourceExt};
use serde_json::json;

const MANAGER_NAMESPACE: &str = "eventing-manager-bench";
const RESYNC_SECONDS: u64 = 10;

struct Manager {
    child: Child,
    metrics_port: u16,
}

impl Drop for Manager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Manager {
    /// The sum of a counter over its label sets, read from /metrics (retried: a read can fail under load).
    fn counter(&self, name: &str) -> f64 {
        for _ in 0..10 {
            if let Some(text) = http_get(self.metrics_port, "/metrics").filter(|t| t.contains("# TYPE")) {
                return text
                    .lines()
                    .filter(|l| l.split(['{', ' ']).next() == Some(name))
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                    .sum();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("cannot read the manager's /metrics");
    }
    /// Peak and current resident memory of the manager process, in MiB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        (field("VmHWM:"), field("VmRSS:"))
    }
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response
        .starts_with("HTTP/1.1 200")
        .then(|| response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

async fn start_manager(client: &Client) -> Manager {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    // lifecycle-manager's real Kyma CRD (../shared/kyma beside the checkout) for standalone mode.
    let kyma_crd = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/kyma/lifecycle-manager/crds/operator.kyma-project.io_kymas.yaml"
    );
    let kyma_crd: CustomResourceDefinition =
        yaml_serde::from_str(&std::fs::read_to_string(kyma_crd).expect("../shared/kyma beside the checkout"))
            .expect("Kyma CRD");
    for crd in eventing_manager::api::crds().into_iter().chain([kyma_crd]) {
        crds.patch(&crd.name_any(), &PatchParams::apply("bench").force(), &Patch::Apply(&crd))
            .await
            .expect("apply CRD");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let _ = namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": MANAGER_NAMESPACE}})).expect("ns"),
        )
        .await;
    let metrics_port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let child = Command::new(env!("CARGO_BIN_EXE_eventing-manager"))
        .args([
            "run",
            "--kyma-mode",
            "standalone",
            "--manager-namespace",
            MANAGER_NAMESPACE,
            "--log-level",
            std::env::var("BENCH_MANAGER_LOG").as_deref().unwrap_or("warn"),
            "--log-format",
            "text",
        ])
        .args(["--resync-seconds", &RESYNC_SECONDS.to_string(), "--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the manager");
    let manager = Manager { child, metrics_port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get(metrics_port, "/readyz").is_none() {
        assert!(Instant::now() < deadline, "the manager did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    manager
}

async fn namespace(client: &Client, name: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": name, "labels": {"eventing-manager.kyma-project.io/bench": "true"}}}),
            )
            .expect("ns"),
        )
        .await
        .expect("create namespace");
}

fn nats(name: &str, size: i32) -> Nats {
    serde_json::from_value(json!({"apiVersion": "operator.kyma-project.io/v1alpha1", "kind": "NATS", "metadata": {"name": name}, "spec": {"cluster": {"size": size}}})).expect("NATS")
}

fn is_ready(n: Option<&Nats>) -> bool {
    n.and_then(|n| n.status.as_ref()).is_some_and(|s| s.state == Some(State::Ready))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Waits (at most `limit`) until the named object meets `condition`; milliseconds since `started`.
async fn millis_until<K>(
    api: &Api<K>,
    name: &str,
    condition: impl kube::runtime::wait::Condition<K>,
    started: Instant,
    limit: Duration,
) -> f64
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    tokio::time::timeout(limit, await_condition(api.clone(), name, condition))
        .await
        .unwrap_or_else(|_| panic!("{name} not there within {limit:?}"))
        .expect("watch");
    started.elapsed().as_secs_f64() * 1000.0
}

/// Sorts the samples and prints `what: median …, p95 …` (and `extra`).
fn report(what: &str, samples: &mut [f64], extra: &str) {
    samples.sort_by(f64::total_cmp);
    println!("{what}: median {:.0} ms, p95 {:.0} ms{extra}", percentile(samples, 0.5), percentile(samples, 0.95));
}

/// Deletes the benchmark's namespaces and waits until they are gone (the manager, still running,
/// removes its finalizers), so that one section's pods do not take the next one's node capacity.
async fn cleanup(client: &Client) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let selector = ListParams::default().labels("eventing-manager.kyma-project.io/bench=true");
    // Namespaces have no deletecollection: one by one.
    for namespace in namespaces.list_metadata(&selector).await.map(|l| l.items).unwrap_or_default() {
        let _ = namespaces.delete(&namespace.name_any(), &DeleteParams::background()).await;
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    while namespaces.list_metadata(&selector).await.map(|l| !l.items.is_empty()).unwrap_or(false) {
        assert!(Instant::now() < deadline, "benchmark namespaces were not deleted within 180s");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --all-targets` builds and starts benchmarks without --bench: measure only under `cargo bench`.
        println!("benches/nats_controller measures only under `cargo bench` (make bench)");
        return;
    }
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let section = |name: &str| only.is_empty() || only.iter().any(|o| name.contains(o.as_str()));
    let client = Client::try_default().await.expect("no control plane: run `make testenv-up` (make bench does)");
    let manager = start_manager(&client).await;
    cleanup(&client).await;
    let run_id = &uuid::Uuid::new_v4().simple().to_string()[..6];
    if section("latency") {
        latency_and_idle_writes(&client, &manager, run_id).await;
    }
    if section("scale") {
        scale(&client, &manager, run_id).await;
    }
    if section("kyma") {
        kyma_enable_and_switch(&client, run_id).await;
    }
    if section("outage") {
        outage_recovery(&client, run_id).await;
    }
}

/// 1. Latency from create to Ready; 2. API writes for unchanged CRs over a resync period.
async fn latency_and_idle_writes(client: &Client, manager: &Manager, run_id: &str) {
    // 1. Latency from create to Ready, 20 runs of a default (3 server) cluster.
    let mut latencies = Vec::new();
    for i in 0..20 {
        let ns = format!("bench-latency-{run_id}-{i}");
        namespace(client, &ns).await;
        let api: Api<Nats> = Api::namespaced(client.clone(), &ns);
        let started = Instant::now();
        api.create(&PostParams::default(), &nats("lat", 3)).await.expect("create");
        latencies.push(millis_until(&api, "lat", is_ready, started, Duration::from_secs(60)).await);
    }
    let (min, max) = latencies.iter().fold((f64::MAX, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    report("create → Ready (3 servers, 20 runs)", &mut latencies, &format!(", min {min:.0} ms, max {max:.0} ms"));

    // 2. API writes for unchanged CRs over a resync period (all 20 clusters above are unchanged now).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let writes_before = manager.counter("eventing_manager_api_writes_total");
    let reconciles_before = manager.counter("eventing_manager_reconciles_total");
    tokio::time::sleep(Duration::from_secs(RESYNC_SECONDS + 5)).await;
    let writes = manager.counter("eventing_manager_api_writes_total") - writes_before;
    let reconciles = manager.counter("eventing_manager_reconciles_total") - reconciles_before;
    println!(
        "idle: {writes} API writes during {reconciles} reconciles of 20 unchanged CRs over {}s (resync {RESYNC_SECONDS}s)",
        RESYNC_SECONDS + 5
    );
    cleanup(client).await;
}

/// 3. 200 CRs across 20 namespaces: time to all Ready, the manager's memory.
async fn scale(client: &Client, manager: &Manager, run_id: &str) {
    // 3. 200 CRs across 20 namespaces (1 server each, so the pods fit on the simulated nodes).
    let started = Instant::now();
    for n in 0..20 {
        let ns = format!("bench-scale-{run_id}-{n}");
        namespace(client, &ns).await;
        let api: Api<Nats> = Api::namespaced(client.clone(), &ns);
        for c in 0..10 {
            api.create(&PostParams::default(), &nats(&format!("c{c}"), 1)).await.expect("create");
        }
    }
    let all: Api<Nats> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let ready = all
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .iter()
            .filter(|n| {
                n.namespace().is_some_and(|ns| ns.starts_with(&format!("bench-scale-{run_id}"))) && is_ready(Some(n))
            })
            .count();
        if ready == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "only {ready} of 200 Ready after 180s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let elapsed = started.elapsed();
    let (peak, current) = manager.memory();
    println!(
        "200 NATS CRs in 20 namespaces: all Ready after {:.1} s; manager peak RSS {peak:.1} MiB, current {current:.1} MiB",
        elapsed.as_secs_f64()
    );
    cleanup(client).await;
}

/// 4. Enabling eventing in a Kyma CR; 5. backend switches.
async fn kyma_enable_and_switch(client: &Client, run_id: &str) {
    // 4. Enabling eventing in a Kyma CR → the module Ready in the Kyma CR, 10 runs.
    let mut enable = Vec::new();
    for i in 0..10 {
        let ns = format!("bench-kyma-{run_id}-{i}");
        namespace(client, &ns).await;
        let kymas: Api<Kyma> = Api::namespaced(client.clone(), &ns);
        let kyma: Kyma = serde_json::from_value(json!({"apiVersion": "operator.kyma-project.io/v1beta2", "kind": "Kyma", "metadata": {"name": "default"}, "spec": {"channel": "regular", "modules": [{"name": "eventing"}]}})).expect("Kyma");
        let started = Instant::now();
        kymas.create(&PostParams::default(), &kyma).await.expect("create Kyma");
        let module_ready = |k: Option<&Kyma>| {
            k.and_then(|k| k.status.as_ref()).is_some_and(|s| {
                s.modules
                    .iter()
                    .any(|m| m.name == "eventing" && m.state == eventing_manager::api::kyma::KymaState::Ready)
            })
        };
        enable.push(millis_until(&kymas, "default", module_ready, started, Duration::from_secs(90)).await);
    }
    report("Kyma CR enables eventing → module Ready in the Kyma CR (10 runs)", &mut enable, "");

    // 5. Backend switches NATS ⇄ EventMesh → Ready with the new backend, 10 switches.
    let ns = format!("bench-kyma-{run_id}-0");
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), &ns);
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "em"}, "stringData": {"client-id": "x"}}))
                .expect("secret"),
        )
        .await
        .expect("secret");
    let eventings: Api<Eventing> = Api::namespaced(client.clone(), &ns);
    let mut switches = Vec::new();
    for i in 0..10 {
        let (backend, active) = if i % 2 == 0 {
            (json!({"type": "EventMesh", "config": {"eventMeshSecret": format!("{ns}/em")}}), ActiveBackend::EventMesh)
        } else {
            (json!({"type": "NATS"}), ActiveBackend::Nats)
        };
        let started = Instant::now();
        let patched = eventings
            .patch("eventing", &PatchParams::default(), &Patch::Merge(json!({"spec": {"backend": backend}})))
            .await
            .expect("switch");
        let generation = patched.metadata.generation;
        let ready = move |e: Option<&Eventing>| {
            e.is_some_and(|e| {
                e.status.as_ref().is_some_and(|s| {
                    s.state == Some(State::Ready)
                        && s.active_backend == Some(active)
                        && s.observed_generation == generation
                })
            })
        };
        switches.push(millis_until(&eventings, "eventing", ready, started, Duration::from_secs(90)).await);
    }
    report("backend switch → Ready (10 switches NATS ⇄ EventMesh)", &mut switches, "");
    cleanup(client).await;
}

#[path = "../tests/common/apiserver.rs"]
mod apiserver;

/// Section 6: the real kube-apiserver is killed for 20 s, 5 times. After each outage a scale change
/// is written as soon as the server accepts writes; measured: the time until the StatefulSet has it.
async fn outage_recovery(client: &Client, run_id: &str) {
    const OUTAGE: Duration = Duration::from_secs(20);
    let ns = format!("bench-outage-{run_id}");
    namespace(client, &ns).await;
    let api: Api<Nats> = Api::namespaced(client.clone(), &ns);
    api.create(&PostParams::default(), &nats("o", 3)).await.expect("create");
    millis_until(&api, "o", is_ready, Instant::now(), Duration::from_secs(60)).await;
    let statefulsets: Api<k8s_openapi::api::apps::v1::StatefulSet> = Api::namespaced(client.clone(), &ns);
    let (mut resumes, mut serving) = (Vec::new(), Vec::new());
    let outages = std::env::var("BENCH_OUTAGES").ok().and_then(|n| n.parse().ok()).unwrap_or(5);
    for round in 0..outages {
        let size = if round % 2 == 0 { 5 } else { 3 };
        // The server answers seconds before it serves (its start-up hooks): the change is written
        // as soon as a write succeeds, and the manager's resumption is measured from there.
        let spec = json!({"cluster": {"size": size}});
        let (answers, written) = apiserver::outage_then_patch(&api, "o", spec, OUTAGE, Duration::from_secs(60)).await;
        serving.push(written.duration_since(answers).as_secs_f64() * 1000.0);
        let has_size =
            move |s: Option<&k8s_openapi::api::apps::v1::StatefulSet>| s.and_then(|s| s.spec.replicas) == Some(size);
        resumes.push(millis_until(&statefulsets, "o-nats", has_size, written, Duration::from_secs(120)).await);
    }
    report(
        "API server serving again after a 20 s outage → the change applied to the StatefulSet",
        &mut resumes,
        &format!(" ({outages} outages)"),
    );
    report("  (the API server's own start: port open → first write accepted)", &mut serving, "");
    cleanup(client).await;
}
