//! The rules a NATS or Eventing spec must meet, as the controller checks them before it renders.
//! The CRDs state the same rules in their schema and CEL (the API server refuses at once), the
//! control API uses these functions for its requests; `tests/bad_input.rs` holds every rule to
//! both answers. The controller checks again because a CR can predate the CRD that has the rule.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ResourceRequirements;
use serde::Serialize;

use super::eventing::EventingSpec;
use super::nats::NatsSpec;
use crate::quantity::{Quantity, storage_bytes};
use crate::text::quote;

/// What is wrong: the field (a path such as `spec.leafNodes.remotes[1].urls[0]`) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.field, self.message)
    }
}

/// Ports the NATS servers listen on besides the leaf node port: client, cluster, monitoring.
pub const RESERVED_PORTS: [i32; 3] = [4222, 6222, 8222];
/// Label keys the manager sets on what it renders (the prefix, and three keys); a spec must not set them.
pub const RESERVED_KEY_PREFIX: &str = "eventing-manager.kyma-project.io/";
pub const RESERVED_KEYS: [&str; 3] =
    ["app.kubernetes.io/managed-by", "app.kubernetes.io/name", "app.kubernetes.io/instance"];

/// The same rules in CEL, for the CRDs (`tests/bad_input.rs` checks that both agree).
pub mod cel {
    pub const ROUTES: &str = "self.all(r, r.matches('^(nats|tls)://(\\\\[[0-9a-fA-F:.]+\\\\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?):([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$'))";
    pub const REMOTE_URLS: &str = "self.all(u, u.matches('^(nats-leaf|nats|tls|ws|wss)://(\\\\[[0-9a-fA-F:.]+\\\\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?)(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$'))";
    /// A whole number with an optional unit: no fraction, no milli/micro/nano, no negative exponent.
    /// (`isInteger()` is false for large binary quantities such as `1Pi`, so it is not used.)
    /// Over `string(self)`: the field may be an integer (int-or-string, as upstream's).
    pub const STORAGE_SIZE: &str = "isQuantity(string(self)) && !string(self).matches('[.]|[mun]$|[eE]-') && quantity(string(self)).compareTo(quantity('0')) > 0 && quantity(string(self)).compareTo(quantity('1Pi')) <= 0";
    /// A domain name as upstream's `domain` pattern states it (empty allowed).
    pub const DOMAIN: &str = "self.matches('^(([a-zA-Z0-9]|[a-zA-Z0-9][-a-zA-Z0-9]{0,61}[a-zA-Z0-9])([.]([a-zA-Z0-9]|[a-zA-Z0-9][-a-zA-Z0-9]{0,61}[a-zA-Z0-9]))*)?$')";
    pub const KEYS: &str = "self.all(k, k.matches('^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'))";
    pub const NOT_RESERVED: &str = "!self.exists(k, k.startsWith('eventing-manager.kyma-project.io/') || k in ['app.kubernetes.io/managed-by', 'app.kubernetes.io/name', 'app.kubernetes.io/instance'])";
    pub const LABEL_VALUES: &str = "self.all(k, self[k].matches('^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$'))";
}
pub const MAX_URL_LENGTH: usize = 512;

fn host_ok(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    }
    !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && host.starts_with(|c: char| c.is_ascii_alphanumeric())
        && host.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn port_ok(port: &str) -> bool {
    !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && !port.starts_with('0')
        && port.parse::<u32>().is_ok_and(|p| p <= 65535)
}

/// `scheme://host[:port]` for one of `schemes`; the port is required when `port_required`.
fn url(text: &str, field: &str, schemes: &[&str], port_required: bool) -> Result<(), FieldError> {
    let bad = |why: String| FieldError::new(field, format!("{} {why}", quote(text)));
    if text.len() > MAX_URL_LENGTH {
        return Err(FieldError::new(field, format!("is longer than {MAX_URL_LENGTH} characters")));
    }
    let allowed = schemes.iter().map(|s| format!("{s}://")).collect::<Vec<_>>().join(", ");
    let Some(rest) = schemes.iter().find_map(|s| text.strip_prefix(s).and_then(|r| r.strip_prefix("://"))) else {
        return Err(bad(format!("must start with one of {allowed}")));
    };
    if rest.contains('@') {
        return Err(bad("carries credentials; name a Secret instead".into()));
    }
    // The host ends at the last ':' outside brackets.
    let (host, port) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains(']') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if !host_ok(host) {
        return Err(bad("has no valid host (a DNS name, an IPv4 address or [IPv6]; no path)".into()));
    }
    match port {
        Some(port) if port_ok(port) => Ok(()),
        Some(_) => Err(bad("has no valid port (1-65535)".into())),
        None if port_required => Err(bad("has no port (scheme://host:port)".into())),
        None => Ok(()),
    }
}

/// A route to another server: `nats://host:port` or `tls://host:port`.
pub fn route_url(text: &str, field: &str) -> Result<(), FieldError> {
    url(text, field, &["nats", "tls"], true)
}

/// A leaf node remote: `nats-leaf|nats|tls|ws|wss://host[:port]`.
pub fn remote_url(text: &str, field: &str) -> Result<(), FieldError> {
    url(text, field, &["nats-leaf", "nats", "tls", "ws", "wss"], false)
}

/// A NATS user name as the CRDs take it: 1-128 letters, digits, '.', '_' or '-'.
fn user_name(user: &str, field: String) -> Result<(), FieldError> {
    if (1..=128).contains(&user.len()) && user.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        return Ok(());
    }
    Err(FieldError::new(field, format!("{} must be 1-128 letters, digits, '.', '_' or '-'", quote(user))))
}

/// A storage size: a whole number of bytes, greater than 0 and at most 1Pi.
pub fn storage_size(text: &str, field: &str) -> Result<(), FieldError> {
    storage_bytes(text).map(|_| ()).ok_or_else(|| {
        FieldError::new(
            field,
            format!("{} must be a whole number of bytes greater than 0 and at most 1Pi, such as 1Gi", quote(text)),
        )
    })
}

fn name_part_ok(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A qualified name (`prefix/name` or `name`), as label and annotation keys must be.
fn qualified_name_ok(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => crate::naming::is_dns_subdomain(prefix) && name_part_ok(name, 63),
        None => name_part_ok(key, 63),
    }
}

/// Labels and annotations added to what the manager renders.
pub fn metadata_map(map: &BTreeMap<String, String>, field: &str, labels: bool) -> Result<(), FieldError> {
    for (key, value) in map {
        if !qualified_name_ok(key) {
            return Err(FieldError::new(
                field,
                format!("key {} is not a qualified name ([prefix/]name, name at most 63 characters)", quote(key)),
            ));
        }
        if key.starts_with(RESERVED_KEY_PREFIX) || RESERVED_KEYS.contains(&key.as_str()) {
            return Err(FieldError::new(format!("{field}[{key}]"), "is set by the manager and cannot be overridden"));
        }
        if labels && !(value.is_empty() || name_part_ok(value, 63)) {
            return Err(FieldError::new(
                format!("{field}[{key}]"),
                format!("{} is not a label value (at most 63 letters, digits, '-', '_', '.')", quote(value)),
            ));
        }
    }
    Ok(())
}

/// Container resources: every quantity parses and is not negative; requests are within limits.
pub fn resources(resources: Option<&ResourceRequirements>, field: &str) -> Result<(), FieldError> {
    let Some(resources) = resources else { return Ok(()) };
    let empty = BTreeMap::new();
    let limits = resources.limits.as_ref().unwrap_or(&empty);
    let requests = resources.requests.as_ref().unwrap_or(&empty);
    for (part, map) in [("limits", limits), ("requests", requests)] {
        for (name, value) in map {
            if Quantity::parse(&value.0).is_none_or(|q| q.approximate() < 0.0) {
                return Err(FieldError::new(
                    format!("{field}.{part}.{name}"),
                    format!("{} is not a non-negative quantity such as 500m or 1Gi", quote(&value.0)),
                ));
            }
        }
    }
    for (name, request) in requests {
        let limit = limits.get(name).and_then(|l| Quantity::parse(&l.0));
        if let (Some(limit), Some(request)) = (limit, Quantity::parse(&request.0))
            && request.approximate() > limit.approximate()
        {
            return Err(FieldError::new(
                format!("{field}.requests.{name}"),
                format!("{} is more than {field}.limits.{name} ({})", request.approximate(), limit.approximate()),
            ));
        }
    }
    Ok(())
}

/// Every rule of a NATS spec, first failure first.
pub fn nats(spec: &NatsSpec) -> Result<(), FieldError> {
    let size = spec.cluster.size;
    if !(1..=99).contains(&size) || size % 2 == 0 {
        return Err(FieldError::new("spec.cluster.size", format!("{size} must be odd and between 1 and 99")));
    }
    for (i, route) in spec.cluster.routes.iter().enumerate() {
        route_url(route, &format!("spec.cluster.routes[{i}]"))?;
    }
    let jet_stream = &spec.jet_stream;
    if jet_stream.enabled && !jet_stream.mem_storage.enabled && !jet_stream.file_storage.enabled {
        return Err(FieldError::new(
            "spec.jetStream",
            "needs spec.jetStream.memStorage or spec.jetStream.fileStorage enabled; for core NATS without JetStream set spec.jetStream.enabled to false",
        ));
    }
    storage_size(&spec.jet_stream.mem_storage.size, "spec.jetStream.memStorage.size")?;
    storage_size(&spec.jet_stream.file_storage.size, "spec.jetStream.fileStorage.size")?;
    if let Some(class) = &spec.jet_stream.file_storage.storage_class_name
        && !crate::naming::is_dns_subdomain(class)
    {
        return Err(FieldError::new(
            "spec.jetStream.fileStorage.storageClassName",
            format!("{} is not a StorageClass name (lower-case letters, digits, '-' and '.')", quote(class)),
        ));
    }
    let leaf = &spec.leaf_nodes;
    if !(1..=65535).contains(&leaf.port) || RESERVED_PORTS.contains(&leaf.port) {
        return Err(FieldError::new(
            "spec.leafNodes.port",
            format!("{} must be 1-65535 and not 4222 (client), 6222 (cluster) or 8222 (monitoring)", leaf.port),
        ));
    }
    for (i, remote) in leaf.remotes.iter().enumerate() {
        for (j, url) in remote.urls.iter().enumerate() {
            remote_url(url, &format!("spec.leafNodes.remotes[{i}].urls[{j}]"))?;
        }
        let field = format!("spec.leafNodes.remotes[{i}]");
        if remote.user.is_some() != remote.password.is_some() {
            return Err(FieldError::new(field, "user and password go together"));
        }
        if [remote.credentials.is_some(), remote.password.is_some(), remote.token.is_some()]
            .iter()
            .filter(|s| **s)
            .count()
            > 1
        {
            return Err(FieldError::new(field, "authenticates with one of credentials, user and password, or token"));
        }
        if let Some(user) = &remote.user {
            user_name(user, format!("{field}.user"))?;
        }
    }
    let remote_tls = spec.leaf_nodes.remotes.iter().enumerate().filter_map(|(i, r)| {
        r.tls.as_ref().map(|t| (format!("spec.leafNodes.remotes[{i}].tls.secretName"), &t.secret_name))
    });
    let listener_tls = spec.tls.configured().map(|(name, t)| (format!("spec.tls.{name}.secretName"), &t.secret_name));
    for (field, secret) in listener_tls.chain(remote_tls) {
        if !crate::naming::is_dns_subdomain(secret) {
            return Err(FieldError::new(field, format!("{} is not a Secret name", quote(secret))));
        }
    }
    accounts(spec)?;
    if let Some(ports) = &spec.service.node_ports {
        for (name, port) in [("client", ports.client), ("leafNodes", ports.leaf_nodes)] {
            if let Some(port) = port
                && !(30000..=32767).contains(&port)
            {
                return Err(FieldError::new(
                    format!("spec.service.nodePorts.{name}"),
                    format!("{port} must be 30000-32767"),
                ));
            }
        }
    }
    metadata_map(&spec.labels, "spec.labels", true)?;
    metadata_map(&spec.annotations, "spec.annotations", false)?;
    resources(spec.resources.as_ref(), "spec.resources")
}

/// Accounts, their users and the accounts leaf connections name. nats-server needs each user
/// once across all accounts; `admin` is the manager's.
fn accounts(spec: &NatsSpec) -> Result<(), FieldError> {
    let system =
        spec.system_account.users.iter().enumerate().map(|(j, u)| (format!("spec.systemAccount.users[{j}].user"), u));
    let own = spec.accounts.iter().enumerate().flat_map(|(a, account)| {
        account.users.iter().enumerate().map(move |(j, u)| (format!("spec.accounts[{a}].users[{j}].user"), u))
    });
    let mut seen = BTreeSet::new();
    for (field, user) in system.chain(own) {
        user_name(&user.user, field.clone())?;
        if user.user == "admin" {
            return Err(FieldError::new(field, "must not be admin (the manager's generated user)"));
        }
        if !seen.insert(user.user.as_str()) {
            return Err(FieldError::new(
                field,
                format!("{} is named twice (each user once across all accounts)", quote(&user.user)),
            ));
        }
    }
    let mut names = BTreeSet::new();
    for (a, account) in spec.accounts.iter().enumerate() {
        if !account_name_ok(&account.name) {
            return Err(FieldError::new(
                format!("spec.accounts[{a}].name"),
                format!("{} must be 1-64 letters, digits, '_' or '-', beginning with a letter", quote(&account.name)),
            ));
        }
        if !names.insert(account.name.as_str()) {
            return Err(FieldError::new(
                format!("spec.accounts[{a}].name"),
                format!("{} is named twice", quote(&account.name)),
            ));
        }
    }
    let auth_account = spec.leaf_nodes.authorization.as_ref().and_then(|a| a.account.as_ref());
    let named = [
        ("spec.defaultAccount".to_owned(), spec.default_account.as_ref()),
        ("spec.leafNodes.authorization.account".to_owned(), auth_account),
    ]
    .into_iter()
    .chain(
        spec.leaf_nodes
            .remotes
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("spec.leafNodes.remotes[{i}].account"), r.account.as_ref())),
    );
    for (field, account) in named {
        if let Some(account) = account
            && !names.contains(account.as_str())
        {
            return Err(FieldError::new(field, format!("{} must name one of spec.accounts[].name", quote(account))));
        }
    }
    Ok(())
}

fn account_name_ok(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
}

/// Upstream's domain rule: empty, or labels of 1-63 letters, digits and inner '-', joined by '.'.
fn is_domain(domain: &str) -> bool {
    domain.is_empty()
        || (domain.len() <= 253
            && domain.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            }))
}

/// Every rule of an Eventing spec, first failure first.
pub fn eventing(spec: &EventingSpec) -> Result<(), FieldError> {
    let config = spec.backend_config();
    if config.nats_stream_max_size != "-1" {
        storage_size(&config.nats_stream_max_size, "spec.backend.config.natsStreamMaxSize")
            .map_err(|e| FieldError { message: format!("{}, or -1 for no limit", e.message), ..e })?;
    }
    if !(1..=5).contains(&config.nats_stream_replicas) {
        return Err(FieldError::new(
            "spec.backend.config.natsStreamReplicas",
            format!("{} must be between 1 and 5", config.nats_stream_replicas),
        ));
    }
    if config.nats_max_msgs_per_topic < -1 {
        return Err(FieldError::new("spec.backend.config.natsMaxMsgsPerTopic", "must be -1 (no limit) or more"));
    }
    if let Some(domain) = &config.domain
        && !is_domain(domain)
    {
        return Err(FieldError::new(
            "spec.backend.config.domain",
            format!("{} must be a domain name (labels of letters, digits and '-', separated by '.')", quote(domain)),
        ));
    }
    let prefix = &config.event_type_prefix;
    if prefix.is_empty() || prefix.len() > 128 || prefix.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(FieldError::new(
            "spec.backend.config.eventTypePrefix",
            format!("{} must be 1 to 128 characters without spaces", quote(prefix)),
        ));
    }
    let replicas = &spec.publisher.replicas;
    if !(1..=100).contains(&replicas.min) || !(1..=100).contains(&replicas.max) || replicas.min > replicas.max {
        return Err(FieldError::new(
            "spec.publisher.replicas",
            format!("min {} and max {} must be 1-100 with min ≤ max", replicas.min, replicas.max),
        ));
    }
    metadata_map(&spec.labels, "spec.labels", true)?;
    metadata_map(&spec.annotations, "spec.annotations", false)?;
    resources(spec.publisher.resources.as_ref(), "spec.publisher.resources")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_follow_upstreams_pattern() {
        for good in ["", "example.com", "Kyma.Example-1.com", "a", "x1.y2"] {
            assert!(is_domain(good), "{good}");
        }
        for bad in ["-a.com", "a-.com", "a..b", "a_b.com", ".com", "com.", &"a".repeat(64)] {
            assert!(!is_domain(bad), "{bad}");
        }
    }

    #[test]
    fn urls() {
        for good in ["nats://a:6222", "tls://10.0.0.1:1", "nats://[::1]:65535", "nats://a.b-c:6222"] {
            assert_eq!(route_url(good, "f"), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("nats://a", "has no port"),
            ("nats://a:0", "valid port"),
            ("nats://a:99999", "valid port"),
            ("nats://a:06222", "valid port"),
            ("nats://u:p@a:6222", "credentials"),
            ("http://a:1", "must start with"),
            ("nats://:6222", "valid host"),
            ("nats://a/b:1", "valid host"),
        ] {
            let error = route_url(bad, "f").expect_err(bad);
            assert!(error.message.contains(why), "{bad}: {error}");
        }
        for good in ["nats-leaf://p", "wss://p:443", "nats://[::1]"] {
            assert_eq!(remote_url(good, "f"), Ok(()), "{good}");
        }
        for bad in ["nats-leaf://:::", "nats-leaf://", "nats://u:pw@p:7422", "nats-leaf://p:70000"] {
            assert!(remote_url(bad, "f").is_err(), "{bad}");
        }
    }

    #[test]
    fn metadata_keys_and_values() {
        let map = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        assert!(metadata_map(&map("team", "a"), "spec.labels", true).is_ok());
        assert!(metadata_map(&map("example.com/team", ""), "spec.labels", true).is_ok());
        let long = metadata_map(&map("team", &"v".repeat(1 << 20)), "spec.labels", true).expect_err("too long");
        assert_eq!(long.field, "spec.labels[team]");
        assert!(long.message.len() < 200, "the value is not echoed: {}", long.message.len());
        let reserved = metadata_map(&map("app.kubernetes.io/name", "x"), "spec.labels", true).expect_err("reserved");
        assert!(reserved.message.contains("set by the manager"));
        assert!(metadata_map(&map("bad key", "x"), "spec.annotations", false).is_err());
        assert!(metadata_map(&map("note", "any text at all"), "spec.annotations", false).is_ok());
    }
}
