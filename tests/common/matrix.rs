#![allow(dead_code)] // each test binary uses a different part of the matrix

//! The render matrix of the module chart: each case is a set of overrides a user would write.
//! Shared by the golden, nats-server and dry-run tests and by the benchmark.

use eventing_manager::chart::{self, Manifest, Release};
use serde_json::{Value, json};

pub struct Case {
    pub name: &'static str,
    pub overrides: Value,
    pub api_versions: Vec<String>,
    /// Render `charts/nats` alone, as a NATS CR does, instead of the umbrella chart.
    pub nats_only: bool,
}

fn case(name: &'static str, overrides: Value) -> Case {
    Case { name, overrides, api_versions: Vec::new(), nats_only: false }
}

pub fn cases() -> Vec<Case> {
    vec![
        case("defaults", json!({})),
        case(
            "eventmesh",
            json!({"nats": {"enabled": false}, "publisher": {"backend": "EventMesh", "eventMesh": {"secretName": "eventing-backend"}}}),
        ),
        case("single-node", json!({"nats": {"cluster": {"size": 1}}})),
        case("core-nats", json!({"nats": {"jetStream": {"enabled": false}}})),
        case(
            "edge-leaf-password",
            json!({"nats": {"cluster": {"size": 1}, "leafNodes": {"remotes": [{
                "urls": ["nats-leaf://primary:7422"],
                "authSecret": {"env": "LEAF_REMOTE_0_SECRET", "name": "to-primary", "key": "password"},
                "urlEnvs": [{"name": "LEAF_REMOTE_0_URL_0", "value": "nats-leaf://edge:$(LEAF_REMOTE_0_SECRET)@primary:7422"}]
            }]}}}),
        ),
        case(
            "accounts",
            json!({"nats": {
                "accounts": [
                    {"name": "APP", "jetStream": true, "users": [{"user": "orders", "passwordEnv": "ACCOUNT_0_USER_0_PASSWORD", "passwordSecret": {"name": "app-users", "key": "orders"}}]},
                    {"name": "AUDIT", "jetStream": false, "users": []}
                ],
                "defaultAccount": "APP",
                "leafNodes": {
                    "enabled": true,
                    "authorization": {"enabled": true, "user": "edge", "passwordSecret": {"name": "leaf-auth", "key": "password"}, "account": "AUDIT"}
                }
            }}),
        ),
        case("five-nodes", json!({"nats": {"cluster": {"size": 5, "routes": ["nats://other-cluster:6222"]}}})),
        case(
            "memory-only",
            json!({"nats": {"jetStream": {"memStorage": {"enabled": true, "size": "2Gi"}, "fileStorage": {"enabled": false}}}}),
        ),
        case(
            "file-storage-class",
            json!({"nats": {"jetStream": {"fileStorage": {"storageClassName": "standard", "size": "5Gi"}}}}),
        ),
        case(
            "edge-leaf-remote",
            json!({"nats": {
                "cluster": {"size": 1, "name": "edge-1"},
                "jetStream": {"domain": "edge-1"},
                "leafNodes": {"remotes": [{
                    "urls": ["nats-leaf://primary.example.com:7422"],
                    "credentialsSecret": {"name": "primary-creds", "key": "edge.creds"}
                }]}
            }}),
        ),
        case(
            "primary-leaf-authorization",
            json!({"nats": {"leafNodes": {
                "enabled": true,
                "port": 7422,
                "authorization": {"enabled": true, "user": "edge", "passwordSecret": {"name": "leaf-auth", "key": "password"}}
            }}}),
        ),
        case(
            "nodeport",
            json!({"nats": {
                "service": {"type": "NodePort", "nodePorts": {"client": 30422, "leafNodes": 30722}},
                "leafNodes": {"enabled": true}
            }}),
        ),
        Case { api_versions: vec!["networking.istio.io/v1".into()], ..case("istio", json!({})) },
        Case {
            nats_only: true,
            ..case(
                "nats-cr-primary",
                json!({"labels": {"team": "messaging"}, "annotations": {"owner": "platform"}, "logging": {"debug": true}, "exporter": {"enabled": true}}),
            )
        },
        case(
            "publisher-autoscaled",
            json!({"global": {"labels": {"env": "prod"}}, "publisher": {"replicas": {"min": 2, "max": 5}, "logLevel": "Debug"}}),
        ),
    ]
}

impl Case {
    pub fn render(&self, release: &Release) -> Vec<Manifest> {
        let chart = if self.nats_only { chart::bundled_nats() } else { chart::bundled() };
        let chart = chart.unwrap_or_else(|e| panic!("loading the bundled chart: {e}"));
        chart::render(&chart, &self.overrides, release, &self.api_versions)
            .unwrap_or_else(|e| panic!("case {}: {e}", self.name))
    }

    /// Whether the case renders a NATS server.
    pub fn has_nats(&self) -> bool {
        self.nats_only || self.overrides.pointer("/nats/enabled") != Some(&json!(false))
    }
}

/// The `nats.conf` of the rendered ConfigMap.
pub fn nats_conf(manifests: &[Manifest]) -> Option<String> {
    manifests
        .iter()
        .find(|m| m.kind() == "ConfigMap" && m.name().ends_with("-config"))
        .and_then(|m| m.object.pointer("/data/nats.conf"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}
