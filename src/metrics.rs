//! Prometheus metrics of the manager: reconciles and their duration per controller, errors by
//! reason, objects applied and pruned, and the API writes the manager makes, by verb.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// Series that go up and down; every other series is a counter or a histogram.
const GAUGES: &[&str] = &[
    "eventing_manager_leader",
    "eventing_manager_kyma_status_refused",
    "eventing_manager_crds_missing",
    "eventing_manager_nats_jetstream_storage_ratio",
];

const DURATION_BUCKETS: &[f64] = &[0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
struct Registry {
    /// `name{labels}` → value; counters only grow.
    series: BTreeMap<String, f64>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

fn add(name: &str, labels: &[(&str, &str)], value: f64) {
    let labels = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(",");
    let key = format!("{name}{{{labels}}}");
    let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    *registry.series.entry(key).or_default() += value;
}

/// 1 while this replica holds the leader Lease (or runs without leader election), else 0.
pub fn set_leader(leader: bool) {
    let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    registry.series.insert("eventing_manager_leader{}".into(), f64::from(u8::from(leader)));
}

/// 1 while standalone mode refuses to write Kyma status because lifecycle-manager runs (its
/// Manifest CRD is served), else 0.
pub fn set_kyma_status_refused(refused: bool) {
    let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    registry.series.insert("eventing_manager_kyma_status_refused{}".into(), f64::from(u8::from(refused)));
}

/// How many of the CRDs the controllers need are not established (checked every second while
/// waiting; 0 once the controllers run).
pub fn set_crds_missing(count: usize) {
    let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    registry.series.insert("eventing_manager_crds_missing{}".into(), count as f64);
}

/// The share (0–1) of its JetStream file store that each server of a NATS CR uses; `None` drops the
/// CR's series (it is gone, or its servers could not be asked).
pub fn set_jetstream_storage(namespace: &str, name: &str, servers: Option<&[(String, f64)]>) {
    const NAME: &str = "eventing_manager_nats_jetstream_storage_ratio";
    let prefix = format!("{NAME}{{namespace=\"{namespace}\",name=\"{name}\",");
    let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    registry.series.retain(|key, _| !key.starts_with(&prefix));
    for (server, ratio) in servers.unwrap_or_default() {
        registry.series.insert(format!("{prefix}server=\"{server}\"}}"), *ratio);
    }
}

pub fn reconciled(controller: &str, duration: Duration) {
    add("eventing_manager_reconciles_total", &[("controller", controller)], 1.0);
    let seconds = duration.as_secs_f64();
    for bucket in DURATION_BUCKETS {
        if seconds <= *bucket {
            add(
                "eventing_manager_reconcile_duration_seconds_bucket",
                &[("controller", controller), ("le", &bucket.to_string())],
                1.0,
            );
        }
    }
    add("eventing_manager_reconcile_duration_seconds_bucket", &[("controller", controller), ("le", "+Inf")], 1.0);
    add("eventing_manager_reconcile_duration_seconds_sum", &[("controller", controller)], seconds);
    add("eventing_manager_reconcile_duration_seconds_count", &[("controller", controller)], 1.0);
}

pub fn reconcile_failed(controller: &str, reason: &str) {
    add("eventing_manager_reconcile_errors_total", &[("controller", controller), ("reason", reason)], 1.0);
}

pub fn objects_applied(count: usize) {
    add("eventing_manager_objects_applied_total", &[], count as f64);
}

pub fn objects_pruned(count: usize) {
    add("eventing_manager_objects_pruned_total", &[], count as f64);
}

/// One write request to the API server (`create`, `patch`, `delete`), by kind.
pub fn api_write(verb: &str, kind: &str) {
    add("eventing_manager_api_writes_total", &[("verb", verb), ("kind", kind)], 1.0);
}

/// One request to the API server, by verb (every request, reads and watches included).
pub fn api_request(verb: &str) {
    add("eventing_manager_api_requests_total", &[("verb", verb)], 1.0);
}

/// One request to the NATS control API, by operation and outcome (`ok`, `error`).
pub fn control_request(operation: &str, outcome: &str) {
    add("eventing_manager_control_requests_total", &[("operation", operation), ("outcome", outcome)], 1.0);
}

/// The sum of a counter over all its label sets (tests and benchmarks read it).
pub fn total(name: &str) -> f64 {
    let registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    registry.series.iter().filter(|(key, _)| key.split('{').next() == Some(name)).map(|(_, v)| v).sum()
}

/// The Prometheus text exposition of every series.
pub fn render() -> String {
    let registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = String::new();
    let mut last_name = "";
    for (key, value) in &registry.series {
        let name = key.split('{').next().unwrap_or_default();
        let family = name.trim_end_matches("_bucket").trim_end_matches("_sum").trim_end_matches("_count");
        if family != last_name {
            let kind = if family.ends_with("_seconds") {
                "histogram"
            } else if GAUGES.contains(&family) {
                "gauge"
            } else {
                "counter"
            };
            let _ = writeln!(out, "# TYPE {family} {kind}");
            last_name = family;
        }
        let key = key.replace("{}", "");
        let _ = writeln!(out, "{key} {value}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_prometheus_text_format() {
        api_write("patch", "TestKind");
        api_write("patch", "TestKind");
        reconciled("test-controller", Duration::from_millis(20));
        let text = render();
        assert!(text.contains("# TYPE eventing_manager_api_writes_total counter"), "{text}");
        assert!(text.contains("eventing_manager_api_writes_total{verb=\"patch\",kind=\"TestKind\"} 2"), "{text}");
        assert!(
            text.contains(
                "eventing_manager_reconcile_duration_seconds_bucket{controller=\"test-controller\",le=\"0.05\"} 1"
            ),
            "{text}"
        );
        assert!(!text.contains("le=\"0.01\"} 1\neventing_manager_reconcile_duration_seconds_bucket{controller=\"test-controller\",le=\"0.005\"}"));
        assert!(total("eventing_manager_api_writes_total") >= 2.0);
    }
}
