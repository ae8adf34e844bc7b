//! The NATS control API against a real nats-server and the real control plane: put, get, status and
//! discover; every bad input gets an error naming it and leaves the CR alone; two replicas in one
//! queue group answer each request once; the API reconnects after a server restart; credentials
//! from a Secret and from files; arbitrary payloads; and a put route reaching a running server.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::nats::{NatsServer, control_config, free_port, localize, request, spawn_control};
use common::{TestNamespace, client_with_crds, http_get, start_manager, wait_until};
use eventing_manager::api::State;
use eventing_manager::api::nats::Nats;
use eventing_manager::chart::Release;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);
const ANSWER: Duration = Duration::from_secs(20);

/// A NATS CR whose cluster has a name unique to this run (the API finds clusters cluster-wide).
async fn create_cluster(client: &Client, ns: &str, spec: Value) -> (Api<Nats>, String) {
    let cluster = format!("c{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let mut spec = spec;
    spec["cluster"]["name"] = json!(cluster);
    let api: Api<Nats> = Api::namespaced(client.clone(), ns);
    let nats: Nats = serde_json::from_value(json!({
        "apiVersion": "operator.kyma-project.io/v1alpha1", "kind": "NATS", "metadata": {"name": "n"}, "spec": spec
    }))
    .expect("NATS");
    api.create(&PostParams::default(), &nats).await.expect("create NATS");
    (api, cluster)
}

/// A client, a namespace of the test's own and a NATS CR in it with a unique cluster name.
async fn setup(prefix: &str, spec: Value) -> (Client, TestNamespace, Api<Nats>, String) {
    let client = client_with_crds().await;
    let ns = TestNamespace::create(&client, prefix).await;
    let (api, cluster) = create_cluster(&client, &ns.name, spec).await;
    (client, ns, api, cluster)
}

async fn connect(url: &str) -> async_nats::Client {
    async_nats::connect(url).await.expect("connect to the test nats-server")
}

fn subject(cluster: &str, operation: &str) -> String {
    format!("_SAT.{cluster}.{operation}")
}

#[tokio::test]
async fn put_get_status_and_discover() {
    start_manager();
    let (client, ns, api, cluster) = setup("control-put", json!({"cluster": {"size": 1}})).await;
    let server = NatsServer::start(&[]);
    let _api_replica = spawn_control(client.clone(), control_config(&server.url(), "replica-a"));
    let nats = connect(&server.url()).await;

    let before = request(&nats, &subject(&cluster, "config.get"), b"", ANSWER).await;
    assert_eq!(before["ok"], true, "{before}");
    assert_eq!(before["name"], cluster.as_str());
    assert_eq!(before["routes"], json!([]));
    assert_eq!(before["resource"], format!("{}/n", ns.name));

    let put = json!({"name": cluster, "routes": ["nats://primary.example:6222", "tls://10.0.0.7:6222"],
        "leafRemotes": [{"urls": ["nats://hub.example:7422"], "credentialsSecret": "hub-creds/edge.creds"}]});
    let reply = request(&nats, &subject(&cluster, "config.put"), put.to_string().as_bytes(), ANSWER).await;
    assert_eq!(reply, json!({"ok": true, "generation": 2}));
    let cr = api.get("n").await.expect("CR");
    assert_eq!(cr.spec.cluster.routes, vec!["nats://primary.example:6222", "tls://10.0.0.7:6222"]);
    assert_eq!(cr.spec.leaf_nodes.remotes[0].credentials.as_ref().map(|c| c.key.as_str()), Some("edge.creds"));
    assert_eq!(cr.spec.cluster.size, 1, "fields the put does not name stay");

    let after = request(&nats, &subject(&cluster, "config.get"), b"", ANSWER).await;
    assert_eq!(after["routes"], put["routes"]);
    assert_eq!(after["leafRemotes"], put["leafRemotes"]);
    assert_eq!(after["generation"], 2);

    // A put of one field leaves the other: clearing the routes keeps the remote.
    let reply = request(&nats, &subject(&cluster, "config.put"), br#"{"routes": []}"#, ANSWER).await;
    assert_eq!(reply["ok"], true, "{reply}");
    let cr = api.get("n").await.expect("CR");
    assert!(cr.spec.cluster.routes.is_empty());
    assert_eq!(cr.spec.leaf_nodes.remotes.len(), 1);

    // The remote's Secret does not exist: the controller says so; status reports it.
    let status = request(&nats, &subject(&cluster, "status"), b"", ANSWER).await;
    assert_eq!(status["ok"], true);
    assert_eq!(status["replicas"], 1);
    let mut creds = Secret::default();
    creds.metadata.name = Some("hub-creds".into());
    creds.string_data = Some(BTreeMap::from([("edge.creds".to_owned(), "jwt".to_owned())]));
    Api::<Secret>::namespaced(client.clone(), &ns.name).create(&PostParams::default(), &creds).await.expect("secret");
    let ready = |n: Option<&Nats>| n.and_then(|n| n.status.as_ref()).is_some_and(|s| s.state == Some(State::Ready));
    wait_until(&api, "n", ready, TIMEOUT).await;
    let status = request(&nats, &subject(&cluster, "status"), b"", ANSWER).await;
    assert_eq!((status["state"].as_str(), status["readyReplicas"].as_i64()), (Some("Ready"), Some(1)), "{status}");
    assert!(status["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == "Available")), "{status}");

    let discovered = request(&nats, "_SAT.discover", b"", ANSWER).await;
    assert_eq!(discovered["manager"], "replica-a");
    let clusters = discovered["clusters"].as_array().expect("clusters");
    assert!(clusters.iter().any(|c| c["name"] == cluster.as_str() && c["resource"] == format!("{}/n", ns.name)));
}

#[tokio::test]
async fn bad_inputs_get_errors_naming_them_and_leave_the_cr_alone() {
    let client = client_with_crds().await;
    let ns = TestNamespace::create(&client, "control-bad").await;
    let (api, cluster) =
        create_cluster(&client, &ns.name, json!({"cluster": {"size": 1, "routes": ["nats://a:6222"]}})).await;
    let server = NatsServer::start(&[]);
    let mut config = control_config(&server.url(), "replica-a");
    config.limits.max_routes = 3;
    config.limits.max_payload = 4096;
    let _api_replica = spawn_control(client.clone(), config);
    let nats = connect(&server.url()).await;
    let before = api.get("n").await.expect("CR");

    let put = subject(&cluster, "config.put");
    let too_many = json!({"routes": ["nats://a:1", "nats://b:1", "nats://c:1", "nats://d:1"]}).to_string();
    let too_big = format!(r#"{{"routes": ["nats://{}:1"]}}"#, "a".repeat(5000));
    let cases: Vec<(String, String, &str, &str)> = vec![
        (put.clone(), "{not json".into(), "", "malformed JSON"),
        (put.clone(), "[]".into(), "", "must be a JSON object"),
        (put.clone(), r#"{"rutes": []}"#.into(), "rutes", "unknown field"),
        (put.clone(), r#"{"routes": "nats://a:1"}"#.into(), "routes", "must be an array"),
        (put.clone(), r#"{"routes": [6222]}"#.into(), "routes[0]", "must be a string"),
        (put.clone(), r#"{"routes": ["http://a:6222"]}"#.into(), "routes[0]", "must start with one of nats://, tls://"),
        (put.clone(), r#"{"routes": ["nats://a:1", "nats://a:1"]}"#.into(), "routes[1]", "duplicates routes[0]"),
        (put.clone(), too_many, "routes", "4 routes; at most 3 are allowed"),
        (put.clone(), too_big, "", "at most 4096 are allowed"),
        (
            put.clone(),
            r#"{"leafRemotes": [{"urls": ["nats://user:pw@x:1"]}]}"#.into(),
            "leafRemotes[0].urls[0]",
            "carries credentials; name a Secret",
        ),
        (put.clone(), r#"{"name": "someone-else"}"#.into(), "name", "cannot change"),
        (subject("no-such-cluster", "config.put"), "{}".into(), "cluster", "no NATS cluster named"),
        (subject("no-such-cluster", "status"), "".into(), "cluster", "no NATS cluster named"),
        (subject(&cluster, "config.delete"), "{}".into(), "subject", "is not an operation"),
    ];
    for (subject, payload, field, message) in &cases {
        let reply = request(&nats, subject, payload.as_bytes(), ANSWER).await;
        assert_eq!(reply["ok"], false, "{subject} {payload}: {reply}");
        assert_eq!(reply["error"]["field"].as_str().unwrap_or(""), *field, "{subject} {payload}: {reply}");
        let said = reply["error"]["message"].as_str().unwrap_or_default();
        assert!(said.contains(message), "{subject} {payload}: expected {message:?} in {said:?}");
    }
    let after = api.get("n").await.expect("CR");
    // The spec and its generation (status writes of a running controller change the resourceVersion).
    assert_eq!(after.metadata.generation, before.metadata.generation, "no bad input changed the CR");
    assert_eq!(json!(after.spec), json!(before.spec), "no bad input changed the spec");
    // And the API still works.
    let reply = request(&nats, &put, br#"{"routes": ["nats://b:6222"]}"#, ANSWER).await;
    assert_eq!(reply["ok"], true, "{reply}");
}

#[tokio::test]
async fn two_replicas_answer_each_request_once_and_both_join_discover() {
    let (client, _ns, _api, cluster) = setup("control-queue", json!({"cluster": {"size": 1}})).await;
    let server = NatsServer::start(&[]);
    let _a = spawn_control(client.clone(), control_config(&server.url(), "replica-a"));
    let _b = spawn_control(client.clone(), control_config(&server.url(), "replica-b"));
    let nats = connect(&server.url()).await;
    // Both answer discover (no queue group there) once both are up.
    let inbox = nats.new_inbox();
    let mut replies = nats.subscribe(inbox.clone()).await.expect("inbox");
    let mut managers = Vec::new();
    let deadline = tokio::time::Instant::now() + ANSWER;
    while managers.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "both replicas did not answer discover: {managers:?}");
        nats.publish_with_reply("_SAT.discover", inbox.clone(), "".into()).await.expect("publish");
        managers.clear();
        while let Ok(Some(reply)) = tokio::time::timeout(Duration::from_millis(500), replies.next()).await {
            // "No responders" (a status, no payload) while the replicas subscribe.
            let Ok(reply) = serde_json::from_slice::<Value>(&reply.payload) else { continue };
            managers.push(reply["manager"].as_str().unwrap_or_default().to_owned());
        }
        managers.sort();
    }
    assert_eq!(managers, vec!["replica-a", "replica-b"]);

    // 50 gets to one inbox: exactly 50 replies, not 100.
    let inbox = nats.new_inbox();
    let mut replies = nats.subscribe(inbox.clone()).await.expect("inbox");
    for _ in 0..50 {
        nats.publish_with_reply(subject(&cluster, "config.get"), inbox.clone(), "".into()).await.expect("publish");
    }
    let mut answered = 0;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(2), replies.next()).await {
        answered += 1;
    }
    assert_eq!(answered, 50, "each request is answered exactly once");
}

#[tokio::test]
async fn the_api_answers_again_after_the_nats_server_restarts() {
    let (client, _ns, _api, cluster) = setup("control-restart", json!({"cluster": {"size": 1}})).await;
    let mut server = NatsServer::start(&[]);
    let _replica = spawn_control(client.clone(), control_config(&server.url(), "replica-a"));
    let nats = connect(&server.url()).await;
    assert_eq!(request(&nats, &subject(&cluster, "config.get"), b"", ANSWER).await["ok"], true);
    server.restart();
    // Both sides reconnect by themselves; the API resubscribes.
    let reply = request(&nats, &subject(&cluster, "config.get"), b"", Duration::from_secs(30)).await;
    assert_eq!(reply["ok"], true, "{reply}");
}

#[tokio::test]
async fn credentials_come_from_a_secret_or_from_files() {
    use eventing_manager::control::CredentialsSource;
    let (client, ns, _api, cluster) = setup("control-auth", json!({"cluster": {"size": 1}})).await;
    let dir = std::env::temp_dir().join(format!("control-auth-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");

    // user and password from a Secret
    let mut secret = Secret::default();
    secret.metadata.name = Some("control-nats".into());
    secret.string_data =
        Some(BTreeMap::from([("user".to_owned(), "ops".to_owned()), ("password".to_owned(), "s3cret".to_owned())]));
    Api::<Secret>::namespaced(client.clone(), &ns.name).create(&PostParams::default(), &secret).await.expect("secret");
    let with_password = NatsServer::start(&["--user", "ops", "--pass", "s3cret"]);
    let mut config = control_config(&with_password.url(), "by-secret");
    config.credentials = CredentialsSource::Secret { namespace: ns.name.clone(), name: "control-nats".into() };
    let _a = spawn_control(client.clone(), config);
    let caller = async_nats::ConnectOptions::with_user_and_password("ops".into(), "s3cret".into())
        .connect(with_password.url())
        .await
        .expect("connect");
    assert_eq!(request(&caller, &subject(&cluster, "config.get"), b"", ANSWER).await["ok"], true);

    // a token from a file
    let with_token = NatsServer::start(&["--auth", "t0ken"]);
    std::fs::write(dir.join("token"), "t0ken\n").expect("token file");
    let mut config = control_config(&with_token.url(), "by-token");
    config.credentials = CredentialsSource::TokenFile(dir.join("token"));
    let _b = spawn_control(client.clone(), config);
    let caller =
        async_nats::ConnectOptions::with_token("t0ken".into()).connect(with_token.url()).await.expect("connect");
    assert_eq!(request(&caller, &subject(&cluster, "config.get"), b"", ANSWER).await["ok"], true);

    // an nkey seed from a file
    let user = nkeys::KeyPair::new_user();
    let conf = dir.join("nkey.conf");
    std::fs::write(&conf, format!("authorization {{ users: [{{nkey: {}}}] }}\n", user.public_key())).expect("conf");
    let with_nkey = NatsServer::start(&["-c", conf.to_str().expect("path")]);
    std::fs::write(dir.join("seed"), user.seed().expect("seed")).expect("seed file");
    let mut config = control_config(&with_nkey.url(), "by-nkey");
    config.credentials = CredentialsSource::NkeySeedFile(dir.join("seed"));
    let _c = spawn_control(client.clone(), config);
    let caller = async_nats::ConnectOptions::with_nkey(user.seed().expect("seed"))
        .connect(with_nkey.url())
        .await
        .expect("connect");
    assert_eq!(request(&caller, &subject(&cluster, "config.get"), b"", ANSWER).await["ok"], true);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The rendered nats.conf of server 0 of `nats`, runnable on 127.0.0.1; its two peers are not running.
fn local_conf(nats: &Nats, ports: (u16, u16, u16), dir: &std::path::Path) -> String {
    let name = nats.name_any();
    let namespace = nats.namespace().unwrap_or_default();
    let release = Release { name: name.clone(), namespace: namespace.clone() };
    let values = eventing_manager::controllers::nats::overrides(&name, &nats.spec);
    let chart = eventing_manager::chart::bundled_nats().expect("chart").compile().expect("compile");
    let conf = common::matrix::nats_conf(&chart.render(&values, &release, &[]).expect("render")).expect("nats.conf");
    localize(&conf, ports, dir, 0, (&name, &namespace), &[ports.1, free_port(), free_port()])
}

fn routes_to(http: u16, server_name: &str) -> bool {
    let routez: Value =
        http_get(http, "/routez").and_then(|(_, body)| serde_json::from_str(&body).ok()).unwrap_or_default();
    routez["routes"].as_array().is_some_and(|routes| routes.iter().any(|r| r["remote_name"] == server_name))
}

#[tokio::test]
async fn a_put_route_reaches_a_running_server_after_the_reload() {
    let (client, _ns, api, cluster) = setup("control-reload", json!({"cluster": {"size": 3}})).await;
    let control_server = NatsServer::start(&[]);
    let _replica = spawn_control(client.clone(), control_config(&control_server.url(), "replica-a"));
    let nats = connect(&control_server.url()).await;
    let dir = std::env::temp_dir().join(format!("control-reload-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");

    // A server of another site, in the same NATS cluster, that the put will route to.
    let peer_cluster_port = free_port();
    let peer_conf = dir.join("peer.conf");
    std::fs::write(
        &peer_conf,
        format!("server_name: peer\ncluster {{ name: {cluster:?}, listen: \"127.0.0.1:{peer_cluster_port}\" }}\n"),
    )
    .expect("peer conf");
    let _peer = NatsServer::start(&["-c", peer_conf.to_str().expect("path")]);

    // Server 0 of the cluster, running the configuration the chart renders for the CR.
    let ports = (free_port(), free_port(), free_port());
    let conf_file = dir.join("nats.conf");
    std::fs::write(&conf_file, local_conf(&api.get("n").await.expect("CR"), ports, &dir)).expect("conf");
    let server = NatsServer::start_with(
        &["-c", conf_file.to_str().expect("path")],
        &[("SERVER_NAME", "edge-0"), ("ADMIN_PASSWORD", "admin")],
    );
    let up = tokio::time::Instant::now() + Duration::from_secs(30);
    while http_get(ports.2, "/routez").is_none() {
        assert!(tokio::time::Instant::now() < up, "server 0 did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!routes_to(ports.2, "peer"), "no route to the peer before the put");

    let put = json!({"routes": [format!("nats://127.0.0.1:{peer_cluster_port}")]});
    let reply = request(&nats, &subject(&cluster, "config.put"), put.to_string().as_bytes(), ANSWER).await;
    assert_eq!(reply["ok"], true, "{reply}");

    // What the config reloader does in the pod: the new nats.conf, then SIGHUP.
    let conf = local_conf(&api.get("n").await.expect("CR"), ports, &dir);
    assert!(conf.contains(&format!("\"nats://127.0.0.1:{peer_cluster_port}\"")), "{conf}");
    std::fs::write(&conf_file, conf).expect("conf");
    server.reload();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !routes_to(ports.2, "peer") {
        assert!(tokio::time::Instant::now() < deadline, "the new route did not connect within 30s of the reload");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn arbitrary_payloads_always_get_a_reply_and_only_valid_ones_change_the_cr() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (api, cluster, nats, _server, _ns, _replica) = runtime.block_on(async {
        let client = client_with_crds().await;
        let ns = TestNamespace::create(&client, "control-fuzz").await;
        let (api, cluster) = create_cluster(&client, &ns.name, json!({"cluster": {"size": 1}})).await;
        let server = NatsServer::start(&[]);
        let replica = spawn_control(client.clone(), control_config(&server.url(), "replica-a"));
        let nats = connect(&server.url()).await;
        (api, cluster, nats, server, ns, replica)
    });
    let url =
        prop_oneof!["(nats|tls)://[a-z]{1,5}:[1-9][0-9]{0,3}", "(http|nats|tls|wss)://[a-z@:/ ]{0,8}:[0-9]{0,6}",];
    let value = prop_oneof![
        Just(Value::Null),
        any::<i32>().prop_map(Value::from),
        url.clone().prop_map(Value::from),
        proptest::collection::vec(url.clone().prop_map(Value::from), 0..4).prop_map(Value::from),
        proptest::collection::vec(
            proptest::collection::vec(url.prop_map(Value::from), 0..3).prop_map(|urls| json!({"urls": urls})),
            0..3
        )
        .prop_map(Value::from),
    ];
    let payload = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::btree_map(
            prop_oneof![
                Just("name".to_owned()),
                Just("routes".to_owned()),
                Just("leafRemotes".to_owned()),
                "[a-z]{1,5}"
            ],
            value,
            0..3
        )
        .prop_map(|m| serde_json::to_vec(&m).expect("json")),
    ];
    let mut runner = TestRunner::new(Config { cases: 64, ..Config::default() });
    let accepted = std::sync::atomic::AtomicUsize::new(0);
    let refused = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&payload, |payload| {
        runtime.block_on(async {
            let before = api.get("n").await.expect("CR");
            let reply = request(&nats, &subject(&cluster, "config.put"), &payload, ANSWER).await;
            let after = api.get("n").await.expect("CR");
            if reply["ok"] == true {
                accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let sent: Value = serde_json::from_slice(&payload).expect("an accepted payload is JSON");
                if let Some(routes) = sent.get("routes") {
                    prop_assert_eq!(&json!(after.spec.cluster.routes), routes);
                }
            } else {
                refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                prop_assert!(reply["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", reply);
                // The spec and its generation (status writes of a running controller change the resourceVersion).
                prop_assert_eq!(after.metadata.generation, before.metadata.generation, "a refused put changed the CR");
                prop_assert_eq!(json!(after.spec), json!(before.spec), "a refused put changed the spec");
            }
            Ok(())
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let (accepted, refused) = (accepted.into_inner(), refused.into_inner());
    assert!(accepted > 0 && refused > 0, "both kinds were exercised: {accepted} accepted, {refused} refused");
}

#[tokio::test]
async fn a_standby_manager_process_serves_the_api_from_its_flags_without_logging_secrets() {
    use k8s_openapi::api::coordination::v1::Lease;
    let (client, ns, _api, cluster) = setup("control-process", json!({"cluster": {"size": 1}})).await;
    // Another replica holds the Lease: this process stands by, and still answers the API.
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": "eventing-manager-leader", "namespace": ns.name},
        "spec": {"holderIdentity": "someone-else", "leaseDurationSeconds": 300,
                 "renewTime": k8s_openapi::jiff::Timestamp::now().to_string()}
    }))
    .expect("lease");
    Api::<Lease>::namespaced(client.clone(), &ns.name).create(&PostParams::default(), &lease).await.expect("lease");
    let server = NatsServer::start(&["--auth", "pr0cess-t0ken"]);
    let token_file = std::env::temp_dir().join(format!("control-token-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&token_file, "pr0cess-t0ken").expect("token file");
    let manager = common::process::ManagerProcess::start(
        "control",
        &[
            "--leader-elect",
            "--leader-election-namespace",
            &ns.name,
            "--control-nats-url",
            &server.url(),
            "--control-nats-token-file",
            token_file.to_str().expect("path"),
            "--control-subject-prefix",
            "ops.sat",
        ],
        &[],
    );
    let caller =
        async_nats::ConnectOptions::with_token("pr0cess-t0ken".into()).connect(server.url()).await.expect("connect");
    let reply = request(&caller, &format!("ops.sat.{cluster}.config.get"), b"", ANSWER).await;
    assert_eq!(reply["ok"], true, "{reply}");
    let reply =
        request(&caller, &format!("ops.sat.{cluster}.config.put"), br#"{"routes": ["nats://x:6222"]}"#, ANSWER).await;
    assert_eq!(reply["ok"], true, "{reply}");
    let log = manager.log();
    assert!(log.contains("waiting for leadership") && log.contains("control API listening"), "{log}");
    assert_eq!(manager.reconciles(), 0, "a standby replica does not reconcile");
    assert!(!log.contains("pr0cess-t0ken"), "the token was logged:\n{log}");
    let _ = std::fs::remove_file(&token_file);
}

#[tokio::test]
async fn the_documented_permissions_let_operators_change_and_viewers_only_read() {
    use eventing_manager::control::CredentialsSource;
    let (client, _ns, api, cluster) = setup("control-perms", json!({"cluster": {"size": 1}})).await;
    let dir = std::env::temp_dir().join(format!("control-perms-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/control-api/nats-authorization.conf");
    // The passwords come from the environment of the server, as the file expects.
    let server = NatsServer::start_with(
        &["-c", conf.to_str().expect("path")],
        &[("CONTROL_MANAGER_PASSWORD", "m"), ("CONTROL_OPERATOR_PASSWORD", "o"), ("CONTROL_VIEWER_PASSWORD", "v")],
    );
    let url = server.url();
    std::fs::write(dir.join("password"), "m").expect("password");
    let mut config = control_config(&url, "restricted");
    config.credentials =
        CredentialsSource::UserPasswordFile { user: "eventing-manager".into(), password_file: dir.join("password") };
    let _replica = spawn_control(client.clone(), config);
    let as_user = |user: &'static str, password: &'static str| {
        let url = url.clone();
        async move {
            async_nats::ConnectOptions::with_user_and_password(user.into(), password.into())
                .connect(url)
                .await
                .expect("connect")
        }
    };
    let operator = as_user("fleet-operator", "o").await;
    let viewer = as_user("fleet-viewer", "v").await;
    let put = subject(&cluster, "config.put");
    assert_eq!(request(&operator, &put, br#"{"routes": ["nats://a:6222"]}"#, ANSWER).await["ok"], true);
    assert_eq!(
        request(&viewer, &subject(&cluster, "config.get"), b"", ANSWER).await["routes"],
        json!(["nats://a:6222"])
    );
    // The server refuses the viewer's put: no manager ever sees it.
    let refused =
        tokio::time::timeout(Duration::from_secs(3), viewer.request(put.clone(), br#"{"routes": []}"#.to_vec().into()))
            .await;
    assert!(!matches!(refused, Ok(Ok(_))), "a viewer's put was answered: {refused:?}");
    assert_eq!(api.get("n").await.expect("CR").spec.cluster.routes, vec!["nats://a:6222"]);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
