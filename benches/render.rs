//! Render speed of the module chart (`make bench`): one full render with default values, and one
//! with a large values file, on a chart compiled once (as the controllers hold it); the values
//! check alone.

use criterion::{Criterion, criterion_group, criterion_main};

// The allocator of the manager binary (src/main.rs): renders allocate a lot, so measure with it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use eventing_manager::chart::{self, Release};
use serde_json::{Value, json};

/// A large but realistic values file: `labels` labels and annotations on every object, 9 servers,
/// 32 extra routes, 16 leaf node remotes, NodePort exposure, exporter, scheduling constraints.
fn large_values(labels: usize) -> Value {
    let labels: serde_json::Map<String, Value> =
        (0..labels).map(|i| (format!("example.com/label-{i}"), json!(format!("value-{i}")))).collect();
    let routes: Vec<Value> = (0..32).map(|i| json!(format!("nats://peer-{i}.example.com:6222"))).collect();
    let remotes: Vec<Value> = (0..16)
        .map(|i| json!({"urls": [format!("nats-leaf://primary-{i}.example.com:7422")], "credentialsSecret": {"name": format!("creds-{i}"), "key": "edge.creds"}}))
        .collect();
    json!({
        "global": {"labels": labels, "annotations": labels},
        "nats": {
            "cluster": {"size": 9, "routes": routes},
            "leafNodes": {"enabled": true, "remotes": remotes, "authorization": {"enabled": true, "user": "u", "passwordSecret": {"name": "s", "key": "k"}}},
            "service": {"type": "NodePort", "nodePorts": {"client": 30422, "leafNodes": 30722}},
            "exporter": {"enabled": true},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "nats", "effect": "NoSchedule"}],
            "nodeSelector": {"pool": "messaging"}
        },
        "publisher": {"replicas": {"min": 2, "max": 10}}
    })
}

fn render(c: &mut Criterion) {
    let compiled = chart::bundled().expect("bundled chart").compile().expect("compiles");
    let release = Release { name: "eventing".into(), namespace: "kyma-system".into() };
    let istio = vec!["networking.istio.io/v1".to_owned()];
    c.bench_function("render module chart, default values", |b| {
        b.iter(|| compiled.render(&json!({}), &release, &istio).expect("renders"))
    });
    let large = large_values(20);
    c.bench_function("render module chart, large values (20 labels)", |b| {
        b.iter(|| compiled.render(&large, &release, &istio).expect("renders"))
    });
    let huge = large_values(200);
    c.bench_function("render module chart, huge values (200 labels)", |b| {
        b.iter(|| compiled.render(&huge, &release, &istio).expect("renders"))
    });
    // The part of a render that checks values.schema.json (the nats subchart's, the largest).
    let nats = chart::bundled_nats().expect("nats chart");
    let schema = nats.schema.clone().expect("values.schema.json");
    let mut nats_values = nats.values.clone();
    chart::merge_values(&mut nats_values, &large["nats"]);
    c.bench_function("check large nats values against values.schema.json", |b| {
        b.iter(|| chart::schema::validate(&schema, &nats_values, "nats").expect("valid"))
    });
    c.bench_function("load and compile the bundled chart", |b| {
        b.iter(|| chart::bundled().expect("bundled").compile().expect("compiles"))
    });
}

criterion_group!(benches, render);
criterion_main!(benches);
