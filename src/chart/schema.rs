//! A chart's `values.schema.json`, as Helm reads it: the values a render gets must match it, so a
//! misspelt key or a value the servers would refuse is an error naming the key instead of a render
//! that silently ignores it.
//!
//! The schema is JSON Schema, limited to the keywords below; a schema using any other is refused
//! when the chart loads (a keyword this code does not check must not look as if it were checked).
//! `format` names the checks of the CRDs' own fields (`quantity`, `duration`, `route-url`,
//! `remote-url`, `dns-label`, `dns-subdomain`), so the chart and the CRs accept the same text.

use serde_json::{Map, Value};

use crate::api::validate::{remote_url, route_url, storage_size};
use crate::naming::{is_dns_label, is_dns_subdomain};

const KEYWORDS: &[&str] = &[
    "$schema",
    "title",
    "description",
    "type",
    "properties",
    "additionalProperties",
    "items",
    "enum",
    "not",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "format",
];
const FORMATS: &[&str] = &["quantity", "duration", "route-url", "remote-url", "dns-label", "dns-subdomain"];

/// A value that does not match: the key (`nats.cluster.size`, `nats.leafNodes.remotes[0].urls[1]`)
/// and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    pub key: String,
    pub message: String,
}

/// Checks that `schema` uses only the keywords and formats this module checks; the error names the
/// schema path.
pub fn check_schema(schema: &Value, at: &str) -> Result<(), String> {
    let Some(map) = schema.as_object() else {
        return match schema {
            Value::Bool(_) => Ok(()),
            _ => Err(format!("{at}: a schema must be an object or a boolean")),
        };
    };
    for (keyword, value) in map {
        if !KEYWORDS.contains(&keyword.as_str()) {
            return Err(format!("{at}: the keyword {keyword:?} is not supported (supported: {})", KEYWORDS.join(", ")));
        }
        match keyword.as_str() {
            "properties" => {
                for (name, sub) in value.as_object().ok_or_else(|| format!("{at}.properties must be an object"))? {
                    check_schema(sub, &format!("{at}.properties.{name}"))?;
                }
            }
            "additionalProperties" | "items" | "not" => check_schema(value, &format!("{at}.{keyword}"))?,
            "format" if !value.as_str().is_some_and(|f| FORMATS.contains(&f)) => {
                return Err(format!("{at}: format {value} is not supported (supported: {})", FORMATS.join(", ")));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Validates `value` (at key `key`; empty for the top) against `schema`; the first mismatch.
pub fn validate(schema: &Value, value: &Value, key: &str) -> Result<(), BadValue> {
    let bad = |message: String| Err(BadValue { key: key.to_owned(), message });
    let schema = match schema {
        Value::Bool(true) => return Ok(()),
        Value::Bool(false) => return bad("not a value of this chart".into()),
        Value::Object(schema) => schema,
        _ => return Ok(()),
    };
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !allowed.iter().any(|t| has_type(value, t)) {
            return bad(format!("{} is {}; it must be {}", shown(value), type_name(value), allowed.join(" or ")));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let options: Vec<String> = options.iter().map(shown).collect();
        return bad(format!("{} is not one of {}", shown(value), options.join(", ")));
    }
    if let Some(not) = schema.get("not")
        && validate(not, value, key).is_ok()
    {
        let what = not.get("enum").map_or_else(|| "this".to_owned(), |e| format!("any of {e}"));
        return bad(format!("{} must not be {what}", shown(value)));
    }
    if let Some(number) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && number < min
        {
            return bad(format!("{} must be at least {min}", shown(value)));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && number > max
        {
            return bad(format!("{} must be at most {max}", shown(value)));
        }
    }
    if let Some(text) = value.as_str() {
        let chars = text.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && chars < min
        {
            return bad(format!("{} must have at least {min} characters", shown(value)));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && chars > max
        {
            return bad(format!("must have at most {max} characters, it has {chars}"));
        }
    }
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        check_format(format, value, key)?;
    }
    match value {
        Value::Object(map) => object(schema, map, key),
        Value::Array(items) => match schema.get("items") {
            Some(item_schema) => {
                items.iter().enumerate().try_for_each(|(i, item)| validate(item_schema, item, &format!("{key}[{i}]")))
            }
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn object(schema: &Map<String, Value>, map: &Map<String, Value>, key: &str) -> Result<(), BadValue> {
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    for (name, value) in map {
        let child = if key.is_empty() { name.clone() } else { format!("{key}.{name}") };
        match (properties.and_then(|p| p.get(name)), additional) {
            (Some(sub), _) | (None, Some(sub @ Value::Object(_))) => validate(sub, value, &child)?,
            (None, Some(Value::Bool(false))) => {
                let known: Vec<&str> = properties.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
                let within = if key.is_empty() { "the chart".to_owned() } else { key.to_owned() };
                return Err(BadValue {
                    key: child,
                    message: format!("not a value of this chart; {within} takes {}", known.join(", ")),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_format(format: &str, value: &Value, key: &str) -> Result<(), BadValue> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return Ok(()),
    };
    // Empty means "not set" throughout the charts' values.
    if text.is_empty() {
        return Ok(());
    }
    let field_error = |e: crate::api::validate::FieldError| BadValue { key: key.to_owned(), message: e.message };
    let bad = |message: String| Err(BadValue { key: key.to_owned(), message });
    match format {
        "quantity" => storage_size(&text, key).map_err(field_error),
        "route-url" => route_url(&text, key).map_err(field_error),
        "remote-url" => remote_url(&text, key).map_err(field_error),
        "duration" if !is_duration(&text) => {
            bad(format!("{} is not a duration (a number with ms, s, m or h, such as 120s)", shown(value)))
        }
        "dns-label" if !is_dns_label(&text, 63) => {
            bad(format!("{} must be at most 63 lower-case letters, digits and '-'", shown(value)))
        }
        "dns-subdomain" if !is_dns_subdomain(&text) => {
            bad(format!("{} must be lower-case letters, digits, '-' and '.'", shown(value)))
        }
        _ => Ok(()),
    }
}

/// nats-server's duration: a number and a unit, as Go's `time.ParseDuration` reads the common cases.
fn is_duration(text: &str) -> bool {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    !digits.is_empty() && digits.parse::<f64>().is_ok_and(|n| n >= 0.0) && ["ms", "s", "m", "h"].contains(&unit)
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "a map",
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "an integer",
        Value::Null => "null",
    }
}

/// A value as it appears in a message, bounded.
fn shown(value: &Value) -> String {
    crate::text::bounded(&value.to_string(), 80).into_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "size": {"type": "integer", "minimum": 1, "maximum": 99},
                "port": {"type": "integer", "not": {"enum": [4222, 6222]}},
                "kind": {"enum": ["ClusterIP", "NodePort"]},
                "store": {"type": ["string", "integer"], "format": "quantity"},
                "wait": {"type": "string", "format": "duration"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "routes": {"type": "array", "items": {"type": "string", "format": "route-url"}}
            }
        })
    }

    fn error(values: Value) -> BadValue {
        validate(&schema(), &values, "nats").expect_err("refused")
    }

    #[test]
    fn each_mismatch_names_the_key() {
        let unknown = error(json!({"sise": 3}));
        assert_eq!(unknown.key, "nats.sise");
        assert!(unknown.message.contains("nats takes kind, labels, port, routes, size, store, wait"), "{unknown:?}");
        assert_eq!(error(json!({"size": "3"})).message, "\"3\" is a string; it must be integer");
        assert_eq!(error(json!({"size": 100})).key, "nats.size");
        assert!(error(json!({"port": 4222})).message.contains("must not be any of [4222,6222]"));
        assert!(error(json!({"kind": "LoadBalancer"})).message.contains("is not one of \"ClusterIP\", \"NodePort\""));
        assert_eq!(error(json!({"store": "1GB"})).key, "nats.store");
        assert_eq!(error(json!({"wait": "2 minutes"})).key, "nats.wait");
        assert_eq!(error(json!({"labels": {"a": 1}})).key, "nats.labels.a");
        assert_eq!(error(json!({"routes": ["nats://a:6222", "http://b"]})).key, "nats.routes[1]");
    }

    #[test]
    fn matching_values_pass() {
        let good = json!({"size": 3, "port": 7422, "kind": "NodePort", "store": "1Gi", "wait": "120s",
            "labels": {"team": "a"}, "routes": ["nats://a:6222"]});
        assert_eq!(validate(&schema(), &good, "nats"), Ok(()));
        assert_eq!(validate(&schema(), &json!({"store": 1024, "wait": ""}), "nats"), Ok(()));
    }

    #[test]
    fn a_schema_with_an_unchecked_keyword_is_refused() {
        assert!(check_schema(&schema(), "values.schema.json").is_ok());
        let pattern = json!({"properties": {"name": {"pattern": "^[a-z]+$"}}});
        let error = check_schema(&pattern, "values.schema.json").expect_err("refused");
        assert!(error.contains("values.schema.json.properties.name: the keyword \"pattern\""), "{error}");
        assert!(check_schema(&json!({"format": "email"}), "s").is_err());
    }
}
