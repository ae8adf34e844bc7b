//! Every bad value of every CR field, asked of both answers: the API server (the CRD's schema and
//! CEL) refuses it naming the field, and the controller's own validation (`api::validate`, which
//! also checks CRs older than the CRD's rules, and which the control API shares) refuses it naming
//! the same field. Good values pass both. One rule set, one answer.

mod common;

use common::{TestNamespace, client_with_crds};
use eventing_manager::api::validate;
use eventing_manager::api::{EventingSpec, NatsSpec};
use kube::api::{ApiResource, DynamicObject, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

/// `(spec, field)`: the field both answers must name.
fn nats_cases() -> Vec<(Value, &'static str)> {
    vec![
        (json!({"cluster": {"size": 4}}), "spec.cluster.size"),
        (json!({"cluster": {"size": 0}}), "spec.cluster.size"),
        (json!({"cluster": {"routes": ["nats://a:0"]}}), "spec.cluster.routes"),
        (json!({"cluster": {"routes": ["nats://a:99999"]}}), "spec.cluster.routes"),
        (json!({"cluster": {"routes": ["nats://user:pw@a:6222"]}}), "spec.cluster.routes"),
        (json!({"cluster": {"routes": ["http://a:6222"]}}), "spec.cluster.routes"),
        (json!({"cluster": {"routes": ["nats://a"]}}), "spec.cluster.routes"),
        (json!({"jetStream": {"fileStorage": {"size": "-1Gi"}}}), "spec.jetStream.fileStorage.size"),
        (json!({"jetStream": {"fileStorage": {"size": "1e400"}}}), "spec.jetStream.fileStorage.size"),
        (json!({"jetStream": {"fileStorage": {"size": "1500m"}}}), "spec.jetStream.fileStorage.size"),
        (json!({"jetStream": {"fileStorage": {"size": "0"}}}), "spec.jetStream.fileStorage.size"),
        (json!({"jetStream": {"fileStorage": {"size": "1.5Ki"}}}), "spec.jetStream.fileStorage.size"),
        (json!({"jetStream": {"fileStorage": {"size": "1e-3"}}}), "spec.jetStream.fileStorage.size"),
        (json!({"jetStream": {"memStorage": {"size": "2Pi"}}}), "spec.jetStream.memStorage.size"),
        // Sizes may be integers (bytes), as upstream's int-or-string fields take them.
        (json!({"jetStream": {"fileStorage": {"size": 0}}}), "spec.jetStream.fileStorage.size"),
        (json!({"jetStream": {"memStorage": {"size": -5}}}), "spec.jetStream.memStorage.size"),
        (json!({"jetStream": {"memStorage": {"size": 2251799813685248_i64}}}), "spec.jetStream.memStorage.size"),
        (
            json!({"jetStream": {"fileStorage": {"storageClassName": "Not_A_Class"}}}),
            "spec.jetStream.fileStorage.storageClassName",
        ),
        (json!({"jetStream": {"memStorage": {"enabled": false}, "fileStorage": {"enabled": false}}}), "spec.jetStream"),
        (json!({"leafNodes": {"port": 4222}}), "spec.leafNodes.port"),
        (json!({"leafNodes": {"port": 8222}}), "spec.leafNodes.port"),
        (json!({"leafNodes": {"port": 0}}), "spec.leafNodes.port"),
        (json!({"leafNodes": {"remotes": [{"urls": ["nats-leaf://:::"]}]}}), "spec.leafNodes.remotes[0].urls"),
        (
            json!({"leafNodes": {"remotes": [{"urls": ["nats://leafuser:leafpassword@p:7422"]}]}}),
            "spec.leafNodes.remotes[0].urls",
        ),
        (json!({"leafNodes": {"remotes": [{"urls": ["nats-leaf://p:70000"]}]}}), "spec.leafNodes.remotes[0].urls"),
        (json!({"leafNodes": {"remotes": [{"urls": ["nats-leaf://p"], "user": "edge"}]}}), "spec.leafNodes.remotes[0]"),
        (
            json!({"leafNodes": {"remotes": [{"urls": ["nats-leaf://p"], "token": {"name": "t", "key": "k"}, "credentials": {"name": "c", "key": "k"}}]}}),
            "spec.leafNodes.remotes[0]",
        ),
        (
            json!({"leafNodes": {"remotes": [{"urls": ["nats-leaf://p"], "user": "a b", "password": {"name": "s", "key": "k"}}]}}),
            "spec.leafNodes.remotes[0].user",
        ),
        (
            json!({"systemAccount": {"users": [{"user": "admin", "password": {"name": "s", "key": "k"}}]}}),
            "spec.systemAccount.users",
        ),
        (
            json!({"systemAccount": {"users": [{"user": "ops", "password": {"name": "s", "key": "k"}}, {"user": "ops", "password": {"name": "t", "key": "k"}}]}}),
            "spec.systemAccount.users[1]",
        ),
        (json!({"accounts": [{"name": "$G"}]}), "spec.accounts[0].name"),
        (json!({"accounts": [{"name": "1st"}]}), "spec.accounts[0].name"),
        (
            json!({"accounts": [{"name": "APP", "users": [{"user": "admin", "password": {"name": "s", "key": "k"}}]}]}),
            "spec.accounts",
        ),
        (
            json!({"accounts": [{"name": "A", "users": [{"user": "u", "password": {"name": "s", "key": "k"}}]}, {"name": "B", "users": [{"user": "u", "password": {"name": "t", "key": "k"}}]}]}),
            "spec.accounts",
        ),
        (
            json!({"systemAccount": {"users": [{"user": "ops", "password": {"name": "s", "key": "k"}}]}, "accounts": [{"name": "A", "users": [{"user": "ops", "password": {"name": "t", "key": "k"}}]}]}),
            "spec.accounts",
        ),
        (json!({"accounts": [{"name": "A"}], "defaultAccount": "B"}), "spec.defaultAccount"),
        (json!({"defaultAccount": "A"}), "spec.defaultAccount"),
        (
            json!({"leafNodes": {"enabled": true, "authorization": {"user": "leaf", "password": {"name": "s", "key": "k"}, "account": "B"}}, "accounts": [{"name": "A"}]}),
            "spec.leafNodes.authorization.account",
        ),
        (json!({"leafNodes": {"remotes": [{"urls": ["nats-leaf://p"], "account": "B"}]}}), "spec.leafNodes.remotes"),
        (json!({"tls": {"leafNodes": {"secretName": "Not_A_Secret"}}}), "spec.tls.leafNodes.secretName"),
        (
            json!({"leafNodes": {"remotes": [{"urls": ["tls://p:7422"], "tls": {"secretName": "UPPER"}}]}}),
            "spec.leafNodes.remotes[0].tls.secretName",
        ),
        (json!({"service": {"type": "NodePort", "nodePorts": {"client": 80}}}), "spec.service.nodePorts.client"),
        (json!({"labels": {"team": "v".repeat(1 << 20)}}), "spec.labels"),
        (json!({"labels": {"team": "-bad-"}}), "spec.labels"),
        (json!({"labels": {"bad key": "x"}}), "spec.labels"),
        (json!({"labels": {"app.kubernetes.io/name": "x"}}), "spec.labels"),
        (json!({"annotations": {"eventing-manager.kyma-project.io/owner-name": "x"}}), "spec.annotations"),
    ]
}

fn eventing_cases() -> Vec<(Value, &'static str)> {
    vec![
        (json!({"backend": {"config": {"natsStreamMaxSize": "-2Gi"}}}), "spec.backend.config.natsStreamMaxSize"),
        (json!({"backend": {"config": {"natsStreamMaxSize": "1500m"}}}), "spec.backend.config.natsStreamMaxSize"),
        (json!({"backend": {"config": {"natsStreamMaxSize": "0"}}}), "spec.backend.config.natsStreamMaxSize"),
        (json!({"backend": {"config": {"natsStreamMaxSize": -2}}}), "spec.backend.config.natsStreamMaxSize"),
        (json!({"backend": {"config": {"natsStreamReplicas": 6}}}), "spec.backend.config.natsStreamReplicas"),
        (json!({"backend": {"config": {"natsMaxMsgsPerTopic": -2}}}), "spec.backend.config.natsMaxMsgsPerTopic"),
        (json!({"backend": {"config": {"domain": "-bad.example.com"}}}), "spec.backend.config.domain"),
        (json!({"backend": {"config": {"domain": "a..b"}}}), "spec.backend.config.domain"),
        (json!({"backend": {"config": {"domain": "a_b.com"}}}), "spec.backend.config.domain"),
        (json!({"backend": {"config": {"eventTypePrefix": ""}}}), "spec.backend.config.eventTypePrefix"),
        (json!({"backend": {"config": {"eventTypePrefix": "a b"}}}), "spec.backend.config.eventTypePrefix"),
        (json!({"publisher": {"replicas": {"min": 3, "max": 2}}}), "spec.publisher.replicas"),
        (json!({"labels": {"team": "v".repeat(64)}}), "spec.labels"),
        (json!({"labels": {"eventing-manager.kyma-project.io/owner-kind": "NATS"}}), "spec.labels"),
    ]
}

fn good_nats() -> Vec<Value> {
    vec![
        json!({"cluster": {"routes": ["nats://a.b:6222", "tls://10.0.0.1:65535", "nats://[::1]:1"]}}),
        json!({"jetStream": {"fileStorage": {"size": "1e3"}, "memStorage": {"size": "1Pi"}}}),
        json!({"jetStream": {"fileStorage": {"size": "1023Ti"}, "memStorage": {"size": "1125899906842624"}}}),
        json!({"jetStream": {"fileStorage": {"size": 1073741824, "storageClassName": "default"}, "memStorage": {"size": 1}}}),
        json!({"jetStream": {"enabled": false, "memStorage": {"enabled": false}, "fileStorage": {"enabled": false}}}),
        json!({"leafNodes": {"port": 7000, "remotes": [{"urls": ["nats-leaf://p", "wss://p:443", "tls://[::1]:7422"]}]}}),
        json!({"tls": {"client": {"secretName": "c", "verify": true}, "cluster": {"secretName": "r"}, "leafNodes": {"secretName": "l"}}}),
        json!({"leafNodes": {"remotes": [
            {"urls": ["nats-leaf://p:32222"], "user": "leafuser", "password": {"name": "leaf", "key": "password"}},
            {"urls": ["nats-leaf://q:32222"], "token": {"name": "leaf", "key": "token"}}
        ]}}),
        json!({"labels": {"example.com/team": "a.b-c_d", "empty": ""}, "annotations": {"note": "any text at all"}}),
        json!({
            "accounts": [
                {"name": "APP", "users": [{"user": "orders", "password": {"name": "s", "key": "orders"}}]},
                {"name": "AUDIT", "jetStream": false, "users": [{"user": "audit", "password": {"name": "s", "key": "audit"}}]}
            ],
            "defaultAccount": "APP",
            "systemAccount": {"users": [{"user": "ops", "password": {"name": "s", "key": "ops"}}]},
            "leafNodes": {
                "enabled": true,
                "authorization": {"user": "leaf", "password": {"name": "s", "key": "leaf"}, "account": "AUDIT"},
                "remotes": [{"urls": ["nats-leaf://p"], "account": "APP"}]
            }
        }),
    ]
}

fn good_eventing() -> Vec<Value> {
    vec![
        json!({"backend": {"config": {"natsStreamMaxSize": "-1", "eventTypePrefix": "sap.kyma.custom"}}}),
        json!({"backend": {"config": {"natsStreamMaxSize": "700Mi", "natsMaxMsgsPerTopic": -1}}}),
        json!({"backend": {"config": {"natsStreamMaxSize": -1}}}),
        json!({"backend": {"config": {"domain": "Kyma.Example-1.com"}}}),
        json!({"backend": {"config": {"natsStreamMaxSize": 734003200}}}),
    ]
}

/// The API server's answer: `Err(message)` when refused.
async fn server(client: &Client, ns: &str, kind: &str, plural: &str, spec: &Value) -> Result<(), String> {
    let resource = ApiResource {
        group: "operator.kyma-project.io".into(),
        version: "v1alpha1".into(),
        api_version: "operator.kyma-project.io/v1alpha1".into(),
        kind: kind.into(),
        plural: plural.into(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "operator.kyma-project.io/v1alpha1", "kind": kind,
        "metadata": {"name": "bad-input"}, "spec": spec
    }))
    .expect("object");
    api.create(&PostParams { dry_run: true, ..Default::default() }, &object).await.map(drop).map_err(|e| e.to_string())
}

/// The controller's answer.
fn controller(kind: &str, spec: &Value) -> Result<(), validate::FieldError> {
    match kind {
        "NATS" => validate::nats(&serde_json::from_value::<NatsSpec>(spec.clone()).expect("NATS spec deserializes")),
        _ => validate::eventing(
            &serde_json::from_value::<EventingSpec>(spec.clone()).expect("Eventing spec deserializes"),
        ),
    }
}

#[tokio::test]
async fn every_bad_value_is_refused_by_the_api_server_and_the_controller_naming_the_same_field() {
    let client = client_with_crds().await;
    let ns = TestNamespace::create(&client, "bad-input").await;
    let mut failures = Vec::new();
    let tables =
        [("NATS", "nats", nats_cases(), good_nats()), ("Eventing", "eventings", eventing_cases(), good_eventing())];
    for (kind, plural, bad, good) in tables {
        for (spec, field) in bad {
            let shown = eventing_manager::text::bounded(&spec.to_string(), 120).into_owned();
            match server(&client, &ns.name, kind, plural, &spec).await {
                Ok(()) => failures.push(format!("{kind} {shown}: accepted by the API server")),
                Err(message) if !message.contains(field) => {
                    failures.push(format!("{kind} {shown}: the API server's message lacks {field}: {message}"))
                }
                Err(message) if message.len() > 4096 => {
                    failures.push(format!("{kind} {shown}: the API server's message has {} bytes", message.len()))
                }
                Err(_) => {}
            }
            match controller(kind, &spec) {
                Ok(()) => failures.push(format!("{kind} {shown}: accepted by the controller")),
                Err(error) if !error.field.starts_with(field) => {
                    failures.push(format!("{kind} {shown}: the controller names {} instead of {field}", error.field))
                }
                Err(error) if error.message.len() > 1024 => {
                    failures.push(format!("{kind} {shown}: the controller's message has {} bytes", error.message.len()))
                }
                Err(_) => {}
            }
        }
        for spec in good {
            if let Err(message) = server(&client, &ns.name, kind, plural, &spec).await {
                failures.push(format!("{kind} {spec}: refused by the API server: {message}"));
            }
            if let Err(error) = controller(kind, &spec) {
                failures.push(format!("{kind} {spec}: refused by the controller: {error}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
