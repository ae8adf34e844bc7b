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
        (
            &["--set", "nats.jetStream.fileStorage.size=lots"],
            "values: nats.jetStream.fileStorage.size: \"lots\" must be a whole number of bytes",
        ),
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

/// Every value is checked against the charts' values.schema.json before anything renders: a key
/// the chart does not have, or a value the servers would refuse, is an error naming the key.
#[test]
fn values_are_checked_against_the_charts_schemas() {
    let dir = std::env::temp_dir().join(format!("template-cli-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // The nats/nats Helm chart's values (the operations team's primary) are not this chart's.
    let helm = dir.join("helm-values.yaml");
    std::fs::write(&helm, "config:\n  jetstream: {enabled: false}\n  cluster: {enabled: true}\n").expect("write");
    let nats_chart = concat!(env!("CARGO_MANIFEST_DIR"), "/module-chart/charts/nats");
    let cases: &[(&[&str], &str)] = &[
        (
            &["-f", helm.to_str().expect("utf8")],
            "values: config: not a value of this chart; the chart takes global, nats, publisher",
        ),
        (
            &["--set", "nats.cluster.sise=5"],
            "values: nats.cluster.sise: not a value of this chart; nats.cluster takes name, routes, size",
        ),
        (&["--set", "nats.cluster.size=three"], "values: nats.cluster.size: \"three\" is a string; it must be integer"),
        (&["--set", "nats.cluster.size=0"], "values: nats.cluster.size: 0 must be at least 1"),
        (
            &["--set", "nats.cluster.name=my cluster"],
            "values: nats.cluster.name: \"my cluster\" must be at most 63 lower-case letters",
        ),
        (&["--set", "nats.cluster.routes={http://a:6222}"], "values: nats.cluster.routes[0]:"),
        (&["--set", "nats.leafNodes.port=70000"], "values: nats.leafNodes.port: 70000 must be at most 65535"),
        (&["--set", "nats.leafNodes.port=4222"], "values: nats.leafNodes.port: 4222 must not be any of"),
        (
            &["--set", "nats.leafNodes.remotes[0].urls={nats://u:p@primary:7422}"],
            "values: nats.leafNodes.remotes[0].urls[0]:",
        ),
        (&["--set", "nats.jetStream.memStorage.size=1GB"], "values: nats.jetStream.memStorage.size: \"1GB\""),
        (
            &["--set", "nats.lameDuckDuration=2 minutes"],
            "values: nats.lameDuckDuration: \"2 minutes\" is not a duration",
        ),
        (
            &["--set", "nats.service.type=LoadBalancer"],
            "values: nats.service.type: \"LoadBalancer\" is not one of \"ClusterIP\", \"NodePort\"",
        ),
        (
            &["--set", "nats.service.nodePorts.client=80"],
            "values: nats.service.nodePorts.client: 80 must be at least 30000",
        ),
        (&["--set", "nats.labels.team=1"], "values: nats.labels.team: 1 is an integer; it must be string"),
        (&["--set", "publisher.logLevel=verbose"], "values: publisher.logLevel: \"verbose\" is not one of"),
        (&["--set", "publisher.nats.streamReplicas=7"], "values: publisher.nats.streamReplicas: 7 must be at most 5"),
        // A chart directory rendered alone names its keys from its own top.
        (
            &[nats_chart, "--set", "jetStream.fileStore.enabled=false"],
            "values: jetStream.fileStore: not a value of this chart; jetStream takes domain, enabled, fileStorage, memStorage",
        ),
    ];
    for (args, expected) in cases {
        let output = template(args);
        assert!(!output.status.success(), "{args:?} must fail");
        assert!(stdout(&output).is_empty(), "{args:?}: nothing on stdout");
        assert!(stderr(&output).contains(expected), "{args:?}: {}", stderr(&output));
    }
    // A disabled subchart's values are not checked (as Helm, which drops the subchart first).
    let off = template(&[
        "--set",
        "nats.enabled=false",
        "--set",
        "publisher.backend=EventMesh",
        "--set",
        "publisher.eventMesh.secretName=em",
        "--set",
        "nats.cluster.size=three",
    ]);
    assert!(off.status.success(), "{}", stderr(&off));
    let _ = std::fs::remove_dir_all(&dir);
}
