//! Stopping and restarting the test environment's real kube-apiserver (an outage under the
//! manager). `hack/testenv/up.sh` records its command line in `.testenv/kube-apiserver.args`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The test environment's folder: where `KUBECONFIG` lives.
fn testenv_dir() -> PathBuf {
    let kubeconfig = std::env::var("KUBECONFIG").expect("KUBECONFIG names the test environment's kubeconfig");
    PathBuf::from(kubeconfig).parent().expect("kubeconfig folder").to_path_buf()
}

fn answers() -> bool {
    let port = std::fs::read_to_string(testenv_dir().join("kube-apiserver.args"))
        .ok()
        .and_then(|args| {
            let args: Vec<&str> = args.lines().collect();
            let i = args.iter().position(|a| *a == "--secure-port")?;
            args.get(i + 1)?.parse::<u16>().ok()
        })
        .unwrap_or(26443);
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Stops the API server at once (SIGKILL) and waits until it is gone.
pub fn stop() {
    let pid_file = testenv_dir().join("pids/kube-apiserver.pid");
    let pid = std::fs::read_to_string(&pid_file).expect("kube-apiserver.pid").trim().to_owned();
    // SIGKILL: an outage, not a graceful shutdown (which waits for open watches for a minute).
    let status = std::process::Command::new("kill").args(["-KILL", &pid]).status().expect("kill");
    assert!(status.success(), "stopping kube-apiserver {pid}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::process::Command::new("kill").args(["-0", &pid]).status().is_ok_and(|s| s.success()) {
        assert!(Instant::now() < deadline, "kube-apiserver {pid} did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts the API server again with its recorded command line; returns once it answers.
// The server outlives this test process on purpose (as up.sh's does); down.sh stops it by PID.
pub fn start() {
    let dir = testenv_dir();
    let args = std::fs::read_to_string(dir.join("kube-apiserver.args")).expect("kube-apiserver.args (from up.sh)");
    let args: Vec<&str> = args.lines().collect();
    let log =
        std::fs::OpenOptions::new().create(true).append(true).open(dir.join("logs/kube-apiserver.log")).expect("log");
    let mut child = std::process::Command::new(args[0])
        .args(&args[1..])
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start kube-apiserver");
    std::fs::write(dir.join("pids/kube-apiserver.pid"), child.id().to_string()).expect("pid file");
    // Reaped when it ends, so that a later `stop` in this process does not wait for a zombie.
    std::thread::spawn(move || child.wait());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !answers() {
        assert!(Instant::now() < deadline, "kube-apiserver did not come back");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An outage under the manager: the server is killed, stays away for `outage`, is started again,
/// and `spec` is merge-patched into `name` as soon as the server accepts writes (it answers seconds
/// before it serves; `limit` bounds that wait). Returns when the server answered and when the write
/// was accepted.
pub async fn outage_then_patch<K>(
    api: &kube::Api<K>,
    name: &str,
    spec: serde_json::Value,
    outage: Duration,
    limit: Duration,
) -> (Instant, Instant)
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    tokio::task::spawn_blocking(stop).await.expect("stop the API server");
    tokio::time::sleep(outage).await;
    tokio::task::spawn_blocking(start).await.expect("start the API server");
    let answered = Instant::now();
    let patch = kube::api::Patch::Merge(serde_json::json!({ "spec": spec }));
    while let Err(error) = api.patch(name, &kube::api::PatchParams::default(), &patch).await {
        assert!(answered.elapsed() < limit, "the API server does not accept writes: {error}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (answered, Instant::now())
}
