//! Whether a live object already holds everything we would apply: every field of the desired
//! object is present in the live one with an equal value (the server may add defaults around it).

use serde_json::Value;

pub fn contains(live: &Value, desired: &Value) -> bool {
    match (live, desired) {
        (Value::Object(live), Value::Object(desired)) => {
            desired.iter().all(|(key, want)| match live.get(key) {
                Some(have) => contains(have, want),
                // An empty map or list we render may be omitted by the server.
                None => is_empty(want),
            })
        }
        (Value::Array(live), Value::Array(desired)) => {
            live.len() == desired.len() && live.iter().zip(desired).all(|(have, want)| contains(have, want))
        }
        (Value::Number(live), Value::Number(desired)) => live.as_f64() == desired.as_f64(),
        (live, desired) => live == desired,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(list) => list.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_added_by_the_server_are_not_drift() {
        let desired = json!({"spec": {"ports": [{"name": "client", "port": 4222}], "selector": {"a": "b"}}});
        let live = json!({"spec": {"ports": [{"name": "client", "port": 4222, "protocol": "TCP"}], "selector": {"a": "b"}, "clusterIP": "10.0.0.1"}, "status": {}});
        assert!(contains(&live, &desired));
    }

    #[test]
    fn changed_removed_or_added_fields_are_drift() {
        let desired = json!({"spec": {"replicas": 3, "args": ["a", "b"], "labels": {"x": "1"}}});
        for live in [
            json!({"spec": {"replicas": 5, "args": ["a", "b"], "labels": {"x": "1"}}}),
            json!({"spec": {"replicas": 3, "args": ["a"], "labels": {"x": "1"}}}),
            json!({"spec": {"replicas": 3, "args": ["a", "b", "c"], "labels": {"x": "1"}}}),
            json!({"spec": {"replicas": 3, "args": ["a", "b"], "labels": {}}}),
            json!({"spec": {"args": ["a", "b"], "labels": {"x": "1"}}}),
        ] {
            assert!(!contains(&live, &desired), "{live}");
        }
    }

    #[test]
    fn empty_rendered_collections_may_be_absent_and_numbers_compare_by_value() {
        assert!(contains(&json!({"a": 1}), &json!({"a": 1.0, "b": {}, "c": []})));
        assert!(!contains(&json!({"a": 1}), &json!({"b": {"x": 1}})));
    }
}
