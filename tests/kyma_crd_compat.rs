//! Our standalone Kyma CRD (`config/standalone/kyma-crd/`, for clusters without lifecycle-manager)
//! accepts whatever lifecycle-manager's real Kyma CRD accepts: walked node by node, ours is never
//! stricter (type, enum, pattern, bounds, required fields, list types, CEL rules) and knows every
//! field the real one has, with the same defaults.

use serde_json::Value;

fn real_kyma_crd() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/kyma/lifecycle-manager/crds/operator.kyma-project.io_kymas.yaml"
    );
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e} (../shared/kyma beside the checkout)"));
    yaml_serde::from_str(&text).expect("YAML")
}

fn version<'a>(crd: &'a Value, name: &str) -> &'a Value {
    crd["spec"]["versions"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == name))
        .unwrap_or_else(|| panic!("version {name}"))
}

/// Every way `ours` would refuse or change an object that `real` accepts as it is.
fn stricter(ours: &Value, real: &Value, path: &str, found: &mut Vec<String>) {
    let mut say = |what: String| found.push(format!("{path}: {what}"));
    if ours["type"] != real["type"] {
        say(format!("type {} where lifecycle-manager's is {}", ours["type"], real["type"]));
    }
    if let Some(ours_enum) = ours["enum"].as_array() {
        match real["enum"].as_array() {
            Some(real_enum) => {
                for value in real_enum.iter().filter(|v| !ours_enum.contains(v)) {
                    say(format!("enum lacks {value}"));
                }
            }
            None => say("an enum where lifecycle-manager's has none".into()),
        }
    }
    for key in ["pattern", "format"] {
        if !ours[key].is_null() && ours[key] != real[key] {
            say(format!("{key} {} where lifecycle-manager's is {}", ours[key], real[key]));
        }
    }
    for key in ["minLength", "minimum", "minItems", "minProperties"] {
        if let Some(min) = ours[key].as_f64()
            && real[key].as_f64().is_none_or(|r| min > r)
        {
            say(format!("{key} {min} above lifecycle-manager's {}", real[key]));
        }
    }
    for key in ["maxLength", "maximum", "maxItems", "maxProperties"] {
        if let Some(max) = ours[key].as_f64()
            && real[key].as_f64().is_none_or(|r| max < r)
        {
            say(format!("{key} {max} below lifecycle-manager's {}", real[key]));
        }
    }
    if !ours["x-kubernetes-validations"].is_null()
        && ours["x-kubernetes-validations"] != real["x-kubernetes-validations"]
    {
        say("CEL rules lifecycle-manager's does not have".into());
    }
    let list_type = |v: &Value| v["x-kubernetes-list-type"].as_str().unwrap_or("atomic").to_owned();
    if list_type(ours) != "atomic"
        && (list_type(ours) != list_type(real)
            || ours["x-kubernetes-list-map-keys"] != real["x-kubernetes-list-map-keys"])
    {
        say(format!("list type {} where lifecycle-manager's is {}", list_type(ours), list_type(real)));
    }
    if ours["default"] != real["default"] {
        say(format!("default {} where lifecycle-manager's is {}", ours["default"], real["default"]));
    }
    let required = |v: &Value| v["required"].as_array().cloned().unwrap_or_default();
    for field in required(ours).iter().filter(|f| !required(real).contains(f)) {
        say(format!("requires {field}, lifecycle-manager's does not"));
    }
    let preserves = ours["x-kubernetes-preserve-unknown-fields"] == true;
    if let Some(properties) = real["properties"].as_object() {
        for (name, real_property) in properties {
            match ours["properties"].get(name) {
                Some(our_property) => stricter(our_property, real_property, &format!("{path}.{name}"), found),
                None if preserves => {}
                None => found.push(format!("{path}.{name}: unknown to ours (it would be pruned)")),
            }
        }
    }
    if !real["items"].is_null() {
        stricter(&ours["items"], &real["items"], &format!("{path}[]"), found);
    }
    if real["additionalProperties"].is_object() {
        stricter(&ours["additionalProperties"], &real["additionalProperties"], &format!("{path}{{}}"), found);
    }
}

#[test]
fn our_standalone_kyma_crd_accepts_whatever_lifecycle_managers_accepts() {
    let real = real_kyma_crd();
    let ours = serde_json::to_value(eventing_manager::api::kyma::standalone_crd()).expect("CRD");
    assert_eq!(ours["metadata"]["name"], real["metadata"]["name"]);
    assert_eq!(ours["spec"]["group"], real["spec"]["group"]);
    assert_eq!(ours["spec"]["scope"], real["spec"]["scope"]);
    assert_eq!(ours["spec"]["names"]["kind"], real["spec"]["names"]["kind"]);
    assert_eq!(ours["spec"]["names"]["plural"], real["spec"]["names"]["plural"]);
    let (ours, real) = (version(&ours, "v1beta2"), version(&real, "v1beta2"));
    assert_eq!(ours["served"], true);
    assert_eq!(ours["storage"], true);
    assert!(ours["subresources"]["status"].is_object(), "status subresource");
    let mut found = Vec::new();
    for part in ["spec", "status"] {
        let (ours, real) = (
            &ours["schema"]["openAPIV3Schema"]["properties"][part],
            &real["schema"]["openAPIV3Schema"]["properties"][part],
        );
        stricter(ours, real, part, &mut found);
    }
    assert!(found.is_empty(), "ours is stricter than lifecycle-manager's Kyma CRD:\n{}", found.join("\n"));
}

#[test]
fn the_comparison_finds_a_stricter_schema() {
    let real = serde_json::json!({"type": "object", "properties": {"name": {"type": "string"}, "n": {"type": "integer", "maximum": 10}}});
    let ours = serde_json::json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "pattern": "^a$"}, "n": {"type": "integer", "maximum": 5}}});
    let mut found = Vec::new();
    stricter(&ours, &real, "spec", &mut found);
    assert_eq!(found.len(), 3, "{found:?}");
    let mut found = Vec::new();
    stricter(&serde_json::json!({"type": "object"}), &real, "spec", &mut found);
    assert_eq!(
        found,
        ["spec.n: unknown to ours (it would be pruned)", "spec.name: unknown to ours (it would be pruned)"]
    );
}
