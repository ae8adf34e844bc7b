//! Golden renders of the module chart: `tests/golden/<case>.yaml` holds what each case of the matrix
//! renders. `UPDATE_GOLDEN=1 cargo test --test chart_golden` (or `make golden`) rewrites them;
//! review the diff before committing.

mod common;

use std::path::PathBuf;

use common::matrix;
use eventing_manager::chart::{Release, to_yaml_stream};

#[test]
fn every_case_renders_its_golden_file() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let release = Release { name: "eventing".into(), namespace: "kyma-system".into() };
    let mut stale = Vec::new();
    for case in matrix::cases() {
        let rendered = to_yaml_stream(&case.render(&release)).expect("serializes");
        let file = dir.join(format!("{}.yaml", case.name));
        if update {
            std::fs::create_dir_all(&dir).expect("golden dir");
            std::fs::write(&file, &rendered).expect("write golden");
            continue;
        }
        match std::fs::read_to_string(&file) {
            Ok(golden) if golden == rendered => {}
            Ok(golden) => {
                let line = golden.lines().zip(rendered.lines()).position(|(a, b)| a != b).map_or(0, |i| i + 1);
                stale.push(format!("{} differs from line {line}", file.display()));
            }
            Err(e) => stale.push(format!("{}: {e}", file.display())),
        }
    }
    assert!(stale.is_empty(), "golden renders changed (UPDATE_GOLDEN=1 rewrites them):\n{}", stale.join("\n"));
}

#[test]
fn cases_differ_where_they_should() {
    let release = Release { name: "eventing".into(), namespace: "kyma-system".into() };
    let by_name = |name: &str| {
        let case = matrix::cases().into_iter().find(|c| c.name == name).expect("case exists");
        case.render(&release)
    };
    let kinds = |name: &str| by_name(name).iter().map(|m| m.kind().to_owned()).collect::<Vec<_>>();

    assert!(!kinds("eventmesh").contains(&"StatefulSet".to_owned()), "EventMesh renders no NATS");
    assert!(kinds("istio").contains(&"DestinationRule".to_owned()), "Istio present → DestinationRule");
    assert!(kinds("publisher-autoscaled").contains(&"HorizontalPodAutoscaler".to_owned()));
    assert!(!kinds("defaults").contains(&"HorizontalPodAutoscaler".to_owned()), "min == max → no HPA");

    let statefulset = |name: &str| by_name(name).into_iter().find(|m| m.kind() == "StatefulSet").expect("sts").object;
    assert_eq!(statefulset("five-nodes")["spec"]["replicas"], 5);
    assert!(statefulset("memory-only")["spec"].get("volumeClaimTemplates").is_none());
    let claim = &statefulset("file-storage-class")["spec"]["volumeClaimTemplates"][0]["spec"];
    assert_eq!(
        (claim["storageClassName"].as_str(), claim["resources"]["requests"]["storage"].as_str()),
        (Some("standard"), Some("5Gi"))
    );

    let conf = |name: &str| matrix::nats_conf(&by_name(name)).expect("nats.conf");
    assert!(!conf("single-node").contains("cluster {"), "one server, no routes → no cluster block");
    assert_eq!(conf("five-nodes").matches(".svc.cluster.local:6222").count(), 5);
    assert!(conf("five-nodes").contains("\"nats://other-cluster:6222\""));
    assert!(conf("edge-leaf-remote").contains("credentials: \"/etc/nats-remotes/0/edge.creds\""));
    assert!(conf("primary-leaf-authorization").contains("password: $LEAFNODE_PASSWORD"));
    assert!(conf("nats-cr-primary").contains("debug: true"));
}
