//! The NATS control API: change a cluster's routes and leaf node remotes with a NATS request.
//!
//! Subjects (prefix `_SAT` by default):
//! - `<prefix>.<cluster>.config.put`: validate, merge-patch the NATS CR, reply with its generation;
//! - `<prefix>.<cluster>.config.get`: the cluster's name, routes and leaf remotes from the CR;
//! - `<prefix>.<cluster>.status`: the CR's state, ready replicas and conditions;
//! - `<prefix>.discover`: every manager replies with the clusters it manages.
//!
//! The first three use a queue group, so that of several manager replicas one answers each request.
//! The CR stays the single source of truth: the controller renders the change like any other.

mod clusters;
mod connect;
pub mod request;

use std::future::Future;
use std::sync::Arc;

use futures::{StreamExt, stream};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tracing::Instrument;

pub use clusters::Directory;
pub use connect::CredentialsSource;
pub use request::{ConfigPut, FieldError, Limits, parse_put};

use crate::api::nats::Nats;

/// Requests handled at the same time; more wait in the subscription.
const CONCURRENT_REQUESTS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control API credentials: {0}")]
    Credentials(String),
    #[error("control API: cannot connect to NATS at {0}")]
    Connect(String),
    #[error("control API: subscribing to {subject}: {message}")]
    Subscribe { subject: String, message: String },
    #[error("control API: {0}")]
    Config(String),
}

#[derive(Debug, Clone)]
pub struct ControlConfig {
    pub url: String,
    pub credentials: CredentialsSource,
    /// The first subject token(s): `_SAT`.
    pub prefix: String,
    /// Replicas in one queue group share the requests.
    pub queue_group: String,
    pub limits: Limits,
    /// Names this manager in `discover` replies and in its NATS connection.
    pub identity: String,
    /// The field manager of the API's patches.
    pub field_manager: String,
}

/// A subject prefix: dot-separated tokens without wildcards or spaces.
pub fn check_prefix(prefix: &str) -> Result<String, String> {
    let valid = !prefix.is_empty()
        && prefix.split('.').all(|t| !t.is_empty() && !t.contains(['*', '>']) && !t.contains(char::is_whitespace));
    if valid {
        Ok(prefix.to_owned())
    } else {
        Err(format!("{prefix:?} is not a subject prefix: dot-separated tokens without '*', '>' or spaces"))
    }
}

/// One request, as its subject names it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Operation {
    Put(String),
    Get(String),
    Status(String),
    Discover,
    Unknown(String),
}

impl Operation {
    fn parse(prefix: &str, subject: &str) -> Self {
        let Some(rest) = subject.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
            return Self::Unknown(subject.to_owned());
        };
        match rest.split('.').collect::<Vec<_>>()[..] {
            ["discover"] => Self::Discover,
            [cluster, "config", "put"] => Self::Put(cluster.to_owned()),
            [cluster, "config", "get"] => Self::Get(cluster.to_owned()),
            [cluster, "status"] => Self::Status(cluster.to_owned()),
            _ => Self::Unknown(rest.to_owned()),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Put(_) => "config.put",
            Self::Get(_) => "config.get",
            Self::Status(_) => "status",
            Self::Discover => "discover",
            Self::Unknown(_) => "unknown",
        }
    }
}

fn failure(error: FieldError) -> Value {
    json!({"ok": false, "error": error})
}

struct Handler {
    directory: Directory,
    config: ControlConfig,
}

impl Handler {
    async fn answer(&self, operation: &Operation, payload: &[u8]) -> Value {
        self.result(operation, payload).await.unwrap_or_else(failure)
    }

    async fn result(&self, operation: &Operation, payload: &[u8]) -> Result<Value, FieldError> {
        match operation {
            Operation::Put(cluster) => {
                let put = parse_put(payload, &self.config.limits)?;
                let generation = self.directory.put(cluster, &put).await?;
                Ok(json!({"ok": true, "generation": generation}))
            }
            Operation::Get(cluster) => Ok(clusters::config_reply(&self.directory.fresh(cluster).await?)),
            Operation::Status(cluster) => Ok(clusters::status_reply(&self.directory.fresh(cluster).await?)),
            Operation::Discover => {
                Ok(json!({"ok": true, "manager": self.config.identity, "clusters": self.directory.clusters()}))
            }
            Operation::Unknown(what) => Err(FieldError::new(
                "subject",
                format!(
                    "{what:?} is not an operation; use <cluster>.config.put, <cluster>.config.get, <cluster>.status or discover"
                ),
            )),
        }
    }
}

async fn handle(handler: Arc<Handler>, nats: async_nats::Client, message: async_nats::Message) {
    let operation = Operation::parse(&handler.config.prefix, &message.subject);
    let span = tracing::info_span!("control", requestID = %uuid::Uuid::new_v4(), operation = operation.name());
    async move {
        let reply = handler.answer(&operation, &message.payload).await;
        let ok = reply["ok"] == true;
        crate::metrics::control_request(operation.name(), if ok { "ok" } else { "error" });
        match &reply["error"] {
            Value::Null => tracing::info!(?operation, "answered"),
            // The error names the field and the rule; the payload itself is not logged.
            error => tracing::info!(?operation, %error, "refused"),
        }
        let Some(reply_to) = message.reply else {
            tracing::debug!("no reply subject: nothing to answer to");
            return;
        };
        let body = serde_json::to_vec(&reply).unwrap_or_else(|_| b"{\"ok\":false}".to_vec());
        if let Err(error) = nats.publish(reply_to, body.into()).await {
            tracing::warn!("control API: sending the reply failed: {error}");
        }
    }
    .instrument(span)
    .await
}

async fn subscribe(
    nats: &async_nats::Client,
    subject: String,
    queue: Option<&str>,
) -> Result<async_nats::Subscriber, ControlError> {
    let result = match queue {
        Some(group) => nats.queue_subscribe(subject.clone(), group.to_owned()).await,
        None => nats.subscribe(subject.clone()).await,
    };
    result.map_err(|e| ControlError::Subscribe { subject, message: e.to_string() })
}

/// Serves the API until `shutdown` completes. Runs on every replica, leader or not: it only
/// changes CRs, which the leader reconciles.
pub async fn serve(
    client: Client,
    config: ControlConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ControlError> {
    check_prefix(&config.prefix).map_err(ControlError::Config)?;
    tracing::info!(url = %config.url, credentials = ?config.credentials, prefix = %config.prefix, queue_group = %config.queue_group, "control API starting");
    let nats = connect::connect(&client, &config.url, &config.credentials, &config.identity).await?;

    let (store, writer) = reflector::store();
    let events = watcher(Api::<Nats>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .modify(|n| n.managed_fields_mut().clear());
    let cache = reflector::reflector(writer, events).for_each(|_| futures::future::ready(()));
    let directory = Directory::new(client, store.clone(), &config.field_manager);
    let handler = Arc::new(Handler { directory, config: config.clone() });

    let run = async {
        // Answer only with a complete picture: until the cache is synced, requests get "no responders".
        let _ = store.wait_until_ready().await;
        let prefix = &config.prefix;
        let queue = Some(config.queue_group.as_str());
        let subscriptions = vec![
            subscribe(&nats, format!("{prefix}.*.config.*"), queue).await?,
            subscribe(&nats, format!("{prefix}.*.status"), queue).await?,
            subscribe(&nats, format!("{prefix}.discover"), None).await?,
        ];
        tracing::info!("control API listening");
        let limit = Arc::new(Semaphore::new(CONCURRENT_REQUESTS));
        let mut messages = stream::select_all(subscriptions);
        while let Some(message) = messages.next().await {
            let Ok(permit) = limit.clone().acquire_owned().await else { break };
            let (handler, nats) = (handler.clone(), nats.clone());
            tokio::spawn(async move {
                handle(handler, nats, message).await;
                drop(permit);
            });
        }
        Ok::<(), ControlError>(())
    };
    tokio::select! {
        result = run => result?,
        () = cache => {},
        () = shutdown => tracing::info!("control API stopped"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_the_operation_and_cluster() {
        let parse = |s: &str| Operation::parse("_SAT", s);
        assert_eq!(parse("_SAT.edge-1.config.put"), Operation::Put("edge-1".into()));
        assert_eq!(parse("_SAT.edge-1.config.get"), Operation::Get("edge-1".into()));
        assert_eq!(parse("_SAT.edge-1.status"), Operation::Status("edge-1".into()));
        assert_eq!(parse("_SAT.discover"), Operation::Discover);
        assert_eq!(parse("_SAT.edge-1.config.delete"), Operation::Unknown("edge-1.config.delete".into()));
        assert_eq!(Operation::parse("ops.sat", "ops.sat.a.status"), Operation::Status("a".into()));
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(check_prefix("_SAT").is_ok());
        assert!(check_prefix("ops.control").is_ok());
        for bad in ["", "a..b", "a.*", "a.>", "a b", ".a"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }
}
