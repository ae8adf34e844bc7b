//! JetStream storage use of a NATS cluster, read from each server's monitoring endpoint (`/jsz`):
//! a full file store refuses every publish (the outage Kyma's users report most), so the CR says
//! so before it is full, and a metric shows it.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::conditions::Decided;

/// The monitoring address of server `{pod}` of the Service `{service}` in `{namespace}` (the
/// manager's `--nats-monitor-url`).
pub const DEFAULT_MONITOR_URL: &str = "http://{pod}.{service}.{namespace}.svc.cluster.local:8222";
/// From this share of its file store on, a server is nearly full.
pub const NEARLY_FULL: f64 = 0.8;
const TIMEOUT: Duration = Duration::from_secs(2);
/// A `/jsz` answer is a few KiB; more is not a NATS server.
const MAX_RESPONSE: u64 = 1 << 20;

/// What one server's file store holds and may hold, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub used: u64,
    pub max: u64,
}

impl Usage {
    pub fn ratio(&self) -> f64 {
        if self.max == 0 { 0.0 } else { self.used as f64 / self.max as f64 }
    }
}

/// The monitoring URL of one server, from the template.
pub fn monitor_url(template: &str, pod: &str, service: &str, namespace: &str) -> String {
    template.replace("{pod}", pod).replace("{service}", service).replace("{namespace}", namespace)
}

/// Reads `/jsz` of the server at `url` (`http://host:port`).
pub async fn usage(url: &str) -> Result<Usage, String> {
    tokio::time::timeout(TIMEOUT, fetch(url))
        .await
        .map_err(|_| format!("{url}/jsz did not answer within {TIMEOUT:?}"))?
}

async fn fetch(url: &str) -> Result<Usage, String> {
    let address = url.strip_prefix("http://").ok_or_else(|| format!("{url}: only http:// is supported"))?;
    let address = address.trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(address).await.map_err(|e| format!("{url}: {e}"))?;
    // HTTP/1.0: the answer is never chunked.
    let request = format!("GET /jsz HTTP/1.0\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("{url}: {e}"))?;
    let mut response = Vec::new();
    stream.take(MAX_RESPONSE).read_to_end(&mut response).await.map_err(|e| format!("{url}: {e}"))?;
    parse(&String::from_utf8_lossy(&response)).map_err(|e| format!("{url}/jsz: {e}"))
}

/// The file store's use from an HTTP response with a `/jsz` body.
fn parse(response: &str) -> Result<Usage, String> {
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(head.lines().next().unwrap_or_default().to_owned());
    }
    let jsz: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let used = jsz["storage"].as_u64().ok_or("no storage in /jsz")?;
    let max = jsz["config"]["max_storage"].as_u64().ok_or("JetStream is off (no config.max_storage)")?;
    Ok(Usage { used, max })
}

/// The `StorageAvailable` condition from each server's use, and the warning when one is nearly
/// full. Servers that could not be asked make the condition Unknown (no warning: the servers'
/// own health is what the other conditions say).
pub fn assess(servers: &[(String, Result<Usage, String>)], size_field: &str) -> (Decided, Option<String>) {
    const CONDITION: &str = "StorageAvailable";
    let unreachable: Vec<&str> = servers.iter().filter_map(|(_, r)| r.as_ref().err().map(String::as_str)).collect();
    let fullest = servers
        .iter()
        .filter_map(|(server, r)| r.as_ref().ok().map(|u| (server, u)))
        .max_by(|a, b| a.1.ratio().total_cmp(&b.1.ratio()));
    let Some((server, usage)) = fullest else {
        let why = unreachable.first().copied().unwrap_or("no server");
        return (Decided::unknown(CONDITION, "Unreachable", format!("JetStream storage use is unknown: {why}")), None);
    };
    let percent = (usage.ratio() * 100.0).round();
    let message =
        format!("{server} uses {percent}% of its JetStream file store ({} of {} bytes)", usage.used, usage.max);
    if usage.ratio() >= NEARLY_FULL {
        let warning =
            format!("{message}: publishing fails when it is full; grow {size_field} or lower the streams' limits");
        return (Decided::new(CONDITION, false, "NearlyFull", warning.clone()), Some(warning));
    }
    let mut message = format!("at most {percent}% of a server's JetStream file store is used ({server})");
    if !unreachable.is_empty() {
        message.push_str(&format!("; {} server(s) did not answer: {}", unreachable.len(), unreachable[0]));
    }
    (Decided::new(CONDITION, true, "Available", message), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsz_answers_are_read_and_other_answers_say_why_not() {
        let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"storage\": 10, \"config\": {\"max_storage\": 100}}";
        assert_eq!(parse(ok), Ok(Usage { used: 10, max: 100 }));
        assert!(parse("HTTP/1.1 404 Not Found\r\n\r\n").is_err_and(|e| e.contains("404")));
        assert!(parse("HTTP/1.1 200 OK\r\n\r\n{\"storage\": 1}").is_err_and(|e| e.contains("JetStream is off")));
        assert!(parse("garbage").is_err());
    }

    #[test]
    fn the_fullest_server_decides_and_unreachable_ones_are_named() {
        let usage = |used| Ok(Usage { used, max: 100 });
        let (condition, warning) = assess(&[("a".into(), usage(10)), ("b".into(), usage(85))], "spec.x");
        assert!(!condition.status && !condition.unknown);
        assert!(warning.is_some_and(|w| w.contains("b uses 85%") && w.contains("grow spec.x")));
        let (condition, warning) = assess(&[("a".into(), usage(10)), ("b".into(), Err("b: refused".into()))], "spec.x");
        assert_eq!((condition.status, warning), (true, None));
        assert!(condition.message.contains("did not answer: b: refused"));
        let (condition, _) = assess(&[("a".into(), Err("a: refused".into()))], "spec.x");
        assert_eq!((condition.unknown, condition.reason.as_str()), (true, "Unreachable"));
    }

    #[test]
    fn the_url_template_names_pod_service_and_namespace() {
        assert_eq!(
            monitor_url(DEFAULT_MONITOR_URL, "eu-nats-0", "eu-nats", "ns"),
            "http://eu-nats-0.eu-nats.ns.svc.cluster.local:8222"
        );
    }
}
