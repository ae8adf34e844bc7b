//! Load figures of the NATS control API (`make bench`): 1,000 `config.get` and 200 `config.put`
//! requests, one at a time from one client over loopback, against a real nats-server and the local
//! control plane. Reports median, 99th percentile and maximum latency and the errors. Bounded: it
//! stops after the counts or two minutes, whichever comes first.

#[path = "../tests/common/nats.rs"]
#[allow(dead_code)] // the tests use all of it, the bench part
mod nats;

use std::time::{Duration, Instant};

use eventing_manager::api::Nats;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

const GETS: usize = 1000;
const PUTS: usize = 200;
const BUDGET: Duration = Duration::from_secs(120);
const PUT_MEDIAN_TARGET_MS: f64 = 50.0;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(what: &str, mut millis: Vec<f64>, errors: usize) -> f64 {
    millis.sort_by(f64::total_cmp);
    let median = percentile(&millis, 0.5);
    println!(
        "control API {what}: {} requests, median {median:.2} ms, p99 {:.2} ms, max {:.2} ms, errors {errors}",
        millis.len(),
        percentile(&millis, 0.99),
        millis.last().copied().unwrap_or(f64::NAN),
    );
    median
}

async fn timed(client: &async_nats::Client, subject: &str, payload: Vec<u8>) -> (f64, bool) {
    let started = Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(5), client.request(subject.to_owned(), payload.into())).await;
    let ok = match reply {
        Ok(Ok(message)) => serde_json::from_slice::<serde_json::Value>(&message.payload).is_ok_and(|v| v["ok"] == true),
        _ => false,
    };
    (started.elapsed().as_secs_f64() * 1000.0, ok)
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --all-targets` builds benches and runs them without --bench: nothing to do.
    }
    let client = Client::try_default().await.expect("no control plane: run `make testenv-up` (make bench does)");
    let namespace = format!("control-bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": namespace}})).expect("ns"))
        .await
        .expect("namespace");
    let cluster = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let cr: Nats = serde_json::from_value(json!({
        "apiVersion": "operator.kyma-project.io/v1alpha1", "kind": "NATS", "metadata": {"name": "bench"},
        "spec": {"cluster": {"size": 1, "name": cluster}}
    }))
    .expect("NATS");
    Api::<Nats>::namespaced(client.clone(), &namespace).create(&PostParams::default(), &cr).await.expect("NATS CR");

    let server = nats::NatsServer::start(&[]);
    let _api = nats::spawn_control(client.clone(), nats::control_config(&server.url(), "bench"));
    let caller = async_nats::connect(server.url()).await.expect("connect");
    let get = format!("_SAT.{cluster}.config.get");
    let put = format!("_SAT.{cluster}.config.put");
    nats::request(&caller, &get, b"", Duration::from_secs(30)).await;

    let started = Instant::now();
    let (mut get_ms, mut get_errors) = (Vec::with_capacity(GETS), 0);
    for _ in 0..GETS {
        if started.elapsed() > BUDGET {
            break;
        }
        let (ms, ok) = timed(&caller, &get, Vec::new()).await;
        get_ms.push(ms);
        get_errors += usize::from(!ok);
    }
    let (mut put_ms, mut put_errors) = (Vec::with_capacity(PUTS), 0);
    for i in 0..PUTS {
        if started.elapsed() > BUDGET {
            break;
        }
        // Every put is a real change (a new generation).
        let body = json!({"routes": [format!("nats://site-{i}.example:6222")]}).to_string().into_bytes();
        let (ms, ok) = timed(&caller, &put, body).await;
        put_ms.push(ms);
        put_errors += usize::from(!ok);
    }
    report("config.get", get_ms, get_errors);
    let put_median = report("config.put", put_ms, put_errors);
    let met = if put_median < PUT_MEDIAN_TARGET_MS && put_errors == 0 && get_errors == 0 { "met" } else { "MISSED" };
    println!("control API target (no errors, put median under {PUT_MEDIAN_TARGET_MS} ms): {met}");
    let _ = namespaces.delete(&namespace, &DeleteParams::default()).await;
}
