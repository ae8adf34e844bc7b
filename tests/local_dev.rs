//! `make run-dev` (k3d) cannot run on a machine without Docker, so its scripts are checked in their
//! dry-run mode: the commands, their order, the overrides, and that every file they name exists.
//! The Dockerfile is checked for what the deployment relies on.

use std::path::Path;
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `tool` from this process's PATH.
fn which(tool: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join(tool)).find(|p| p.is_file()).expect(tool)
}

/// Runs a script with a PATH that holds only what the scripts need besides k3d, docker and
/// kubectl, so that even on a machine that has them nothing real is created.
fn script(name: &str, env: &[(&str, &str)]) -> Output {
    let bin = std::env::temp_dir().join(format!("local-dev-path-{}", std::process::id()));
    std::fs::create_dir_all(&bin).expect("temp dir");
    for tool in ["bash", "dirname"] {
        match std::os::unix::fs::symlink(which(tool), bin.join(tool)) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => panic!("linking {tool}: {e}"),
            _ => {}
        }
    }
    Command::new(which("bash"))
        .arg(format!("{ROOT}/hack/local/{name}"))
        .env("PATH", &bin)
        .env_remove("DRY_RUN")
        .envs(env.iter().copied())
        .output()
        .expect("bash runs")
}

fn commands(output: &Output) -> Vec<String> {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| l.strip_prefix("+ ")).map(str::to_owned).collect()
}

/// Asserts that `expected` appear in `commands` in this order, each inside one command.
fn in_order(commands: &[String], expected: &[&str]) {
    let mut rest = commands.iter();
    for want in expected {
        assert!(rest.any(|c| c.contains(want)), "no `{want}` (in order) among:\n{}", commands.join("\n"));
    }
}

#[test]
fn run_dev_dry_run_prints_the_whole_workflow_in_order() {
    let printed = commands(&script("run-dev.sh", &[("DRY_RUN", "1")]));
    in_order(
        &printed,
        &[
            "k3d cluster create eventing-dev --agents 3",
            "docker build -t eventing-manager:dev .",
            "k3d image import eventing-manager:dev -c eventing-dev",
            "kubectl --context k3d-eventing-dev create -f config/standalone/kyma-crd/operator.kyma-project.io_kymas.yaml",
            "apply --server-side -k config/standalone",
            "wait --for condition=established",
            "set image deployment/eventing-manager manager=eventing-manager:dev",
            "rollout status deployment/eventing-manager",
            "apply --server-side -f config/samples/kyma-default.yaml",
            "wait kyma/default",
        ],
    );
    // Every file or kustomization the commands name is in the repository.
    for command in &printed {
        let words: Vec<&str> = command.split_whitespace().collect();
        for pair in words.windows(2).filter(|w| w[0] == "-k" || w[0] == "-f") {
            assert!(Path::new(ROOT).join(pair[1]).exists(), "`{command}` names {} which does not exist", pair[1]);
        }
    }
}

#[test]
fn run_dev_takes_the_cluster_name_and_image_from_the_environment() {
    let printed =
        commands(&script("run-dev.sh", &[("DRY_RUN", "1"), ("CLUSTER_NAME", "mine"), ("IMG", "registry.local/em:7")]));
    in_order(
        &printed,
        &[
            "k3d cluster create mine",
            "docker build -t registry.local/em:7 .",
            "k3d image import registry.local/em:7 -c mine",
            "--context k3d-mine",
            "manager=registry.local/em:7",
        ],
    );
}

#[test]
fn without_k3d_run_dev_says_what_is_missing() {
    let output = script("run-dev.sh", &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("k3d is required") && stderr.contains("DRY_RUN=1"), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing was run");
}

#[test]
fn stop_deletes_the_cluster() {
    in_order(&commands(&script("stop.sh", &[("DRY_RUN", "1")])), &["k3d cluster delete eventing-dev"]);
    // Without k3d there is nothing to delete, and that is not an error (make stop also serves run-local).
    assert!(commands(&script("stop.sh", &[])).is_empty());
}

#[test]
fn the_dockerfile_builds_a_static_binary_into_a_non_root_image() {
    let text = std::fs::read_to_string(format!("{ROOT}/Dockerfile")).expect("Dockerfile");
    let stages: Vec<&str> = text.split("\nFROM ").skip(1).collect();
    assert!(stages.len() >= 2, "multi-stage");
    assert!(text.contains("--target x86_64-unknown-linux-musl") && text.contains("--locked"), "static, locked build");
    let last = stages.last().expect("final stage");
    assert!(last.starts_with("gcr.io/distroless/static") || last.starts_with("scratch"), "minimal base: {last}");
    let user = last.lines().find_map(|l| l.strip_prefix("USER ")).expect("USER in the final stage");
    assert!(!["root", "0", "0:0"].contains(&user.trim()), "non-root user: {user}");
    for line in text.lines().filter(|l| l.starts_with("COPY ") && !l.contains("--from")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        for source in &words[1..words.len() - 1] {
            assert!(Path::new(ROOT).join(source).exists(), "the Dockerfile copies {source}, which does not exist");
        }
    }
}
