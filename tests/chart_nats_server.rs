//! Rendered NATS configuration checked by a real `nats-server` (built by hack/testenv): every
//! `nats.conf` of the render matrix passes `nats-server -t`, and three servers running the rendered
//! 3-node configuration on 127.0.0.1 form a cluster with a JetStream meta leader.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http_get;
use common::matrix;
use common::nats::{Servers, free_port, localize, nats_server_binary as nats_server};
use eventing_manager::chart::Release;

fn secrets_env(command: &mut Command) -> &mut Command {
    command
        .env("ADMIN_PASSWORD", "admin-secret")
        .env("LEAFNODE_PASSWORD", "leaf-secret")
        .env("ACCOUNT_0_USER_0_PASSWORD", "orders-secret")
        .env("LEAF_REMOTE_0_URL_0", "nats-leaf://edge:leaf-secret@primary:7422")
}

#[test]
fn every_rendered_config_passes_nats_server_check() {
    let server = nats_server();
    let dir = common::fresh_dir("nats-conf-check");
    let release = Release { name: "eventing".into(), namespace: "kyma-system".into() };
    let mut checked = 0;
    for case in matrix::cases().into_iter().filter(|c| c.has_nats()) {
        let conf = matrix::nats_conf(&case.render(&release)).unwrap_or_else(|| panic!("{}: no nats.conf", case.name));
        let file = dir.join(format!("{}.conf", case.name));
        std::fs::write(&file, conf).expect("write conf");
        let output =
            secrets_env(Command::new(&server).arg("-t").arg("-c").arg(&file).env("SERVER_NAME", "eventing-nats-0"))
                .output()
                .expect("run nats-server -t");
        assert!(
            output.status.success(),
            "{}: nats-server rejected the rendered configuration:\n{}{}",
            case.name,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 9, "the matrix has at least 9 NATS cases, checked {checked}");
}

#[test]
fn a_broken_config_is_rejected_by_nats_server() {
    // The check above can fail: nats-server -t rejects what is not a valid configuration.
    let dir = common::fresh_dir("nats-conf-broken");
    let file = dir.join("broken.conf");
    std::fs::write(&file, "jetstream { max_file_store: lots }\n").expect("write");
    let output = Command::new(nats_server()).arg("-t").arg("-c").arg(&file).output().expect("run");
    assert!(!output.status.success());
}

#[test]
fn three_servers_with_the_rendered_config_form_a_jetstream_cluster() {
    let server = nats_server();
    let dir = common::fresh_dir("nats-cluster");
    let release = Release { name: "t".into(), namespace: "ns".into() };
    let case = matrix::cases().into_iter().find(|c| c.name == "defaults").expect("defaults case");
    let conf = matrix::nats_conf(&case.render(&release)).expect("nats.conf");

    // Map the pod addresses and ports of the rendered configuration onto 127.0.0.1.
    let ports: Vec<(u16, u16, u16)> = (0..3).map(|_| (free_port(), free_port(), free_port())).collect();
    let mut servers = Servers(Vec::new());
    for (i, (client, cluster, http)) in ports.iter().enumerate() {
        let peers: Vec<u16> = ports.iter().map(|(_, cluster, _)| *cluster).collect();
        let local = localize(&conf, (*client, *cluster, *http), &dir, i, ("t", "ns"), &peers);
        assert!(!local.contains("svc.cluster.local"), "every route was mapped:\n{local}");
        let file = dir.join(format!("nats-{i}.conf"));
        std::fs::write(&file, local).expect("write conf");
        let log = std::fs::File::create(dir.join(format!("nats-{i}.log"))).expect("log file");
        let child = secrets_env(Command::new(&server).arg("-c").arg(&file).env("SERVER_NAME", format!("t-nats-{i}")))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start nats-server");
        servers.0.push(child);
    }

    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let healthy = ports.iter().all(|(_, _, http)| {
            http_get(*http, "/healthz?js-enabled-only=true").is_some_and(|(status, _)| status == 200)
        });
        let routes: Vec<usize> = ports
            .iter()
            .map(|(_, _, http)| http_get(*http, "/routez").map_or(0, |(_, body)| count_field(&body, "\"rid\"")))
            .collect();
        // Every server agrees on one meta leader, and the leader sees both followers current.
        let views: Vec<serde_json::Value> = ports
            .iter()
            .map(|(_, _, http)| {
                http_get(*http, "/jsz").and_then(|(_, body)| serde_json::from_str(&body).ok()).unwrap_or_default()
            })
            .collect();
        let leaders: Vec<&str> =
            views.iter().map(|v| v["meta_cluster"]["leader"].as_str().unwrap_or_default()).collect();
        let agreed = !leaders[0].is_empty() && leaders.iter().all(|l| *l == leaders[0]);
        let leader_view =
            leaders[0].strip_prefix("t-nats-").and_then(|i| i.parse::<usize>().ok()).and_then(|i| views.get(i));
        let current = leader_view
            .and_then(|v| v["meta_cluster"]["replicas"].as_array())
            .map_or(0, |replicas| replicas.iter().filter(|r| r["current"] == true).count());
        if healthy && routes.iter().all(|r| *r >= 2) && agreed && current == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cluster did not form within 45s (logs in {}): healthy={healthy} routes={routes:?} leaders={leaders:?} current followers={current}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
}

fn count_field(body: &str, needle: &str) -> usize {
    body.matches(needle).count()
}
