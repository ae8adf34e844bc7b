//! The primary/edge topology on real servers, every server rendered by the chart from a NATS CR:
//! a primary of three servers (leaf node authorization, NodePort, TLS between its servers and on the
//! leaf node port from a throw-away CA) and one-server edges whose remote takes a password and a CA
//! from Secrets. Once with core NATS (the operations team's layout), once with JetStream and
//! accounts (an R3 stream on the primary survives the restart of one of its servers).
//! `common::sites` plays the kubelet and the network.

mod common;

use std::time::Duration;

use common::nats::free_port;
use common::sites::{Rendered, Secrets, Site, deliver, render, throwaway_ca, wait_for};
use serde_json::{Value, json};

const PASSWORD: &str = "leaf-s3cret-password";

/// An edge NATS CR: one core NATS server whose remote is the primary's leaf node port, with the
/// password from the Secret `password_secret` and, with `tls`, the CA from the Secret `primary-ca`.
fn edge_spec(leaf_port: u16, password_secret: &str, tls: bool) -> Value {
    let scheme = if tls { "tls" } else { "nats-leaf" };
    let mut remote = json!({
        "urls": [format!("{scheme}://127.0.0.1:{leaf_port}")],
        "user": "leafuser",
        "password": {"name": password_secret, "key": "password"},
    });
    if tls {
        remote["tls"] = json!({"secretName": "primary-ca"});
    }
    json!({"cluster": {"size": 1}, "jetStream": {"enabled": false}, "leafNodes": {"remotes": [remote]}})
}

/// Every Secret key the CRs of these tests name: each CR's generated admin password, the leaf
/// password (right and wrong) and the users' passwords.
fn secrets() -> Secrets<'static> {
    let mut secrets = Secrets::from([
        (("leaf-auth", "password"), PASSWORD),
        (("wrong", "password"), "not-the-password"),
        (("primary-users", "ops"), "ops-password"),
        (("primary-users", "orders"), "orders-password"),
        (("primary-users", "audit"), "audit-password"),
    ]);
    for cr in ["primary-nats-secret", "edge-nats-secret", "wrong-nats-secret", "untrusting-nats-secret"] {
        secrets.insert((cr, "admin-password"), "padmin");
    }
    secrets
}

fn wait_for_cluster(primary: &Site) {
    wait_for("three routed servers", Duration::from_secs(45), &primary.dir, || {
        primary.servers.iter().all(|s| s.routed_peers() == 2)
    });
}

fn node_ports(rendered: &Rendered) -> Vec<(String, i64)> {
    let service = rendered
        .manifests
        .iter()
        .find(|m| m.kind() == "Service" && m.object["spec"]["type"] == "NodePort")
        .expect("a NodePort Service");
    let ports = service.object["spec"]["ports"].as_array().expect("ports");
    ports
        .iter()
        .map(|p| (p["name"].as_str().unwrap_or_default().to_owned(), p["nodePort"].as_i64().unwrap_or(0)))
        .collect()
}

#[tokio::test]
async fn core_nats_primary_and_edges_with_tls_and_credentials_from_secrets() {
    let dir = common::fresh_dir("topology-core");
    let (ca, cert, key) = throwaway_ca();
    let (other_ca, _, _) = throwaway_ca();
    let leaf_port = free_port();
    let secrets = secrets();
    let primary = render(
        "primary",
        json!({
            "cluster": {"size": 3},
            "jetStream": {"enabled": false},
            "systemAccount": {"users": [{"user": "ops", "password": {"name": "primary-users", "key": "ops"}}]},
            "leafNodes": {"enabled": true, "port": leaf_port,
                "authorization": {"user": "leafuser", "password": {"name": "leaf-auth", "key": "password"}}},
            "service": {"type": "NodePort", "nodePorts": {"client": 32223, "leafNodes": 32222}},
            "tls": {"cluster": {"secretName": "primary-cluster-tls"}, "leafNodes": {"secretName": "primary-leaf-tls"}}
        }),
    );
    let ports = node_ports(&primary);
    assert!(ports.contains(&("client".into(), 32223)) && ports.contains(&("leafnodes".into(), 32222)), "{ports:?}");
    assert!(!primary.conf.contains("jetstream {"), "core NATS:\n{}", primary.conf);
    assert!(
        !primary
            .manifests
            .iter()
            .any(|m| m.kind() == "StatefulSet" && m.object["spec"]["volumeClaimTemplates"].is_array())
    );
    let files = [("tls.crt", cert.as_str()), ("tls.key", key.as_str()), ("ca.crt", ca.as_str())];
    let mounts = [("/etc/nats-tls/cluster/", &files[..]), ("/etc/nats-tls/leafnodes/", &files[..])];
    let primary = Site::start(&dir, "primary", &primary, &secrets, Some(leaf_port), &mounts);
    wait_for_cluster(&primary);

    let edge = render("edge", edge_spec(leaf_port, "leaf-auth", true));
    assert!(!edge.conf.contains("cluster {") && !edge.conf.contains("6222"), "one server, no cluster:\n{}", edge.conf);
    assert!(
        !edge.conf.contains(PASSWORD) && !edge.env.iter().any(|e| e.to_string().contains(PASSWORD)),
        "the password is in neither nats.conf nor the StatefulSet"
    );
    let trusting = [("ca.crt", ca.as_str())];
    let edge = Site::start(&dir, "edge", &edge, &secrets, None, &[("/etc/nats-remote-tls/0/", &trusting)]);
    wait_for("the edge's leaf connection", Duration::from_secs(20), &dir, || edge.servers[0].leaf_connections() == 1);

    // A message published on the edge reaches a subscriber of another primary server.
    let subscriber = async_nats::connect(primary.servers[2].url()).await.expect("primary-2");
    let mut orders = subscriber.subscribe("orders.created").await.expect("subscribe");
    subscriber.flush().await.expect("flush");
    let publisher = async_nats::connect(edge.servers[0].url()).await.expect("edge");
    let received = deliver(&publisher, &mut orders, "orders.created", "from the edge", &dir).await;
    assert_eq!(&received.payload[..], b"from the edge");

    // A system account user from a Secret reaches the system account's services; a wrong password does not.
    let system = |password: &str| {
        async_nats::ConnectOptions::with_user_and_password("ops".into(), password.into())
            .connect(primary.servers[1].url())
    };
    let ops = system("ops-password").await.expect("ops connects");
    let pong = ops.request("$SYS.REQ.SERVER.PING", "".into()).await.expect("the system account answers");
    assert!(String::from_utf8_lossy(&pong.payload).contains("primary-nats-"), "{:?}", pong.payload);
    assert!(system("guess").await.is_err(), "a wrong system password is refused");

    // An edge with the wrong password, and one that trusts another CA, are refused.
    let wrong = render("wrong", edge_spec(leaf_port, "wrong", true));
    let wrong = Site::start(&dir, "wrong", &wrong, &secrets, None, &[("/etc/nats-remote-tls/0/", &trusting)]);
    wait_for("the primary refusing the wrong password", Duration::from_secs(20), &dir, || {
        primary.servers[0].log_text().contains("authentication error")
    });
    let untrusted = [("ca.crt", other_ca.as_str())];
    let untrusting = render("untrusting", edge_spec(leaf_port, "leaf-auth", true));
    let untrusting =
        Site::start(&dir, "untrusting", &untrusting, &secrets, None, &[("/etc/nats-remote-tls/0/", &untrusted)]);
    wait_for("the edge refusing the untrusted certificate", Duration::from_secs(20), &dir, || {
        untrusting.servers[0].log_text().contains("certificate signed by unknown authority")
    });
    assert_eq!((wrong.servers[0].leaf_connections(), untrusting.servers[0].leaf_connections()), (0, 0));
    assert_eq!(primary.servers[0].leaf_connections(), 1, "only the good edge is connected");
    drop((wrong, untrusting, edge, primary));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A JetStream API request in the client's account, retried while the cluster has no leader yet.
async fn js_api(client: &async_nats::Client, subject: &str, payload: Value) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let reply =
            common::nats::request(client, subject, payload.to_string().as_bytes(), Duration::from_secs(30)).await;
        if reply.get("error").is_none() {
            return reply;
        }
        assert!(std::time::Instant::now() < deadline, "{subject}: {reply}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn stream_messages(client: &async_nats::Client) -> u64 {
    js_api(client, "$JS.API.STREAM.INFO.ORDERS", json!({})).await["state"]["messages"].as_u64().unwrap_or(0)
}

/// Messages of server `server`'s own replica of ORDERS in account APP (its `/jsz`).
fn local_replica_messages(server: &common::sites::Server) -> u64 {
    let jsz = server.monitor("/jsz?accounts=true&streams=true").unwrap_or_default();
    let accounts = jsz["account_details"].as_array().cloned().unwrap_or_default();
    let app = accounts.iter().find(|a| a["name"] == "APP");
    let streams = app.and_then(|a| a["stream_detail"].as_array().cloned()).unwrap_or_default();
    streams.iter().find(|s| s["name"] == "ORDERS").and_then(|s| s["state"]["messages"].as_u64()).unwrap_or(0)
}

/// Stores orders `ids` in the primary's stream from the edge, each acknowledged by JetStream
/// (a request: the PubAck comes back over the leaf connection). A publish while the stream has
/// no leader is lost, so each is retried until acknowledged; its `Nats-Msg-Id` makes a retry of
/// one that was stored but whose acknowledgement was lost a duplicate the stream drops.
async fn store_from_edge(edge: &async_nats::Client, ids: std::ops::Range<usize>, logs: &std::path::Path) {
    for id in ids {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", format!("order-{id}").as_str());
            let request = edge.request_with_headers("orders.created", headers, format!("order {id}").into());
            let ack = tokio::time::timeout(Duration::from_secs(2), request).await;
            let ack: Value = match ack {
                Ok(Ok(reply)) => serde_json::from_slice(&reply.payload).unwrap_or_default(),
                _ => Value::Null,
            };
            if ack["stream"] == "ORDERS" && ack.get("error").is_none() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "order {id} not stored: {ack} (logs in {})", logs.display());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test]
async fn an_r3_stream_on_the_primary_survives_the_restart_of_a_server() {
    let dir = common::fresh_dir("topology-jetstream");
    let (ca, cert, key) = throwaway_ca();
    let leaf_port = free_port();
    let secrets = secrets();
    let user = |name: &'static str| json!({"user": name, "password": {"name": "primary-users", "key": name}});
    let primary = render(
        "primary",
        json!({
            "cluster": {"size": 3},
            "jetStream": {"memStorage": {"size": "64Mi"}, "fileStorage": {"size": "256Mi"}},
            "accounts": [
                {"name": "APP", "users": [user("orders")]},
                {"name": "AUDIT", "jetStream": false, "users": [user("audit")]}
            ],
            "defaultAccount": "APP",
            "leafNodes": {"enabled": true, "port": leaf_port,
                "authorization": {"user": "leafuser", "password": {"name": "leaf-auth", "key": "password"}}},
            "tls": {"cluster": {"secretName": "primary-cluster-tls"}}
        }),
    );
    assert!(primary.conf.contains("no_auth_user"), "{}", primary.conf);
    for password in ["orders-password", "audit-password", PASSWORD] {
        let in_env = primary.env.iter().any(|e| e.to_string().contains(password));
        assert!(!primary.conf.contains(password) && !in_env, "no password in nats.conf or the StatefulSet");
    }
    let files = [("tls.crt", cert.as_str()), ("tls.key", key.as_str()), ("ca.crt", ca.as_str())];
    let mut primary =
        Site::start(&dir, "primary", &primary, &secrets, Some(leaf_port), &[("/etc/nats-tls/cluster/", &files[..])]);
    wait_for_cluster(&primary);

    // Clients without credentials are in APP (the default account), which has JetStream.
    let app = async_nats::connect(primary.servers[0].url()).await.expect("anonymous client");
    let config = json!({"name": "ORDERS", "subjects": ["orders.>"], "num_replicas": 3, "storage": "file"});
    let created = js_api(&app, "$JS.API.STREAM.CREATE.ORDERS", config).await;
    assert_eq!(created["config"]["num_replicas"], 3, "{created}");
    let audit = async_nats::ConnectOptions::with_user_and_password("audit".into(), "audit-password".into())
        .connect(primary.servers[1].url())
        .await
        .expect("audit connects");
    let mut audit_view = audit.subscribe("probe.>").await.expect("subscribe");
    audit.flush().await.expect("flush");
    let no_js = audit.request("$JS.API.INFO", "".into()).await.expect("an answer");
    let no_js = String::from_utf8_lossy(&no_js.payload);
    assert!(no_js.contains("JetStream not enabled for account"), "AUDIT has no JetStream: {no_js}");

    let edge = render("edge", edge_spec(leaf_port, "leaf-auth", false));
    let edge = Site::start(&dir, "edge", &edge, &secrets, None, &[]);
    wait_for("the edge's leaf connection", Duration::from_secs(20), &dir, || edge.servers[0].leaf_connections() == 1);
    let publisher = async_nats::connect(edge.servers[0].url()).await.expect("edge");

    // The edge's messages land in APP (leaf connections bind to the default account), not in AUDIT.
    let mut app_view = app.subscribe("probe.>").await.expect("subscribe");
    app.flush().await.expect("flush");
    deliver(&publisher, &mut app_view, "probe.edge", "first", &dir).await;
    let nothing = tokio::time::timeout(Duration::from_millis(500), futures::StreamExt::next(&mut audit_view)).await;
    assert!(nothing.is_err(), "AUDIT sees nothing of APP");
    store_from_edge(&publisher, 0..10, &dir).await;
    assert_eq!(stream_messages(&app).await, 10);

    // One server goes; the stream keeps its quorum (a new leader when it was the leader) and takes more.
    primary.servers[2].stop();
    store_from_edge(&publisher, 10..15, &dir).await;
    assert_eq!(stream_messages(&app).await, 15);

    // It comes back and its replica catches up, holding what was stored while it was down.
    primary.servers[2].restart();
    wait_for("the restarted server's replica caught up", Duration::from_secs(45), &dir, || {
        local_replica_messages(&primary.servers[2]) == 15
    });
    wait_until_async("every replica current", &dir, || async {
        let info = js_api(&app, "$JS.API.STREAM.INFO.ORDERS", json!({})).await;
        let replicas = info["cluster"]["replicas"].as_array().cloned().unwrap_or_default();
        replicas.len() == 2 && replicas.iter().all(|r| r["current"] == true && r["offline"] != true)
    })
    .await;
    drop((edge, primary));
    let _ = std::fs::remove_dir_all(&dir);
}

async fn wait_until_async<F, Fut>(what: &str, logs: &std::path::Path, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "{what} within 30s (logs in {})", logs.display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
