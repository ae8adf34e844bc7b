//! Leader election with a `coordination.k8s.io/v1` Lease, so that of several manager replicas only
//! one reconciles at a time.
//!
//! A replica takes the Lease when it is free, released, or has not been renewed for a lease duration
//! *as observed on this replica's clock* (as client-go does, so clock skew between nodes does not
//! matter). Every write carries the resourceVersion it read: two candidates racing for an expired
//! Lease cannot both win. The leader renews every `renew_every`; when it cannot renew for a whole
//! lease duration it must stop, because another replica may take over from then on.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("{step} of Lease {namespace}/{name}: {source}")]
    Kube { step: &'static str, namespace: String, name: String, source: kube::Error },
    #[error("lost the Lease {namespace}/{name} to {holder}")]
    Lost { namespace: String, name: String, holder: String },
    #[error("could not renew the Lease {namespace}/{name} for {seconds}s; another replica may lead now")]
    RenewTimedOut { namespace: String, name: String, seconds: u64 },
}

/// This replica: the pod name plus a random suffix, so a restarted pod is a new candidate.
pub fn replica_identity() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "eventing-manager".into());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}_{}", &suffix[..8])
}

#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This replica ([`replica_identity`]).
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_every: Duration,
}

impl LeaseConfig {
    pub fn new(namespace: &str, name: &str, identity: &str, lease_duration: Duration) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: identity.to_owned(),
            renew_every: (lease_duration / 5).max(Duration::from_millis(500)),
            lease_duration,
        }
    }
}

/// Who holds the Lease, as last seen, and since when (on our clock) that record has not changed.
struct Observed {
    holder: String,
    renew_time: Option<Timestamp>,
    since: Instant,
}

pub struct Elector {
    api: Api<Lease>,
    config: LeaseConfig,
    observed: Option<Observed>,
}

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

impl Elector {
    pub fn new(client: Client, config: LeaseConfig) -> Self {
        Self { api: Api::namespaced(client, &config.namespace), config, observed: None }
    }

    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    fn error(&self, step: &'static str) -> impl FnOnce(kube::Error) -> LeaderError + '_ {
        move |source| LeaderError::Kube {
            step,
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            source,
        }
    }

    fn spec(&self, transitions: i32, acquired: Option<MicroTime>) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(self.config.lease_duration.as_secs().max(1) as i32),
            acquire_time: acquired.or_else(|| Some(now())),
            renew_time: Some(now()),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// One attempt: `Ok(true)` when this replica holds the Lease afterwards.
    pub async fn try_acquire(&mut self) -> Result<bool, LeaderError> {
        let Some(mut lease) = self.api.get_opt(&self.config.name).await.map_err(self.error("reading"))? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(0, None)),
            };
            crate::metrics::api_write("create", "Lease");
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(source) => Err(self.error("creating")(source)),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let renew_time = spec.renew_time.as_ref().map(|t| t.0);
        let changed = self.observed.as_ref().is_none_or(|o| o.holder != holder || o.renew_time != renew_time);
        if changed {
            self.observed = Some(Observed { holder: holder.clone(), renew_time, since: Instant::now() });
        }
        let duration =
            spec.lease_duration_seconds.map_or(self.config.lease_duration, |s| Duration::from_secs(s as u64));
        let expired = self.observed.as_ref().is_some_and(|o| o.since.elapsed() >= duration);
        let mine = holder == self.config.identity;
        if !(mine || holder.is_empty() || expired) {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!mine);
        let acquired = if mine { spec.acquire_time.clone() } else { None };
        lease.spec = Some(self.spec(transitions, acquired));
        crate::metrics::api_write("replace", "Lease");
        match self.api.replace(&self.config.name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            // Someone else wrote first: they hold it (or renewed it).
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(source) => Err(self.error("taking")(source)),
        }
    }

    /// Waits until this replica holds the Lease.
    pub async fn acquire(&mut self) {
        loop {
            match self.try_acquire().await {
                Ok(true) => {
                    tracing::info!(identity = %self.config.identity, lease = %self.config.name, "became the leader");
                    crate::metrics::set_leader(true);
                    return;
                }
                Ok(false) => {}
                Err(error) => tracing::warn!("leader election: {error}"),
            }
            tokio::time::sleep(self.config.renew_every).await;
        }
    }

    /// Renews the Lease until it is lost (returns why); runs while this replica leads.
    pub async fn hold(&mut self) -> LeaderError {
        let mut last_renewed = Instant::now();
        loop {
            tokio::time::sleep(self.config.renew_every).await;
            match self.renew().await {
                Ok(()) => last_renewed = Instant::now(),
                Err(lost @ LeaderError::Lost { .. }) => break lost,
                Err(error) => tracing::warn!("renewing the Lease: {error}"),
            }
            // Stop a little before the others may take over.
            if last_renewed.elapsed() + self.config.renew_every >= self.config.lease_duration {
                break LeaderError::RenewTimedOut {
                    namespace: self.config.namespace.clone(),
                    name: self.config.name.clone(),
                    seconds: self.config.lease_duration.as_secs(),
                };
            }
        }
    }

    async fn renew(&self) -> Result<(), LeaderError> {
        let mut lease = self.api.get(&self.config.name).await.map_err(self.error("reading"))?;
        let mut spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if holder != self.config.identity {
            return Err(LeaderError::Lost {
                namespace: self.config.namespace.clone(),
                name: self.config.name.clone(),
                holder,
            });
        }
        spec.renew_time = Some(now());
        lease.spec = Some(spec);
        self.api.replace(&self.config.name, &PostParams::default(), &lease).await.map_err(self.error("renewing"))?;
        Ok(())
    }

    /// Gives the Lease up on a clean shutdown, so that another replica takes over at once; while
    /// the module is being removed (`uninstalling`) the Lease is deleted, so that nothing is left.
    pub async fn release(&self, uninstalling: bool) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await else { return };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        if uninstalling {
            crate::metrics::set_leader(false);
            crate::metrics::api_write("delete", "Lease");
            match self.api.delete(&self.config.name, &Default::default()).await {
                Ok(_) => tracing::info!(lease = %self.config.name, "the module is being removed: deleted the Lease"),
                Err(error) => tracing::warn!("deleting the Lease: {error}"),
            }
            return;
        }
        spec.holder_identity = None;
        spec.renew_time = Some(now());
        lease.spec = Some(spec);
        crate::metrics::set_leader(false);
        match self.api.replace(&self.config.name, &PostParams::default(), &lease).await {
            Ok(_) => tracing::info!(lease = %self.config.name, "released the Lease"),
            Err(error) => tracing::warn!("releasing the Lease: {error}"),
        }
    }
}
