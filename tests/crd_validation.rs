//! Every validation rule of the CRDs, enforced by the real API server: a valid object is accepted
//! (with its defaults filled in) and each invalid one is rejected with a message naming the field.

mod common;

use common::{TestNamespace, client_with_crds, rejection};
use eventing_manager::api::{Eventing, Kyma, Nats};
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource};
use serde_json::{Value, json};

async fn api<K: Resource<DynamicType = ()>>(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &ApiResource::erase::<K>(&()))
}

fn object<K: Resource<DynamicType = ()>>(name: &str, spec: Value) -> DynamicObject {
    let mut object = DynamicObject::new(name, &ApiResource::erase::<K>(&()));
    object.data = json!({ "spec": spec });
    object
}

async fn create(api: &Api<DynamicObject>, object: &DynamicObject) -> Result<DynamicObject, kube::Error> {
    api.create(&PostParams::default(), object).await
}

/// Creates each invalid spec and checks the rejection names every expected fragment.
async fn assert_each_rejected<K: Resource<DynamicType = ()>>(api: &Api<DynamicObject>, cases: &[(Value, &[&str])]) {
    for (index, (spec, expected)) in cases.iter().enumerate() {
        let message = rejection(create(api, &object::<K>(&format!("invalid-{index}"), spec.clone())).await);
        for fragment in *expected {
            assert!(
                message.contains(fragment),
                "spec {spec} was rejected, but the message lacks {fragment:?}: {message}"
            );
        }
    }
}

fn at<'a>(object: &'a DynamicObject, path: &str) -> &'a Value {
    path.split('.').fold(&object.data, |value, key| &value[key])
}

#[tokio::test]
async fn kyma_accepts_valid_modules_and_rejects_bad_ones() {
    let client = client_with_crds().await;
    let ns = TestNamespace::create(&client, "crd-kyma").await;
    let kymas = api::<Kyma>(&client, &ns.name).await;

    let created =
        create(&kymas, &object::<Kyma>("default", json!({"channel": "regular", "modules": [{"name": "eventing"}]})))
            .await
            .expect("a valid Kyma is accepted");
    assert_eq!(at(&created, "spec.modules")[0]["customResourcePolicy"], "CreateAndDelete");
    assert_eq!(at(&created, "spec.modules")[0]["managed"], true);

    assert_each_rejected::<Kyma>(
        &kymas,
        &[
            (json!({"channel": "Regular!"}), &["spec.channel", "should match"]),
            (
                json!({"channel": "regular", "modules": [{"name": "eventing"}, {"name": "eventing"}]}),
                &["spec.modules[1]", "Duplicate value"],
            ),
            (
                json!({"channel": "regular", "modules": [{"name": "eventing", "customResourcePolicy": "Sometimes"}]}),
                &["spec.modules[0].customResourcePolicy", "Unsupported value", "CreateAndDelete", "Ignore"],
            ),
            (json!({"modules": []}), &["spec.channel", "Required value"]),
        ],
    )
    .await;
}

#[tokio::test]
async fn eventing_accepts_each_backend_spelling_and_defaults_the_rest() {
    let client = client_with_crds().await;
    let ns = TestNamespace::create(&client, "crd-eventing").await;
    let eventings = api::<Eventing>(&client, &ns.name).await;

    // As upstream: no backend unless the spec names one (the controller then says Warning).
    let empty = create(&eventings, &object::<Eventing>("empty", json!({}))).await.expect("an empty spec is valid");
    assert_eq!(at(&empty, "spec.backend"), &Value::Null);
    assert_eq!(at(&empty, "spec.publisher.replicas"), &json!({"min": 2, "max": 2}));
    let defaulted = create(&eventings, &object::<Eventing>("defaults", json!({"backend": {}})))
        .await
        .expect("a backend without settings is valid");
    assert_eq!(at(&defaulted, "spec.backend.type"), "NATS");
    assert_eq!(at(&defaulted, "spec.backend.config.natsStreamStorageType"), "File");
    assert_eq!(at(&defaulted, "spec.backend.config.natsStreamMaxSize"), "700Mi");
    assert_eq!(at(&defaulted, "spec.publisher.replicas"), &json!({"min": 2, "max": 2}));
    assert_eq!(at(&defaulted, "spec.logging.logLevel"), "Info");

    for (name, spec) in [
        ("nats-lower", json!({"backend": {"type": "nats"}})),
        (
            "eventmesh",
            json!({"backend": {"type": "EventMesh", "config": {"eventMeshSecret": "kyma-system/eventing-backend"}}}),
        ),
        ("eventmesh-lower", json!({"backend": {"type": "eventmesh", "config": {"eventMeshSecret": "kyma-system/em"}}})),
        ("publisher", json!({"publisher": {"replicas": {"min": 1, "max": 5}}})),
        ("memory", json!({"backend": {"config": {"natsStreamStorageType": "Memory", "natsStreamMaxSize": "-1"}}})),
    ] {
        create(&eventings, &object::<Eventing>(name, spec.clone()))
            .await
            .unwrap_or_else(|e| panic!("{spec} must be accepted: {e}"));
    }
}

#[tokio::test]
async fn eventing_rejects_bad_backends_and_publisher_settings() {
    let client = client_with_crds().await;
    let ns = TestNamespace::create(&client, "crd-eventing-bad").await;
    let eventings = api::<Eventing>(&client, &ns.name).await;

    assert_each_rejected::<Eventing>(
        &eventings,
        &[
            (
                json!({"backend": {"type": "kafka"}}),
                &["spec.backend.type", "Unsupported value: \"kafka\"", "\"NATS\"", "\"EventMesh\""],
            ),
            (
                json!({"backend": {"type": "EventMesh"}}),
                &["spec.backend.config", "eventMeshSecret is required when spec.backend.type is EventMesh"],
            ),
            (json!({"backend": {"type": "eventmesh", "config": {}}}), &["eventMeshSecret is required"]),
            (
                json!({"backend": {"type": "EventMesh", "config": {"eventMeshSecret": "noslash"}}}),
                &["spec.backend.config.eventMeshSecret", "must have the form <namespace>/<name>"],
            ),
            (
                json!({"publisher": {"replicas": {"min": 3, "max": 2}}}),
                &["spec.publisher.replicas", "min must be less than or equal to spec.publisher.replicas.max"],
            ),
            (
                json!({"publisher": {"replicas": {"min": 0, "max": 2}}}),
                &["spec.publisher.replicas.min", "greater than or equal to 1"],
            ),
            (
                json!({"backend": {"config": {"natsStreamStorageType": "Disk"}}}),
                &["spec.backend.config.natsStreamStorageType", "Unsupported value"],
            ),
            (json!({"backend": {"config": {"natsStreamReplicas": 0}}}), &["spec.backend.config.natsStreamReplicas"]),
            (
                json!({"backend": {"config": {"natsStreamMaxSize": "lots"}}}),
                &["spec.backend.config.natsStreamMaxSize", "must be a whole number of bytes"],
            ),
            (json!({"logging": {"logLevel": "verbose"}}), &["spec.logging.logLevel", "Unsupported value"]),
        ],
    )
    .await;
}

#[tokio::test]
async fn nats_defaults_and_rejects_invalid_specs() {
    let client = client_with_crds().await;
    let ns = TestNamespace::create(&client, "crd-nats").await;
    let nats = api::<Nats>(&client, &ns.name).await;

    let defaulted = create(&nats, &object::<Nats>("defaults", json!({}))).await.expect("an empty spec is valid");
    assert_eq!(at(&defaulted, "spec.cluster.size"), 3);
    assert_eq!(at(&defaulted, "spec.jetStream.fileStorage"), &json!({"enabled": true, "size": "1Gi"}));
    assert_eq!(at(&defaulted, "spec.jetStream.memStorage"), &json!({"enabled": true, "size": "1Gi"}));
    assert_eq!(at(&defaulted, "spec.pvcRetentionPolicy"), "Retain");
    assert_eq!(at(&defaulted, "spec.service.type"), "ClusterIP");
    assert_eq!(at(&defaulted, "spec.leafNodes.port"), 7422);

    let edge = json!({
        "cluster": {"size": 1, "name": "edge-1", "routes": ["nats://other:6222"]},
        "leafNodes": {"remotes": [{"urls": ["nats-leaf://primary.example:7422"], "credentials": {"name": "primary-creds", "key": "edge.creds"}}]},
        "service": {"type": "NodePort", "nodePorts": {"client": 30422, "leafNodes": 30722}}
    });
    create(&nats, &object::<Nats>("edge", edge)).await.expect("an edge cluster spec is valid");

    assert_each_rejected::<Nats>(
        &nats,
        &[
            (json!({"cluster": {"size": 2}}), &["spec.cluster.size", "must be odd"]),
            (json!({"cluster": {"size": 0}}), &["spec.cluster.size", "greater than or equal to 1"]),
            (json!({"cluster": {"name": "Bad_Name"}}), &["spec.cluster.name", "should match"]),
            (
                json!({"cluster": {"routes": ["http://x:6222"]}}),
                &["spec.cluster.routes", "must be nats://host:port or tls://host:port"],
            ),
            (
                json!({"cluster": {"routes": ["nats://a:1", "nats://a:1"]}}),
                &["spec.cluster.routes[1]", "Duplicate value"],
            ),
            (
                json!({"jetStream": {"memStorage": {"size": "big"}}}),
                &["spec.jetStream.memStorage.size", "must be a whole number of bytes"],
            ),
            (
                json!({"jetStream": {"fileStorage": {"size": "1 GB"}}}),
                &["spec.jetStream.fileStorage.size", "must be a whole number of bytes"],
            ),
            (json!({"leafNodes": {"port": 70000}}), &["spec.leafNodes.port", "less than or equal to 65535"]),
            (
                json!({"leafNodes": {"remotes": [{"urls": []}]}}),
                &["spec.leafNodes.remotes[0].urls", "at least 1 items"],
            ),
            (
                json!({"leafNodes": {"remotes": [{"urls": ["http://x"]}]}}),
                &["spec.leafNodes.remotes[0].urls", "must be nats-leaf://"],
            ),
            (
                json!({"leafNodes": {"authorization": {"user": "leaf"}}}),
                &["spec.leafNodes.authorization.password", "Required value"],
            ),
            (
                json!({"service": {"nodePorts": {"client": 30001}}}),
                &["spec.service.nodePorts", "only allowed when spec.service.type is NodePort"],
            ),
            (
                json!({"service": {"type": "NodePort", "nodePorts": {"client": 80}}}),
                &["spec.service.nodePorts.client", "greater than or equal to 30000"],
            ),
            (json!({"service": {"type": "LoadBalancer"}}), &["spec.service.type", "Unsupported value"]),
            (
                json!({"service": {"type": "NodePort", "nodePorts": {"client": 30001, "leafNodes": 30001}}}),
                &["spec.service.nodePorts", "client and spec.service.nodePorts.leafNodes must differ"],
            ),
            (
                json!({"pvcRetentionPolicy": "Keep"}),
                &["spec.pvcRetentionPolicy", "Unsupported value", "Retain", "Delete"],
            ),
        ],
    )
    .await;
}

/// Transition rules (`oldSelf`) run on updates: each change is tried on the same stored object.
#[tokio::test]
async fn nats_rejects_shrinking_storage_and_changing_immutable_fields() {
    let client = client_with_crds().await;
    let ns = TestNamespace::create(&client, "crd-nats-update").await;
    let nats = api::<Nats>(&client, &ns.name).await;
    let spec = json!({
        "cluster": {"name": "alpha"},
        "jetStream": {"fileStorage": {"storageClassName": "standard", "size": "2Gi"}}
    });
    create(&nats, &object::<Nats>("primary", spec)).await.expect("create");

    let merge = |patch: Value| {
        let nats = nats.clone();
        async move { nats.patch("primary", &PatchParams::default(), &Patch::Merge(json!({ "spec": patch }))).await }
    };
    let cases: &[(Value, &[&str])] = &[
        (
            json!({"jetStream": {"fileStorage": {"size": "1Gi"}}}),
            &["spec.jetStream.fileStorage.size", "may grow but never shrink"],
        ),
        (json!({"jetStream": {"fileStorage": {"size": "2047Mi"}}}), &["never shrink"]),
        (
            json!({"jetStream": {"fileStorage": {"storageClassName": "fixed-size"}}}),
            &["spec.jetStream.fileStorage.storageClassName", "immutable"],
        ),
        (
            json!({"jetStream": {"fileStorage": {"storageClassName": null}}}),
            &["spec.jetStream.fileStorage.storageClassName", "immutable"],
        ),
        (
            json!({"jetStream": {"fileStorage": {"enabled": false}}}),
            &["spec.jetStream.fileStorage.enabled", "immutable"],
        ),
        (json!({"cluster": {"size": 1}}), &["spec.cluster.size", "cannot go from several servers to 1"]),
        (json!({"jetStream": {"enabled": false}}), &["spec.jetStream.enabled", "immutable"]),
        (json!({"cluster": {"name": "beta"}}), &["spec.cluster.name", "immutable once set"]),
        (json!({"cluster": {"name": null}}), &["spec.cluster.name", "immutable once set"]),
        (
            json!({"accounts": [{"name": "APP"}], "defaultAccount": "APP"}),
            &["spec.accounts cannot be added to a cluster with JetStream"],
        ),
    ];
    for (patch, expected) in cases {
        let message = rejection(merge(patch.clone()).await);
        for fragment in *expected {
            assert!(
                message.contains(fragment),
                "patch {patch} was rejected, but the message lacks {fragment:?}: {message}"
            );
        }
    }

    let grown = merge(json!({"jetStream": {"fileStorage": {"size": "3Gi"}}, "cluster": {"size": 5}}))
        .await
        .expect("growing is allowed");
    assert_eq!(at(&grown, "spec.jetStream.fileStorage.size"), "3Gi");
    let same =
        merge(json!({"jetStream": {"fileStorage": {"size": "3072Mi"}}})).await.expect("an equal quantity is allowed");
    assert_eq!(at(&same, "spec.jetStream.fileStorage.size"), "3072Mi");

    // Accounts of a cluster with JetStream stay; without JetStream they may come and go.
    let with_accounts = json!({"accounts": [{"name": "APP"}], "defaultAccount": "APP"});
    create(&nats, &object::<Nats>("accounts", with_accounts)).await.expect("create");
    let emptied = nats
        .patch(
            "accounts",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"accounts": null, "defaultAccount": null}})),
        )
        .await;
    assert!(rejection(emptied).contains("nor all removed"));
    let core = json!({"jetStream": {"enabled": false}});
    create(&nats, &object::<Nats>("core", core)).await.expect("create");
    nats.patch("core", &PatchParams::default(), &Patch::Merge(json!({"spec": {"accounts": [{"name": "APP"}]}})))
        .await
        .expect("core NATS may get accounts");

    // A name may be set once on a cluster that had none.
    create(&nats, &object::<Nats>("unnamed", json!({}))).await.expect("create");
    nats.patch("unnamed", &PatchParams::default(), &Patch::Merge(json!({"spec": {"cluster": {"name": "gamma"}}})))
        .await
        .expect("setting the name the first time is allowed");
}
