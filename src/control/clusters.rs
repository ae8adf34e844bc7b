//! The NATS CRs behind the API: found by NATS cluster name (a reflector cache), read fresh from the
//! API server for replies, and changed with a merge patch of exactly the fields a put names.

use std::sync::Arc;

use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::Store;
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

use super::request::{ConfigPut, FieldError, credentials_secret};
use crate::api::nats::Nats;

/// The NATS cluster name of a CR: `spec.cluster.name`, else the CR's name.
pub fn cluster_name(nats: &Nats) -> String {
    nats.spec.cluster.name_or(&nats.name_any())
}

fn resource(nats: &Nats) -> String {
    format!("{}/{}", nats.namespace().unwrap_or_default(), nats.name_any())
}

#[derive(Clone)]
pub struct Directory {
    store: Store<Nats>,
    client: Client,
    field_manager: String,
}

impl Directory {
    pub fn new(client: Client, store: Store<Nats>, field_manager: &str) -> Self {
        Self { store, client, field_manager: field_manager.to_owned() }
    }

    /// The one CR whose cluster is named `cluster`.
    pub fn find(&self, cluster: &str) -> Result<Arc<Nats>, FieldError> {
        let mut matches: Vec<Arc<Nats>> =
            self.store.state().into_iter().filter(|n| cluster_name(n) == cluster).collect();
        match matches.len() {
            0 => Err(FieldError::new("cluster", format!("no NATS cluster named {cluster:?} is managed here"))),
            1 => Ok(matches.remove(0)),
            _ => {
                let mut names: Vec<String> = matches.iter().map(|n| resource(n)).collect();
                names.sort();
                Err(FieldError::new(
                    "cluster",
                    format!("the cluster name {cluster:?} is ambiguous: NATS CRs {}", names.join(", ")),
                ))
            }
        }
    }

    /// Every cluster, for `discover`.
    pub fn clusters(&self) -> Vec<Value> {
        let mut clusters: Vec<Value> = self
            .store
            .state()
            .iter()
            .filter(|n| n.metadata.deletion_timestamp.is_none())
            .map(|n| json!({"name": cluster_name(n), "resource": resource(n)}))
            .collect();
        clusters.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        clusters
    }

    fn api(&self, nats: &Nats) -> Api<Nats> {
        Api::namespaced(self.client.clone(), &nats.namespace().unwrap_or_default())
    }

    /// The CR as the API server has it now (the cache may lag behind a put just answered).
    pub async fn fresh(&self, cluster: &str) -> Result<Nats, FieldError> {
        let cached = self.find(cluster)?;
        self.api(&cached).get(&cached.name_any()).await.map_err(|e| api_failed("reading", &cached, e))
    }

    /// Applies a put: only the fields it names change. Returns the CR's new generation.
    pub async fn put(&self, cluster: &str, put: &ConfigPut) -> Result<i64, FieldError> {
        let nats = self.find(cluster)?;
        if let Some(name) = &put.name
            && *name != cluster_name(&nats)
        {
            return Err(FieldError::new(
                "name",
                format!(
                    "{name:?} is not this cluster's name {:?}; a cluster's name cannot change",
                    cluster_name(&nats)
                ),
            ));
        }
        let mut spec = json!({});
        if let Some(routes) = &put.routes {
            spec["cluster"] = json!({"routes": routes});
        }
        if let Some(remotes) = &put.leaf_remotes {
            spec["leafNodes"] = json!({"remotes": remotes});
        }
        let params = PatchParams { field_manager: Some(self.field_manager.clone()), ..PatchParams::default() };
        crate::metrics::api_write("patch", "NATS");
        let patched = self
            .api(&nats)
            .patch(&nats.name_any(), &params, &Patch::Merge(json!({ "spec": spec })))
            .await
            .map_err(|e| api_failed("changing", &nats, e))?;
        Ok(patched.metadata.generation.unwrap_or_default())
    }
}

fn api_failed(step: &str, nats: &Nats, error: kube::Error) -> FieldError {
    match error {
        // The API server's own validation (CEL rules, schema) names the field.
        kube::Error::Api(status) if status.code == 422 => FieldError::new("", status.message),
        other => FieldError::new("", format!("{step} NATS {} failed: {other}", resource(nats))),
    }
}

/// The `config.get` reply.
pub fn config_reply(nats: &Nats) -> Value {
    let remotes: Vec<Value> = nats
        .spec
        .leaf_nodes
        .remotes
        .iter()
        .map(|r| match &r.credentials {
            Some(secret) => json!({"urls": r.urls, "credentialsSecret": credentials_secret(secret)}),
            None => json!({"urls": r.urls}),
        })
        .collect();
    json!({
        "ok": true,
        "name": cluster_name(nats),
        "resource": resource(nats),
        "routes": nats.spec.cluster.routes,
        "leafRemotes": remotes,
        "generation": nats.metadata.generation,
    })
}

/// The `status` reply.
pub fn status_reply(nats: &Nats) -> Value {
    let status = nats.status.clone().unwrap_or_default();
    let conditions: Vec<Value> = status
        .conditions
        .iter()
        .map(|c| json!({"type": c.type_, "status": c.status, "reason": c.reason, "message": c.message}))
        .collect();
    json!({
        "ok": true,
        "name": cluster_name(nats),
        "resource": resource(nats),
        "state": status.state,
        "replicas": nats.spec.cluster.size,
        "readyReplicas": status.ready_replicas.unwrap_or(0),
        "url": status.url,
        "conditions": conditions,
        "generation": nats.metadata.generation,
        "observedGeneration": status.observed_generation,
    })
}
