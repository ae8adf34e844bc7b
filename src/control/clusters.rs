//! The NATS CRs behind the API: found by NATS cluster name (a reflector cache), read fresh from the
//! API server for replies, and changed with a merge patch of exactly the fields a put names.

use std::sync::Arc;

use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::Store;
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

use super::request::{ConfigPut, FieldError, credentials_secret};
use crate::api::nats::{LeafRemote, Nats};

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
            spec["leafNodes"] = json!({"remotes": keep_authentication(&nats.spec.leaf_nodes.remotes, remotes)});
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

/// The remotes of a put, each keeping the user, password, token, TLS and account of the CR's remote with
/// the same URLs (the control API names URLs and a credentials Secret only): a put that moves the
/// remotes never drops how they authenticate.
fn keep_authentication(existing: &[LeafRemote], put: &[LeafRemote]) -> Vec<LeafRemote> {
    put.iter()
        .map(|remote| match existing.iter().find(|old| old.urls == remote.urls) {
            // The put says nothing but these URLs: the remote stays as it is.
            Some(old) if remote.credentials.is_none() => old.clone(),
            Some(old) => LeafRemote { tls: old.tls.clone(), account: old.account.clone(), ..remote.clone() },
            None => remote.clone(),
        })
        .collect()
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
        .map(|r| {
            let mut remote = json!({"urls": r.urls});
            if let Some(secret) = &r.credentials {
                remote["credentialsSecret"] = json!(credentials_secret(secret));
            }
            // How else it authenticates, set in the CR (a put keeps it for the same URLs).
            if let Some(user) = &r.user {
                remote["user"] = json!(user);
            }
            for (name, secret) in [("passwordSecret", &r.password), ("tokenSecret", &r.token)] {
                if let Some(secret) = secret {
                    remote[name] = json!(format!("{}/{}", secret.name, secret.key));
                }
            }
            if let Some(tls) = &r.tls {
                remote["tlsSecret"] = json!(tls.secret_name);
            }
            if let Some(account) = &r.account {
                remote["account"] = json!(account);
            }
            remote
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::nats::{RemoteTls, SecretKeyRef};

    fn remote(urls: &[&str]) -> LeafRemote {
        serde_json::from_value(json!({"urls": urls})).expect("remote")
    }

    #[test]
    fn a_put_keeps_how_the_same_remote_authenticates() {
        let secret = |name: &str| SecretKeyRef { name: name.into(), key: "k".into() };
        let old = LeafRemote {
            user: Some("edge".into()),
            password: Some(secret("pw")),
            tls: Some(RemoteTls { secret_name: "ca".into(), client_certificate: false }),
            account: Some("APP".into()),
            ..remote(&["nats-leaf://a:7422"])
        };
        let kept = keep_authentication(
            std::slice::from_ref(&old),
            &[remote(&["nats-leaf://a:7422"]), remote(&["nats-leaf://b:7422"])],
        );
        assert_eq!(kept[0], old, "same URLs: user, password, TLS and account stay");
        assert_eq!(kept[1], remote(&["nats-leaf://b:7422"]), "a new remote has only what the put says");
        let with_creds = LeafRemote { credentials: Some(secret("creds")), ..remote(&["nats-leaf://a:7422"]) };
        let kept = keep_authentication(&[old], std::slice::from_ref(&with_creds));
        assert_eq!(
            (kept[0].password.clone(), kept[0].credentials.clone()),
            (None, Some(secret("creds"))),
            "the put's credentials win"
        );
    }
}
