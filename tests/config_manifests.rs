//! The kustomize bases of `config/`: `config/default` builds, holds one workload (the manager) that
//! runs locked down with probes, binds the role to the manager's ServiceAccount, passes only flags
//! the binary knows; the API server accepts every object of it and every sample (dry run).

mod common;

use std::process::Command;

use common::{TestNamespace, apply_manifest, client_with_crds};
use eventing_manager::chart::Manifest;
use serde_json::{Value, json};

fn kustomize(dir: &str) -> Vec<Value> {
    let root = env!("CARGO_MANIFEST_DIR");
    let local = format!("{root}/.testenv/bin/kubectl");
    let kubectl = if std::path::Path::new(&local).exists() { local } else { "kubectl".into() };
    let output = Command::new(&kubectl).args(["kustomize", &format!("{root}/{dir}")]).output().expect("kubectl runs");
    assert!(output.status.success(), "kustomize {dir}: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("utf-8");
    text.split("\n---\n").map(|doc| yaml_serde::from_str(doc).expect("a YAML object")).collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} in config/default"))
}

fn manifest(object: &Value) -> Manifest {
    Manifest { source: format!("{} {}", object["kind"], object["metadata"]["name"]), object: object.clone() }
}

#[test]
fn the_default_base_runs_the_manager_locked_down() {
    let docs = kustomize("config/default");
    let workloads: Vec<&Value> = docs
        .iter()
        .filter(|d| {
            ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"]
                .contains(&d["kind"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(workloads.len(), 1, "one workload: {workloads:?}");
    let deployment = find(&docs, "Deployment", "eventing-manager");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(container["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(container["resources"]["limits"]["memory"].is_string(), "a memory limit");

    // The role is bound to the ServiceAccount the pod runs as.
    let account = pod["serviceAccountName"].as_str().expect("serviceAccountName");
    let namespace = deployment["metadata"]["namespace"].as_str().expect("namespace");
    for (kind, name) in
        [("ClusterRoleBinding", "eventing-manager"), ("RoleBinding", "eventing-manager-leader-election")]
    {
        let subject = &find(&docs, kind, name)["subjects"][0];
        assert_eq!(
            (subject["name"].as_str(), subject["namespace"].as_str()),
            (Some(account), Some(namespace)),
            "{kind}"
        );
    }
    find(&docs, "ServiceAccount", account);

    // Every flag the Deployment passes exists.
    let help = Command::new(env!("CARGO_BIN_EXE_eventing-manager")).args(["run", "--help"]).output().expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    let args: Vec<&str> = container["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    assert_eq!(args.first(), Some(&"run"));
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(help.contains(flag), "the manager has no flag {flag}");
    }
}

fn args(docs: &[Value]) -> Vec<String> {
    let container = &find(docs, "Deployment", "eventing-manager")["spec"]["template"]["spec"]["containers"][0];
    container["args"].as_array().expect("args").iter().filter_map(Value::as_str).map(str::to_owned).collect()
}

#[test]
fn managed_is_the_default_and_standalone_an_overlay() {
    let managed = kustomize("config/default");
    assert!(args(&managed).windows(2).any(|w| w == ["--kyma-mode", "managed"]), "{:?}", args(&managed));
    assert!(!managed.iter().any(|d| d["kind"] == "Namespace"), "no Namespace in the managed install");
    assert!(!managed.iter().any(|d| d["metadata"]["name"] == "kymas.operator.kyma-project.io"), "no Kyma CRD");
    assert!(
        !managed
            .iter()
            .flat_map(|d| d["rules"].as_array().cloned().unwrap_or_default())
            .any(|r| r["resources"].to_string().contains("kymas")),
        "no Kyma RBAC"
    );

    let standalone = kustomize("config/standalone");
    assert!(args(&standalone).windows(2).any(|w| w == ["--kyma-mode", "standalone"]), "{:?}", args(&standalone));
    assert!(
        !standalone.iter().any(|d| d["metadata"]["name"] == "kymas.operator.kyma-project.io"),
        "the Kyma CRD is created separately, only where none exists"
    );
    find(&standalone, "Namespace", "kyma-system");
    let role = find(&standalone, "ClusterRole", "eventing-manager-standalone");
    assert!(role["rules"].to_string().contains("kymas/status"));
    let binding = find(&standalone, "ClusterRoleBinding", "eventing-manager-standalone");
    assert_eq!(binding["subjects"][0]["name"], "eventing-manager");
}

#[tokio::test]
async fn the_api_server_accepts_the_default_base_and_the_samples() {
    let client = client_with_crds().await;
    let ns = TestNamespace::create(&client, "config").await;
    // The manager's namespace must exist for a dry run of what goes into it.
    let _ =
        apply_manifest(&client, &manifest(find(&kustomize("config/standalone"), "Namespace", "kyma-system")), false)
            .await;
    for base in ["config/default", "config/standalone"] {
        for object in kustomize(base) {
            apply_manifest(&client, &manifest(&object), true).await.unwrap_or_else(|e| panic!("{base}: {e}"));
        }
    }
    for mut object in kustomize("config/samples") {
        // The samples' own namespaces need not exist here: the schema is what is checked.
        object["metadata"]["namespace"] = json!(ns.name);
        apply_manifest(&client, &manifest(&object), true).await.unwrap_or_else(|e| panic!("config/samples: {e}"));
    }
}
