//! Real `nats-server` processes on 127.0.0.1 (built by hack/testenv) and the control API under test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use eventing_manager::control::{ControlConfig, CredentialsSource, Limits};
use serde_json::Value;

/// `NATS_SERVER`, else `.testenv/bin/nats-server`, else `nats-server` on PATH.
pub fn nats_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return path.into();
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".testenv/bin/nats-server");
    if local.exists() {
        return local;
    }
    let on_path = Command::new("nats-server").arg("--version").output();
    assert!(
        on_path.is_ok(),
        "nats-server not found: run `make testenv-build` (builds it into .testenv/bin) or set NATS_SERVER"
    );
    "nats-server".into()
}

/// A rendered `nats.conf` of server `index` made runnable on 127.0.0.1: its ports (client, cluster,
/// monitoring), its data and pid file under `dir`, and the routes to the StatefulSet's peers
/// (`<release>-nats-<j>.<release>-nats.<namespace>...:6222`) onto `peer_cluster_ports[j]`.
pub fn localize(
    conf: &str,
    (client, cluster, http): (u16, u16, u16),
    dir: &Path,
    index: usize,
    (release, namespace): (&str, &str),
    peer_cluster_ports: &[u16],
) -> String {
    let path = |name: String| format!("{:?}", dir.join(name).display().to_string());
    let mut local = conf
        .replace("0.0.0.0:4222", &format!("127.0.0.1:{client}"))
        .replace("0.0.0.0:8222", &format!("127.0.0.1:{http}"))
        .replace("0.0.0.0:6222", &format!("127.0.0.1:{cluster}"))
        .replace("\"/data\"", &path(format!("data-{index}")))
        .replace("\"/var/run/nats/nats.pid\"", &path(format!("nats-{index}.pid")));
    for (j, port) in peer_cluster_ports.iter().enumerate() {
        let peer = format!("{release}-nats-{j}.{release}-nats.{namespace}.svc.cluster.local:6222");
        local = local.replace(&peer, &format!("127.0.0.1:{port}"));
    }
    local
}

/// nats-server processes, killed when dropped.
pub struct Servers(pub Vec<Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// One nats-server; killed when dropped.
pub struct NatsServer {
    pub port: u16,
    args: Vec<String>,
    env: Vec<(String, String)>,
    child: Child,
}

impl NatsServer {
    /// A server on a free port with extra command-line `args` (`--user`, `-c file`, ...).
    pub fn start(args: &[&str]) -> Self {
        Self::start_with(args, &[])
    }

    /// The same, with environment variables (which a configuration file may refer to).
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let child = Self::spawn(port, &args, &env);
        Self { port, args, env, child }
    }

    fn spawn(port: u16, args: &[String], env: &[(String, String)]) -> Child {
        let child = Command::new(nats_server_binary())
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server (make testenv-build builds it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the server and starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.child = Self::spawn(self.port, &self.args, &self.env);
    }

    /// SIGHUP: the server reloads its configuration file (what the config reloader does in a pod).
    pub fn reload(&self) {
        let sent = Command::new("kill").args(["-HUP", &self.child.id().to_string()]).status().expect("kill");
        assert!(sent.success(), "SIGHUP to nats-server");
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn control_config(url: &str, identity: &str) -> ControlConfig {
    ControlConfig {
        url: url.to_owned(),
        credentials: CredentialsSource::None,
        prefix: "_SAT".into(),
        queue_group: "eventing-manager".into(),
        limits: Limits::default(),
        identity: identity.to_owned(),
        field_manager: "eventing-manager-control-api".into(),
    }
}

/// Runs the control API on this runtime until the returned sender is dropped or fires.
pub fn spawn_control(client: kube::Client, config: ControlConfig) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(error) = eventing_manager::control::serve(client, config, shutdown).await {
            panic!("the control API failed: {error}");
        }
    });
    stop
}

/// A request with its reply as JSON; retried while nobody answers yet (the API is starting or
/// reconnecting), up to `within`.
pub async fn request(nats: &async_nats::Client, subject: &str, payload: &[u8], within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let attempt =
            tokio::time::timeout(Duration::from_secs(5), nats.request(subject.to_owned(), payload.to_vec().into()))
                .await;
        match attempt {
            Ok(Ok(reply)) => return serde_json::from_slice(&reply.payload).expect("the reply is JSON"),
            Ok(Err(error)) if Instant::now() < deadline => {
                tracing::debug!("{subject}: {error}; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(_) if Instant::now() < deadline => {}
            other => panic!("no reply to {subject} within {within:?}: {other:?}"),
        }
    }
}
