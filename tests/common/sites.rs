//! NATS CRs run as real nats-servers on 127.0.0.1. The chart renders a CR's StatefulSet and
//! nats.conf; this module plays the kubelet (Secret keys into the environment, `$(VAR)` expanded,
//! Secrets mounted as files) and the network (each pod's ports become free local ports).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use eventing_manager::api::NatsSpec;
use eventing_manager::chart::{Manifest, Release};
use serde_json::Value;

use super::http_get;
use super::nats::{free_port, localize, nats_server_binary};

/// The namespace the sites are rendered for.
pub const NAMESPACE: &str = "ns";

/// Secret keys by `(secret, key)`.
pub type Secrets<'a> = BTreeMap<(&'a str, &'a str), &'a str>;

/// Files a Secret volume holds, by the mount path nats.conf names (`/etc/nats-tls/leafnodes/`).
pub type Mounts<'a> = [(&'a str, &'a [(&'a str, &'a str)])];

/// What the chart renders for the NATS CR `name` with `spec` (which must be valid).
pub struct Rendered {
    pub conf: String,
    /// The nats container's environment.
    pub env: Vec<Value>,
    pub manifests: Vec<Manifest>,
}

pub fn render(name: &str, spec: Value) -> Rendered {
    let spec: NatsSpec = serde_json::from_value(spec).expect("spec");
    eventing_manager::api::validate::nats(&spec).expect("valid spec");
    let values = eventing_manager::controllers::nats::overrides(name, &spec);
    let chart = eventing_manager::chart::bundled_nats().expect("chart").compile().expect("compiles");
    let manifests: Vec<Manifest> =
        chart.render(&values, &Release { name: name.into(), namespace: NAMESPACE.into() }, &[]).expect("renders");
    let conf = super::matrix::nats_conf(&manifests).expect("nats.conf");
    let sts = manifests.iter().find(|m| m.kind() == "StatefulSet").expect("StatefulSet");
    let env = sts.object["spec"]["template"]["spec"]["containers"][0]["env"].as_array().cloned().unwrap_or_default();
    Rendered { conf, env, manifests }
}

/// What the kubelet makes of the environment: Secret keys from `secrets`, `$(VAR)` expanded, the
/// pod's name for a field reference.
pub fn kubelet_env(env: &[Value], pod: &str, secrets: &Secrets) -> Vec<(String, String)> {
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

/// What the kubelet mounts: each Secret's files under `dir/<mount>`, and nats.conf pointed there.
fn mount(conf: &str, dir: &Path, mounts: &Mounts) -> String {
    let mut conf = conf.to_owned();
    for (mount, files) in mounts {
        let target = dir.join(mount.trim_matches('/').replace('/', "-"));
        std::fs::create_dir_all(&target).expect("mount dir");
        for (file, content) in *files {
            std::fs::write(target.join(file), content).expect("file");
        }
        conf = conf.replace(&format!("\"{mount}"), &format!("\"{}/", target.display()));
    }
    conf
}

/// A throw-away CA and a certificate it signs for 127.0.0.1: `(ca.crt, tls.crt, tls.key)` in PEM.
pub fn throwaway_ca() -> (String, String, String) {
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

/// One server of a site: the pod `<name>-nats-<i>`.
pub struct Server {
    child: Child,
    pub client: u16,
    pub http: u16,
    pub log: PathBuf,
    conf: PathBuf,
    env: Vec<(String, String)>,
}

/// nats-server with configuration `conf` and environment `env`, its standard error appended to `log`.
fn launch(conf: &Path, env: &[(String, String)], log: &Path) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log");
    Command::new(nats_server_binary())
        .arg("-c")
        .arg(conf)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("nats-server")
}

impl Server {
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the server and starts it again on the same ports, data and configuration.
    pub fn restart(&mut self) {
        self.stop();
        self.child = launch(&self.conf, &self.env, &self.log);
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Leaf node connections of this server (`/leafz`).
    pub fn leaf_connections(&self) -> usize {
        self.monitor("/leafz").and_then(|v| v["leafnodes"].as_u64()).unwrap_or(0) as usize
    }

    /// Other servers of its cluster it has routes to (`/routez`; a server pools several
    /// connections per peer).
    pub fn routed_peers(&self) -> usize {
        let routez = self.monitor("/routez").unwrap_or_default();
        let routes = routez["routes"].as_array().cloned().unwrap_or_default();
        routes
            .iter()
            .filter_map(|r| r["remote_name"].as_str().map(str::to_owned))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    }

    /// A monitoring endpoint's JSON.
    pub fn monitor(&self, path: &str) -> Option<Value> {
        http_get(self.http, path).and_then(|(_, body)| serde_json::from_str(&body).ok())
    }
}

/// The servers of one NATS CR, killed when dropped.
pub struct Site {
    pub servers: Vec<Server>,
    pub dir: PathBuf,
}

impl Site {
    /// Starts every server of the NATS CR `name` (as many as nats.conf has routes, else one).
    /// `leaf_port`: the CR's leaf node port; server 0 listens on it, the others on free ports.
    pub fn start(
        dir: &Path,
        name: &str,
        rendered: &Rendered,
        secrets: &Secrets,
        leaf_port: Option<u16>,
        mounts: &Mounts,
    ) -> Site {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).expect("site dir");
        let fullname = format!("{name}-nats");
        let size = (0..).take_while(|i| rendered.conf.contains(&format!("{fullname}-{i}.{fullname}."))).count().max(1);
        let ports: Vec<(u16, u16, u16)> = (0..size).map(|_| (free_port(), free_port(), free_port())).collect();
        let peers: Vec<u16> = ports.iter().map(|p| p.1).collect();
        let conf = mount(&rendered.conf, &dir, mounts);
        let servers = ports
            .iter()
            .enumerate()
            .map(|(i, &(client, cluster, http))| {
                let mut local = localize(&conf, (client, cluster, http), &dir, i, (name, NAMESPACE), &peers);
                if let Some(port) = leaf_port {
                    let own = if i == 0 { port } else { free_port() };
                    local = local.replace(&format!("0.0.0.0:{port}"), &format!("127.0.0.1:{own}"));
                }
                assert!(!local.contains("svc.cluster.local"), "every route was mapped:\n{local}");
                let file = dir.join(format!("nats-{i}.conf"));
                std::fs::write(&file, local).expect("conf");
                let env = kubelet_env(&rendered.env, &format!("{fullname}-{i}"), secrets);
                let log = dir.join(format!("nats-{i}.log"));
                Server { child: launch(&file, &env, &log), client, http, log, conf: file, env }
            })
            .collect();
        Site { servers, dir }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        for server in &mut self.servers {
            server.stop();
        }
    }
}

/// Waits until `check` holds, failing with `what` after `within`.
pub fn wait_for(what: &str, within: Duration, logs: &Path, check: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "{what} within {within:?} (logs in {})", logs.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Publishes on `from` until a subscriber of `to` receives it (interest crosses leaf connections
/// and routes asynchronously), and returns what arrived.
pub async fn deliver(
    from: &async_nats::Client,
    to: &mut async_nats::Subscriber,
    subject: &str,
    payload: &'static str,
    logs: &Path,
) -> async_nats::Message {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        from.publish(subject.to_owned(), payload.into()).await.expect("publish");
        from.flush().await.expect("flush");
        match tokio::time::timeout(Duration::from_millis(500), futures::StreamExt::next(to)).await {
            Ok(Some(message)) => return message,
            _ => assert!(Instant::now() < deadline, "{subject} was not delivered (logs in {})", logs.display()),
        }
    }
}
