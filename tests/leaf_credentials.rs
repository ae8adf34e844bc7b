//! Leaf node credentials from Secrets, on real servers: a primary NATS CR with leaf node
//! authorization and an edge NATS CR whose remote names a user and a password Secret are rendered
//! by the chart; this test plays the kubelet (resolves the Secret keys and `$(VAR)` references of
//! the StatefulSet's environment) and runs both as nats-servers on 127.0.0.1. The leaf connection
//! comes up and carries a message from the edge to the primary; a wrong password is refused. The
//! password is in neither the CR nor the ConfigMap. A system account user of the primary logs in
//! with its password from a Secret.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http_get;
use common::nats::{Servers, free_port, nats_server_binary};
use eventing_manager::api::NatsSpec;
use eventing_manager::chart::{Manifest, Release};
use serde_json::{Value, json};

const PASSWORD: &str = "leaf-s3cret-password";

/// The nats.conf and the container environment the chart renders for a NATS CR `name` with `spec`.
fn render(name: &str, spec: Value) -> (String, Vec<Value>) {
    let spec: NatsSpec = serde_json::from_value(spec).expect("spec");
    eventing_manager::api::validate::nats(&spec).expect("valid spec");
    let values = eventing_manager::controllers::nats::overrides(name, &spec);
    let chart = eventing_manager::chart::bundled_nats().expect("chart").compile().expect("compiles");
    let manifests: Vec<Manifest> =
        chart.render(&values, &Release { name: name.into(), namespace: "ns".into() }, &[]).expect("renders");
    let conf = common::matrix::nats_conf(&manifests).expect("nats.conf");
    let sts = manifests.iter().find(|m| m.kind() == "StatefulSet").expect("StatefulSet");
    let env = sts.object["spec"]["template"]["spec"]["containers"][0]["env"].as_array().cloned().unwrap_or_default();
    (conf, env)
}

/// What the kubelet makes of the environment: Secret keys from `secrets`, `$(VAR)` expanded.
fn kubelet_env(env: &[Value], pod: &str, secrets: &BTreeMap<(&str, &str), &str>) -> Vec<(String, String)> {
    let mut resolved: Vec<(String, String)> = Vec::new();
    for var in env {
        let name = var["name"].as_str().expect("name").to_owned();
        let value = if let Some(value) = var["value"].as_str() {
            resolved.iter().fold(value.to_owned(), |v, (k, val)| v.replace(&format!("$({k})"), val))
        } else if let Some(reference) = var["valueFrom"].get("secretKeyRef") {
            let key = (reference["name"].as_str().expect("name"), reference["key"].as_str().expect("key"));
            secrets.get(&key).unwrap_or_else(|| panic!("no Secret key {key:?}")).to_string()
        } else {
            pod.to_owned()
        };
        resolved.push((name, value));
    }
    resolved
}

fn start(dir: &std::path::Path, name: &str, conf: &str, env: &[(String, String)]) -> std::process::Child {
    let file = dir.join(format!("{name}.conf"));
    std::fs::write(&file, conf).expect("conf");
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("log");
    Command::new(nats_server_binary())
        .arg("-c")
        .arg(&file)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("nats-server")
}

/// Server `name` (pod `<name>-nats-0`) from its rendered nats.conf and environment, on free
/// ports; `mounts` turns the localized configuration's Secret paths into files. Returns the process
/// and its client and monitoring ports.
fn run(
    dir: &std::path::Path,
    name: &str,
    (conf, env): &(String, Vec<Value>),
    secrets: &BTreeMap<(&str, &str), &str>,
    mounts: impl Fn(String) -> String,
) -> (std::process::Child, u16, u16) {
    let (client, http) = (free_port(), free_port());
    let conf = mounts(localize(conf, dir, name, client, http));
    (start(dir, name, &conf, &kubelet_env(env, &format!("{name}-nats-0"), secrets)), client, http)
}

fn localize(conf: &str, dir: &std::path::Path, name: &str, client: u16, http: u16) -> String {
    conf.replace("0.0.0.0:4222", &format!("127.0.0.1:{client}"))
        .replace("0.0.0.0:8222", &format!("127.0.0.1:{http}"))
        .replace("\"/data\"", &format!("{:?}", dir.join(format!("{name}-data")).display().to_string()))
        .replace("\"/var/run/nats/nats.pid\"", &format!("{:?}", dir.join(format!("{name}.pid")).display().to_string()))
}

fn leaf_connections(http: u16) -> usize {
    http_get(http, "/leafz")
        .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
        .and_then(|v| v["leafnodes"].as_u64())
        .unwrap_or(0) as usize
}

fn wait_for(what: &str, within: Duration, dir: &std::path::Path, check: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "{what} within {within:?} (logs in {})", dir.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn an_edge_connects_to_the_primary_with_a_password_from_a_secret() {
    let dir = common::fresh_dir("leaf-credentials");
    let leaf_port = free_port();
    let secrets = BTreeMap::from([
        (("primary-nats-secret", "admin-password"), "admin"),
        (("leaf-auth", "password"), PASSWORD),
        (("edge-nats-secret", "admin-password"), "admin"),
        (("to-primary", "password"), PASSWORD),
        (("wrong", "password"), "not-the-password"),
        (("wrong-nats-secret", "admin-password"), "admin"),
        (("ops", "password"), "ops-password"),
    ]);
    let primary_spec = json!({"cluster": {"size": 1}, "jetStream": {"enabled": false},
        "systemAccount": {"users": [{"user": "ops", "password": {"name": "ops", "key": "password"}}]},
        "leafNodes": {"enabled": true, "port": leaf_port, "authorization": {"user": "leafuser", "password": {"name": "leaf-auth", "key": "password"}}}});
    let edge_spec = |secret: &str| {
        json!({"cluster": {"size": 1}, "jetStream": {"enabled": false}, "leafNodes": {"remotes": [{
            "urls": [format!("nats-leaf://127.0.0.1:{leaf_port}")],
            "user": "leafuser", "password": {"name": secret, "key": "password"}}]}})
    };
    assert!(!edge_spec("to-primary").to_string().contains(PASSWORD), "the CR holds no password");

    let listen_on_localhost =
        |conf: String| conf.replace(&format!("0.0.0.0:{leaf_port}"), &format!("127.0.0.1:{leaf_port}"));
    let (primary, primary_client, _) =
        run(&dir, "primary", &render("primary", primary_spec), &secrets, listen_on_localhost);
    let mut servers = Servers(vec![primary]);

    let edge = render("edge", edge_spec("to-primary"));
    assert!(!edge.0.contains(PASSWORD) && !edge.1.iter().any(|e| e.to_string().contains(PASSWORD)));
    assert!(edge.0.contains("$LEAF_REMOTE_0_URL_0"), "the URL comes from the environment:\n{}", edge.0);
    let (edge, edge_client, edge_http) = run(&dir, "edge", &edge, &secrets, |conf| conf);
    servers.0.push(edge);
    wait_for("the edge's leaf connection", Duration::from_secs(20), &dir, || leaf_connections(edge_http) == 1);

    // A message published on the edge reaches a subscriber on the primary.
    let primary = async_nats::connect(format!("nats://127.0.0.1:{primary_client}")).await.expect("primary");
    let mut subscription = primary.subscribe("orders.created").await.expect("subscribe");
    primary.flush().await.expect("flush");
    let edge = async_nats::connect(format!("nats://127.0.0.1:{edge_client}")).await.expect("edge");
    let deadline = Instant::now() + Duration::from_secs(10);
    let received = loop {
        edge.publish("orders.created", "from the edge".into()).await.expect("publish");
        edge.flush().await.expect("flush");
        match tokio::time::timeout(Duration::from_millis(500), futures::StreamExt::next(&mut subscription)).await {
            Ok(Some(message)) => break message,
            _ => assert!(Instant::now() < deadline, "nothing reached the primary (logs in {})", dir.display()),
        }
    };
    assert_eq!(&received.payload[..], b"from the edge");

    // A system account user from a Secret reaches the system account's services.
    let ops = async_nats::ConnectOptions::with_user_and_password("ops".into(), "ops-password".into())
        .connect(format!("nats://127.0.0.1:{primary_client}"))
        .await
        .expect("ops connects");
    let pong = ops.request("$SYS.REQ.SERVER.PING", "".into()).await.expect("the system account answers");
    assert!(String::from_utf8_lossy(&pong.payload).contains("primary-nats-0"), "{:?}", pong.payload);
    let wrong = async_nats::ConnectOptions::with_user_and_password("ops".into(), "guess".into())
        .connect(format!("nats://127.0.0.1:{primary_client}"))
        .await;
    assert!(wrong.is_err(), "a wrong system password is refused");

    // An edge with the wrong password is refused.
    let (wrong, _, wrong_http) = run(&dir, "wrong", &render("wrong", edge_spec("wrong")), &secrets, |conf| conf);
    servers.0.push(wrong);
    let log = dir.join("primary.log");
    wait_for("the primary refusing the wrong password", Duration::from_secs(20), &dir, || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("authentication error"))
    });
    assert_eq!(leaf_connections(wrong_http), 0, "no leaf connection with the wrong password");
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A throw-away CA and a certificate it signs for 127.0.0.1: `(ca.crt, tls.crt, tls.key)` in PEM.
fn throwaway_ca() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().expect("key");
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("params");
    let server_cert = server.signed_by(&server_key, &issuer).expect("certificate");
    (ca_cert.pem(), server_cert.pem(), server_key.serialize_pem())
}

/// What the kubelet mounts: each Secret's keys as files under `dir/<server>-<mount>`.
fn mount(conf: &str, dir: &std::path::Path, server: &str, secrets: &[(&str, &[(&str, &str)])]) -> String {
    let mut conf = conf.to_owned();
    for (mount, files) in secrets {
        let target = dir.join(format!("{server}-{}", mount.trim_matches('/').replace('/', "-")));
        std::fs::create_dir_all(&target).expect("mount dir");
        for (file, content) in *files {
            std::fs::write(target.join(file), content).expect("file");
        }
        conf = conf.replace(&format!("\"{mount}"), &format!("\"{}/", target.display()));
    }
    conf
}

#[tokio::test]
async fn leaf_connections_use_tls_and_an_untrusted_certificate_is_refused() {
    let dir = common::fresh_dir("leaf-tls");
    let (ca, cert, key) = throwaway_ca();
    let (other_ca, _, _) = throwaway_ca();
    let leaf_port = free_port();
    let secrets = BTreeMap::from([
        (("primary-nats-secret", "admin-password"), "admin"),
        (("edge-nats-secret", "admin-password"), "admin"),
        (("untrusting-nats-secret", "admin-password"), "admin"),
        (("leaf-auth", "password"), PASSWORD),
    ]);
    let primary_spec = json!({"cluster": {"size": 1}, "jetStream": {"enabled": false},
        "tls": {"leafNodes": {"secretName": "leaf-tls"}},
        "leafNodes": {"enabled": true, "port": leaf_port, "authorization": {"user": "leafuser", "password": {"name": "leaf-auth", "key": "password"}}}});
    let edge_spec = json!({"cluster": {"size": 1}, "jetStream": {"enabled": false}, "leafNodes": {"remotes": [{
        "urls": [format!("tls://127.0.0.1:{leaf_port}")], "tls": {"secretName": "primary-ca"},
        "user": "leafuser", "password": {"name": "leaf-auth", "key": "password"}}]}});

    let primary = render("primary", primary_spec);
    assert!(primary.0.contains("/etc/nats-tls/leafnodes/tls.crt"), "{}", primary.0);
    let files = [("tls.crt", cert.as_str()), ("tls.key", key.as_str()), ("ca.crt", ca.as_str())];
    let (primary, _, http) = run(&dir, "primary", &primary, &secrets, |conf| {
        let conf = conf.replace(&format!("0.0.0.0:{leaf_port}"), &format!("127.0.0.1:{leaf_port}"));
        mount(&conf, &dir, "primary", &[("/etc/nats-tls/leafnodes/", &files)])
    });
    let mut servers = Servers(vec![primary]);

    let edge = render("edge", edge_spec);
    assert!(edge.0.contains("/etc/nats-remote-tls/0/ca.crt"), "{}", edge.0);
    let start_edge = |name: &str, trusted: &str| {
        let (child, _, http) = run(&dir, name, &edge, &secrets, |conf| {
            mount(&conf, &dir, name, &[("/etc/nats-remote-tls/0/", &[("ca.crt", trusted)])])
        });
        (child, http)
    };
    let (edge, edge_http) = start_edge("edge", &ca);
    servers.0.push(edge);
    wait_for("the edge's TLS leaf connection", Duration::from_secs(20), &dir, || leaf_connections(edge_http) == 1);
    assert_eq!(leaf_connections(http), 1, "the primary sees the edge");

    // An edge that trusts another CA does not connect.
    let (untrusting, untrusting_http) = start_edge("untrusting", &other_ca);
    servers.0.push(untrusting);
    let log = dir.join("untrusting.log");
    wait_for("the edge refusing the untrusted certificate", Duration::from_secs(20), &dir, || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("certificate signed by unknown authority"))
    });
    assert_eq!(leaf_connections(untrusting_http), 0);
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
}
