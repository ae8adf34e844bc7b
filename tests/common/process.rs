//! The manager binary as a process of its own, its log in a file; killed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct ManagerProcess {
    pub child: Child,
    /// Of `/healthz`, `/readyz` and `/metrics`.
    pub port: u16,
    log: PathBuf,
}

impl ManagerProcess {
    /// `eventing-manager run` with a free metrics port, JSON logs, the test manager namespace, and
    /// `args` and `env` on top.
    pub fn start(name: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_in(name, super::MANAGER_NAMESPACE, args, env)
    }

    /// As [`ManagerProcess::start`], with `manager_namespace` as the manager's namespace.
    pub fn start_in(name: &str, manager_namespace: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
        let log = std::env::temp_dir().join(format!("manager-{name}-{}.log", uuid::Uuid::new_v4().simple()));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_eventing-manager"))
            .args(["run", "--manager-namespace", manager_namespace, "--log-format", "json"])
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .args(args)
            .envs(env.iter().copied())
            .env("HOSTNAME", name)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start the manager");
        Self { child, port, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Reconciles this process completed (one `reconciled` line each).
    pub fn reconciles(&self) -> usize {
        self.log().lines().filter(|l| l.contains("\"message\":\"reconciled\"")).count()
    }

    /// `GET path` on the metrics port: the status code and the body.
    pub fn http_get(&self, path: &str) -> Option<(u16, String)> {
        super::http_get(self.port, path)
    }

    /// Sends SIGTERM (a graceful shutdown).
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(sent.success(), "SIGTERM to {pid}");
    }
}

impl Drop for ManagerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
