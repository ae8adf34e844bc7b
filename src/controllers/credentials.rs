//! Generated credentials. The manager keeps one random key (made once with the OS's cryptographic
//! generator, in a Secret of its own namespace); each cluster's password is derived from it and the
//! cluster's UID, so a deleted credentials Secret is restored with the same password.

use std::collections::BTreeMap;

use base64::Engine;
use hmac::{KeyInit, Mac};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{ObjectMeta, PostParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Client};

use super::{Context, ReconcileError};
use crate::api::Nats;
use crate::apply::{Owner, Ownership};
use crate::chart::Manifest;

pub const MASTER_KEY_SECRET: &str = "eventing-manager-credentials-key";

/// The NATS CRD as the key's owner: the passwords it derives are those of NATS clusters, and when
/// the module is removed (its CRDs deleted) the key goes with it by garbage collection.
async fn owned_by_nats_crd(client: &Client) -> Option<Vec<OwnerReference>> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = super::crds::crd_name::<Nats>();
    let crd = crds.get_opt(&name).await.ok().flatten()?;
    Some(vec![OwnerReference {
        api_version: "apiextensions.k8s.io/v1".into(),
        kind: "CustomResourceDefinition".into(),
        name,
        uid: crd.metadata.uid?,
        ..OwnerReference::default()
    }])
}

async fn stored_key(client: &Client, namespace: &str, manager_name: &str) -> Result<Vec<u8>, String> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let read = |secret: Secret| secret.data.and_then(|d| d.get("key").map(|k| k.0.clone())).filter(|k| k.len() >= 32);
    match secrets.get_opt(MASTER_KEY_SECRET).await {
        Ok(Some(secret)) => {
            return read(secret).ok_or_else(|| format!("{namespace}/{MASTER_KEY_SECRET} has no 32-byte key"));
        }
        Ok(None) => {}
        Err(error) => return Err(format!("reading {namespace}/{MASTER_KEY_SECRET}: {error}")),
    }
    let key = random_key()?;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(MASTER_KEY_SECRET.into()),
            labels: Some(BTreeMap::from([
                (crate::apply::MANAGED_BY_LABEL.to_owned(), manager_name.to_owned()),
                ("kyma-project.io/module".to_owned(), "eventing".to_owned()),
            ])),
            owner_references: owned_by_nats_crd(client).await,
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([("key".to_owned(), ByteString(key.clone()))])),
        ..Secret::default()
    };
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(key),
        // Another replica made it first: use theirs.
        Err(kube::Error::Api(status)) if status.code == 409 => match secrets.get(MASTER_KEY_SECRET).await {
            Ok(existing) => read(existing).ok_or_else(|| format!("{namespace}/{MASTER_KEY_SECRET} has no 32-byte key")),
            Err(error) => Err(format!("reading {namespace}/{MASTER_KEY_SECRET}: {error}")),
        },
        Err(kube::Error::Api(status)) if status.code == 404 => {
            Err(format!("the manager's namespace {namespace} does not exist (--namespace)"))
        }
        Err(error) => Err(format!("creating {namespace}/{MASTER_KEY_SECRET}: {error}")),
    }
}

fn random_key() -> Result<Vec<u8>, String> {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).map_err(|e| format!("the operating system's random generator failed: {e}"))?;
    Ok(key)
}

/// The key generated passwords derive from, read or created once at start-up. When it cannot be
/// stored, start-up says so once and the key lives in memory: clusters still get credentials, and
/// a credentials Secret deleted later is re-created with a new password, to which the servers are
/// rolled (the pod template carries the Secret's UID).
pub async fn master_key(client: &Client, namespace: &str, manager_name: &str) -> Result<Vec<u8>, ReconcileError> {
    match stored_key(client, namespace, manager_name).await {
        Ok(key) => Ok(key),
        Err(problem) => {
            tracing::error!(
                "{problem}: the key of generated passwords is kept in memory only; a credentials Secret deleted later gets a new password and its servers are restarted with it"
            );
            random_key().map_err(ReconcileError::Internal)
        }
    }
}

/// A password for `purpose` of the cluster with `uid`: HMAC-SHA256 of the master key. It starts
/// with a letter: nats-server reads an environment variable's value as a configuration value, where
/// one that starts with `-` or a digit may be taken for a number (`12p`, `3Gb`) and refused, so the
/// server would not start.
pub fn derive(key: &[u8], uid: &str, purpose: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(purpose.as_bytes());
    mac.update(b"/");
    mac.update(uid.as_bytes());
    format!("p{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// The credentials Secret of a release.
pub struct Credentials {
    /// Its UID (the pod template carries it: new credentials roll the servers).
    pub uid: String,
    /// Kyma's manager's Secret of the same name, in our shape: applied (adopted in place, keeping
    /// its UID) with the release, so that nothing is written when another object cannot be adopted.
    pub adopt: Option<Manifest>,
}

/// Makes sure the Secret `name` with `key: password for purpose` exists and returns its UID. An
/// existing Secret of this CR is never changed (its password stays); one this manager did not
/// create is a conflict, unless Kyma's own manager made it for the same CR (then it is replaced by
/// ours through the apply). The password is never logged.
pub async fn ensure(
    ctx: &Context,
    owner: &Owner,
    name: &str,
    key: &str,
    purpose: &str,
) -> Result<Credentials, ReconcileError> {
    let namespace = &owner.install_namespace;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let object = || format!("Secret {namespace}/{name}");
    // Only its metadata is needed (labels, owners, UID): the password is never read back.
    let existing = match ctx.children.secrets.store.get(&ObjectRef::new(name).within(namespace)) {
        Some(secret) => Some(secret.metadata.clone()),
        None => secrets
            .get_metadata_opt(name)
            .await
            .map_err(|source| ReconcileError::Prepare { object: object(), source })?
            .map(|partial| partial.metadata),
    };
    let password = || derive(&ctx.master_key, &owner.uid, purpose);
    let ours = |password: String| {
        let mut labels = owner.labels();
        labels.insert("app.kubernetes.io/component".into(), "credentials".into());
        Secret {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace.clone()),
                labels: Some(labels),
                owner_references: owner.owner_references(namespace),
                ..ObjectMeta::default()
            },
            data: Some(BTreeMap::from([(key.to_owned(), ByteString(password.into_bytes()))])),
            ..Secret::default()
        }
    };
    if let Some(existing) = existing {
        let live =
            serde_json::json!({"metadata": {"labels": existing.labels, "ownerReferences": existing.owner_references}});
        let uid = existing.uid.unwrap_or_default();
        return match crate::apply::check_ownership(&live, owner, object).map_err(ReconcileError::Conflict)? {
            Ownership::Ours => Ok(Credentials { uid, adopt: None }),
            // Kyma's nats-manager's accounts Secret of the same name: its resolver.conf carries a
            // password nothing else reads; the servers roll to ours.
            Ownership::Adopt => {
                let mut object =
                    serde_json::to_value(ours(password())).map_err(|e| ReconcileError::Internal(e.to_string()))?;
                object["apiVersion"] = "v1".into();
                object["kind"] = "Secret".into();
                Ok(Credentials { uid, adopt: Some(Manifest { source: "generated credentials".into(), object }) })
            }
        };
    }
    crate::metrics::api_write("create", "Secret");
    match secrets.create(&PostParams::default(), &ours(password())).await {
        Ok(created) => {
            tracing::info!(secret = name, "created credentials");
            Ok(Credentials { uid: created.metadata.uid.unwrap_or_default(), adopt: None })
        }
        // Made a moment ago (by this manager, before the cache showed it): read it again next time.
        Err(kube::Error::Api(status)) if status.code == 409 => {
            Err(ReconcileError::Prepare { object: object(), source: kube::Error::Api(status) })
        }
        // The namespace is being deleted, and the CR with it: no credentials are needed any more.
        Err(kube::Error::Api(status)) if crate::apply::namespace_terminating(&status) => {
            Ok(Credentials { uid: String::new(), adopt: None })
        }
        Err(source) => Err(ReconcileError::Prepare { object: object(), source }),
    }
}

#[cfg(test)]
mod tests {
    use super::derive;
    use crate::controllers::nats::{SecretUse, unusable_secret_value};

    #[test]
    fn derived_passwords_are_stable_and_distinct() {
        let key = [7u8; 32];
        assert_eq!(derive(&key, "uid-1", "nats-admin"), derive(&key, "uid-1", "nats-admin"));
        assert_ne!(derive(&key, "uid-1", "nats-admin"), derive(&key, "uid-2", "nats-admin"));
        assert_ne!(derive(&key, "uid-1", "nats-admin"), derive(&[8u8; 32], "uid-1", "nats-admin"));
        assert_eq!(derive(&key, "uid-1", "nats-admin").len(), 44);
        // Whatever the key and UID: a value nats-server reads as the string it is.
        for uid in 0..200 {
            let password = derive(&key, &uid.to_string(), "nats-admin");
            let unusable = unusable_secret_value(password.as_bytes(), SecretUse::ConfigValue);
            assert_eq!(unusable, None, "{password}: what a Secret of the user's must satisfy, ours does too");
        }
    }
}
