//! `config.put` payloads: parsed and checked field by field, so that a bad request gets an answer
//! naming the field, before anything touches the cluster. Pure; no I/O.

use serde_json::{Map, Value};

use crate::api::nats::{LeafRemote, SecretKeyRef};
use crate::api::validate;

/// The key of a remote's credentials Secret when `credentialsSecret` names only the Secret.
pub const DEFAULT_CREDENTIALS_KEY: &str = "creds";
/// The CRD's limits (`spec.cluster.routes`, `spec.leafNodes.remotes[]`).
pub const MAX_ROUTES: usize = 32;
pub const MAX_REMOTES: usize = 32;
pub const MAX_URLS_PER_REMOTE: usize = 16;
const FIELDS: &[&str] = &["name", "routes", "leafRemotes"];
const REMOTE_FIELDS: &[&str] = &["urls", "credentialsSecret"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// At most this many routes (≤ [`MAX_ROUTES`]).
    pub max_routes: usize,
    /// At most this many bytes of payload.
    pub max_payload: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_routes: MAX_ROUTES, max_payload: 64 * 1024 }
    }
}

/// What is wrong with a request: the field (a JSON path such as `leafRemotes[1].urls[0]`; empty
/// for the payload as a whole) and why. The same type, and for URLs the same rules, as the CRDs'.
pub use crate::api::validate::FieldError;

/// A valid `config.put`: each field replaces the CR's, when present.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigPut {
    pub name: Option<String>,
    pub routes: Option<Vec<String>>,
    pub leaf_remotes: Option<Vec<LeafRemote>>,
}

pub fn parse_put(payload: &[u8], limits: &Limits) -> Result<ConfigPut, FieldError> {
    if payload.len() > limits.max_payload {
        return Err(FieldError::new(
            "",
            format!("the payload has {} bytes; at most {} are allowed", payload.len(), limits.max_payload),
        ));
    }
    let value: Value =
        serde_json::from_slice(payload).map_err(|e| FieldError::new("", format!("malformed JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(FieldError::new("", format!("the payload must be a JSON object, not {}", kind(&value))));
    };
    only_known(&object, FIELDS, "")?;
    let name = match object.get("name") {
        None => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(other) => return Err(FieldError::new("name", format!("must be a string, not {}", kind(other)))),
    };
    let routes = object.get("routes").map(|v| routes(v, limits)).transpose()?;
    let leaf_remotes = object.get("leafRemotes").map(remotes).transpose()?;
    Ok(ConfigPut { name, routes, leaf_remotes })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn path(parent: &str, field: &str) -> String {
    if parent.is_empty() { field.to_owned() } else { format!("{parent}.{field}") }
}

fn only_known(object: &Map<String, Value>, allowed: &[&str], parent: &str) -> Result<(), FieldError> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => {
            Err(FieldError::new(path(parent, unknown), format!("unknown field; allowed: {}", allowed.join(", "))))
        }
        None => Ok(()),
    }
}

fn array<'a>(value: &'a Value, field: &str) -> Result<&'a Vec<Value>, FieldError> {
    value.as_array().ok_or_else(|| FieldError::new(field, format!("must be an array, not {}", kind(value))))
}

/// A URL string checked by `rule` (the CRD's rule for the same field).
fn url(value: &Value, field: &str, rule: fn(&str, &str) -> Result<(), FieldError>) -> Result<String, FieldError> {
    let Value::String(text) = value else {
        return Err(FieldError::new(field, format!("must be a string, not {}", kind(value))));
    };
    rule(text, field)?;
    Ok(text.clone())
}

fn no_duplicates(urls: &[String], field: &str) -> Result<(), FieldError> {
    for (i, url) in urls.iter().enumerate() {
        if let Some(first) = urls[..i].iter().position(|u| u == url) {
            return Err(FieldError::new(format!("{field}[{i}]"), format!("duplicates {field}[{first}] ({url})")));
        }
    }
    Ok(())
}

fn routes(value: &Value, limits: &Limits) -> Result<Vec<String>, FieldError> {
    let items = array(value, "routes")?;
    let max = limits.max_routes.min(MAX_ROUTES);
    if items.len() > max {
        return Err(FieldError::new("routes", format!("{} routes; at most {max} are allowed", items.len())));
    }
    let routes = items
        .iter()
        .enumerate()
        .map(|(i, v)| url(v, &format!("routes[{i}]"), validate::route_url))
        .collect::<Result<Vec<_>, _>>()?;
    no_duplicates(&routes, "routes")?;
    Ok(routes)
}

fn secret_ref(value: &Value, field: &str) -> Result<SecretKeyRef, FieldError> {
    let Value::String(text) = value else {
        return Err(FieldError::new(field, format!("must be a string, not {}", kind(value))));
    };
    let (name, key) = text.split_once('/').unwrap_or((text, DEFAULT_CREDENTIALS_KEY));
    if !crate::naming::is_dns_subdomain(name) {
        return Err(FieldError::new(
            field,
            format!(
                "{text:?} is not `secret` or `secret/key` with a Secret name (lower-case letters, digits, '-' and '.')"
            ),
        ));
    }
    let key_ok = (1..=253).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !key_ok {
        return Err(FieldError::new(field, format!("{key:?} is not a Secret key (letters, digits, '-', '_', '.')")));
    }
    Ok(SecretKeyRef { name: name.to_owned(), key: key.to_owned() })
}

fn remotes(value: &Value) -> Result<Vec<LeafRemote>, FieldError> {
    let items = array(value, "leafRemotes")?;
    if items.len() > MAX_REMOTES {
        return Err(FieldError::new(
            "leafRemotes",
            format!("{} remotes; at most {MAX_REMOTES} are allowed", items.len()),
        ));
    }
    let mut remotes: Vec<LeafRemote> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("leafRemotes[{i}]");
        let Value::Object(object) = item else {
            return Err(FieldError::new(field, format!("must be an object, not {}", kind(item))));
        };
        only_known(object, REMOTE_FIELDS, &field)?;
        let urls_field = format!("{field}.urls");
        let Some(urls) = object.get("urls") else { return Err(FieldError::new(urls_field, "is required")) };
        let urls = array(urls, &urls_field)?;
        if urls.is_empty() || urls.len() > MAX_URLS_PER_REMOTE {
            return Err(FieldError::new(
                urls_field,
                format!("needs 1 to {MAX_URLS_PER_REMOTE} URLs, not {}", urls.len()),
            ));
        }
        let urls = urls
            .iter()
            .enumerate()
            .map(|(j, v)| url(v, &format!("{urls_field}[{j}]"), validate::remote_url))
            .collect::<Result<Vec<_>, _>>()?;
        no_duplicates(&urls, &urls_field)?;
        for (j, url) in urls.iter().enumerate() {
            if let Some(other) = remotes.iter().position(|r| r.urls.contains(url)) {
                return Err(FieldError::new(
                    format!("{urls_field}[{j}]"),
                    format!("{url} is already a URL of leafRemotes[{other}]"),
                ));
            }
        }
        let credentials = object
            .get("credentialsSecret")
            .map(|v| secret_ref(v, &format!("{field}.credentialsSecret")))
            .transpose()?;
        remotes.push(LeafRemote {
            urls,
            credentials,
            user: None,
            password: None,
            token: None,
            tls: None,
            account: None,
        });
    }
    Ok(remotes)
}

/// How a remote's credentials Secret is written in replies: `name`, or `name/key` for another key.
pub fn credentials_secret(reference: &SecretKeyRef) -> String {
    if reference.key == DEFAULT_CREDENTIALS_KEY {
        reference.name.clone()
    } else {
        format!("{}/{}", reference.name, reference.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn put(json: &str) -> Result<ConfigPut, FieldError> {
        parse_put(json.as_bytes(), &Limits::default())
    }

    fn error(json: &str) -> (String, String) {
        let e = put(json).expect_err(json);
        (e.field, e.message)
    }

    #[test]
    fn a_full_put_parses() {
        let parsed = put(r#"{"name": "edge", "routes": ["nats://a:6222", "tls://[::1]:6222"],
            "leafRemotes": [{"urls": ["nats://p:7422"], "credentialsSecret": "creds"},
                            {"urls": ["tls://q:7422"], "credentialsSecret": "other/edge.creds"}, {"urls": ["nats://r:1"]}]}"#)
        .expect("valid");
        assert_eq!(parsed.name.as_deref(), Some("edge"));
        assert_eq!(parsed.routes.as_deref(), Some(&["nats://a:6222".to_owned(), "tls://[::1]:6222".to_owned()][..]));
        let remotes = parsed.leaf_remotes.expect("remotes");
        assert_eq!(remotes[0].credentials, Some(SecretKeyRef { name: "creds".into(), key: "creds".into() }));
        assert_eq!(credentials_secret(remotes[1].credentials.as_ref().expect("ref")), "other/edge.creds");
        assert_eq!(remotes[2].credentials, None);
        assert_eq!(put("{}").expect("empty"), ConfigPut { name: None, routes: None, leaf_remotes: None });
        assert_eq!(put(r#"{"routes": []}"#).expect("clear").routes, Some(vec![]));
    }

    #[test]
    fn every_bad_input_names_its_field() {
        assert_eq!(error("{").0, "");
        assert!(error("{").1.starts_with("malformed JSON"));
        assert_eq!(error("[1]"), ("".into(), "the payload must be a JSON object, not an array".into()));
        assert_eq!(
            error(r#"{"nmae": "x"}"#),
            ("nmae".into(), "unknown field; allowed: name, routes, leafRemotes".into())
        );
        assert_eq!(error(r#"{"name": 7}"#), ("name".into(), "must be a string, not a number".into()));
        assert_eq!(error(r#"{"routes": "nats://a:1"}"#).0, "routes");
        assert_eq!(error(r#"{"routes": [1]}"#), ("routes[0]".into(), "must be a string, not a number".into()));
        assert!(error(r#"{"routes": ["http://a:1"]}"#).1.contains("must start with one of nats://, tls://"));
        assert!(error(r#"{"routes": ["nats://a"]}"#).1.contains("has no port"));
        assert!(error(r#"{"routes": ["nats://a:0"]}"#).1.contains("valid port"));
        assert!(error(r#"{"routes": ["nats://a:70000"]}"#).1.contains("valid port"));
        assert!(error(r#"{"routes": ["nats://a:06222"]}"#).1.contains("valid port"));
        assert!(error(r#"{"routes": ["nats://:6222"]}"#).1.contains("has no valid host"));
        assert!(error(r#"{"routes": ["nats://u:p@a:6222"]}"#).1.contains("carries credentials; name a Secret"));
        assert!(error(r#"{"routes": ["nats://a b:6222"]}"#).1.contains("has no valid host"));
        assert_eq!(
            error(r#"{"routes": ["nats://a:1", "nats://b:1", "nats://a:1"]}"#),
            ("routes[2]".into(), "duplicates routes[0] (nats://a:1)".into())
        );
        let many = (0..33).map(|i| format!("\"nats://h{i}:1\"")).collect::<Vec<_>>().join(",");
        assert_eq!(
            error(&format!(r#"{{"routes": [{many}]}}"#)),
            ("routes".into(), "33 routes; at most 32 are allowed".into())
        );
        let few = Limits { max_routes: 2, ..Limits::default() };
        let e = parse_put(br#"{"routes": ["nats://a:1","nats://b:1","nats://c:1"]}"#, &few).expect_err("limit");
        assert_eq!(e.message, "3 routes; at most 2 are allowed");
        assert_eq!(error(r#"{"leafRemotes": [{"url": []}]}"#).0, "leafRemotes[0].url");
        assert_eq!(error(r#"{"leafRemotes": [{}]}"#), ("leafRemotes[0].urls".into(), "is required".into()));
        assert_eq!(error(r#"{"leafRemotes": [{"urls": []}]}"#).0, "leafRemotes[0].urls");
        assert_eq!(error(r#"{"leafRemotes": ["x"]}"#).1, "must be an object, not a string");
        assert_eq!(
            error(r#"{"leafRemotes": [{"urls": ["nats://p:1"]}, {"urls": ["nats://p:1"]}]}"#).1,
            "nats://p:1 is already a URL of leafRemotes[0]"
        );
        assert_eq!(
            error(r#"{"leafRemotes": [{"urls": ["nats://p:1"], "credentialsSecret": "Bad"}]}"#).0,
            "leafRemotes[0].credentialsSecret"
        );
        assert!(
            error(r#"{"leafRemotes": [{"urls": ["nats://p:1"], "credentialsSecret": "a/b c"}]}"#)
                .1
                .contains("not a Secret key")
        );
        let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(70_000));
        assert_eq!(error(&big).0, "");
        assert!(error(&big).1.contains("at most 65536 are allowed"));
    }

    proptest! {
        /// Arbitrary bytes never panic the parser, and an accepted put only holds what the CRD allows.
        #[test]
        fn arbitrary_bytes_get_an_answer(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(put) = parse_put(&bytes, &Limits::default()) {
                prop_assert!(put.routes.iter().flatten().all(|r| r.starts_with("nats://") || r.starts_with("tls://")));
            }
        }

        /// JSON objects built from the request's own field names and arbitrary values.
        #[test]
        fn arbitrary_requests_are_accepted_only_when_valid(
            fields in proptest::collection::btree_map(
                prop_oneof![Just("name".to_owned()), Just("routes".to_owned()), Just("leafRemotes".to_owned()), Just("extra".to_owned()), "[a-z]{1,6}"],
                prop_oneof![
                    Just(Value::Null),
                    any::<i64>().prop_map(Value::from),
                    "[a-z:/.0-9@ ]{0,24}".prop_map(Value::from),
                    proptest::collection::vec(
                        prop_oneof!["(nats|tls|http)://[a-z]{0,3}:[0-9]{0,6}".prop_map(Value::from), any::<bool>().prop_map(Value::from)],
                        0..4
                    ).prop_map(Value::from),
                    proptest::collection::vec(
                        proptest::collection::btree_map(
                            prop_oneof![Just("urls".to_owned()), Just("credentialsSecret".to_owned()), "[a-z]{1,4}"],
                            prop_oneof![
                                proptest::collection::vec("nats://[a-z]{1,2}:[1-9]{1,2}".prop_map(Value::from), 0..3).prop_map(Value::from),
                                "[a-z/]{0,8}".prop_map(Value::from),
                            ],
                            0..3
                        ).prop_map(|m| Value::Object(m.into_iter().collect())),
                        0..3
                    ).prop_map(Value::from),
                ],
                0..4
            )
        ) {
            let payload = serde_json::to_vec(&fields).expect("json");
            match parse_put(&payload, &Limits::default()) {
                Ok(put) => {
                    prop_assert!(fields.keys().all(|k| FIELDS.contains(&k.as_str())));
                    for route in put.routes.iter().flatten() {
                        prop_assert!(route.starts_with("nats://") || route.starts_with("tls://"), "{}", route);
                    }
                    for remote in put.leaf_remotes.iter().flatten() {
                        prop_assert!(!remote.urls.is_empty());
                    }
                }
                Err(error) => prop_assert!(!error.message.is_empty()),
            }
        }
    }
}
