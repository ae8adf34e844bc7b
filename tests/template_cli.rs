//! `eventing-manager template` as a user runs it: rendered YAML on stdout and exit 0, or the error
//! on stderr and a non-zero exit.

use std::process::{Command, Output};

fn template(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eventing-manager")).arg("template").args(args).output().expect("runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn renders_the_bundled_chart_like_helm_template() {
    let output = template(&["--release-name", "ev", "--namespace", "tenant-a"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let yaml = stdout(&output);
    assert!(yaml.starts_with("---\n# Source: module-chart/charts/"), "{yaml}");
    assert!(yaml.contains("name: ev-nats\n  namespace: tenant-a"), "{yaml}");
    assert!(!yaml.contains("kind: DestinationRule"));
}

#[test]
fn values_files_set_strings_and_api_versions_apply_in_order() {
    let dir = std::env::temp_dir().join(format!("template-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let first = dir.join("first.yaml");
    let second = dir.join("second.yaml");
    std::fs::write(&first, "nats:\n  cluster: {size: 5}\n  logging: {debug: true}\n").expect("write");
    std::fs::write(&second, "nats:\n  cluster: {size: 7}\n").expect("write");
    let output = template(&[
        "-f",
        first.to_str().expect("utf8"),
        "-f",
        second.to_str().expect("utf8"),
        "--set",
        "nats.logging.trace=true",
        "--api-versions",
        "networking.istio.io/v1",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let yaml = stdout(&output);
    assert!(yaml.contains("replicas: 7"), "the later file wins");
    assert!(yaml.contains("debug: true") && yaml.contains("trace: true"), "maps merge deeply");
    assert!(yaml.contains("kind: DestinationRule"), "Istio served → DestinationRule");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn renders_a_chart_directory() {
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/module-chart/charts/nats");
    let output = template(&[chart, "--release-name", "primary", "-n", "nats", "--set", "cluster.size=1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let yaml = stdout(&output);
    assert!(yaml.contains("name: primary-nats") && yaml.contains("replicas: 1"), "{yaml}");
    assert!(!yaml.contains("kind: Deployment"), "the nats chart alone has no publisher");
}

#[test]
fn errors_go_to_stderr_with_a_non_zero_exit() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--set", "nats.leafNodes.enabled=true", "--set", "nats.leafNodes.authorization.enabled=true"],
            "leafNodes.authorization.user is required when leaf node authorization is enabled",
        ),
        (&["--set", "publisher.backend=EventMesh"], "eventMesh.secretName is required for the EventMesh backend"),
        (&["--set", "nats.jetStream.fileStorage.size=lots"], "natsSize: \"lots\" is not a quantity"),
        (&["--set", "novalue"], "--set \"novalue\": expected key=value"),
        (&["-f", "/nonexistent/values.yaml"], "cannot read /nonexistent/values.yaml"),
        (&["/nonexistent/chart"], "cannot read /nonexistent/chart"),
    ];
    for (args, expected) in cases {
        let output = template(args);
        assert!(!output.status.success(), "{args:?} must fail");
        assert!(stdout(&output).is_empty(), "{args:?}: nothing on stdout");
        assert!(stderr(&output).contains(expected), "{args:?}: {}", stderr(&output));
    }
}
