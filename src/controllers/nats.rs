//! The NATS controller: a `NATS` CR is one release of `module-chart/charts/nats`.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod, Secret};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use super::conditions::Decided;
use super::credentials;
use super::pipeline::{Assessment, Module, Prepared};
use super::snapshot::{Snapshot, Workloads};
use super::storage;
use super::{Context, ReconcileError};
use crate::api::State;
use crate::api::nats::{LeafRemote, Nats, NatsSpec, NatsStatus, PvcRetentionPolicy, SecretKeyRef, ServiceType, User};
use crate::api::validate::{self, FieldError};
use crate::apply::{Owner, Rollout};
use crate::chart::helpers_fullname;
use crate::chart::{CompiledChart, Release, quantity_bytes};

pub const FINALIZER: &str = "nats.operator.kyma-project.io/finalizer";
/// The key of the system account's admin password in the credentials Secret (the chart reads it).
pub const ADMIN_PASSWORD_KEY: &str = "admin-password";
const CLIENT_PORT: u16 = 4222;
/// nats-server's global account: clients without credentials when there are no accounts.
const GLOBAL_ACCOUNT: &str = "$G";
/// Pod template annotation with the credentials Secret's UID: re-created credentials roll the servers.
pub const CREDENTIALS_ANNOTATION: &str = "eventing-manager.kyma-project.io/credentials-uid";

/// Every name a NATS release has that the controller needs, made in one place and handed to the
/// chart as values (the chart does not derive them on its own when they are set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsNames {
    pub release: String,
    /// The StatefulSet, Service and ServiceAccount (Helm's rule: `eu` → `eu-nats`, `eventing-nats` stays).
    pub fullname: String,
    /// The Secret with the admin password ([`ADMIN_PASSWORD_KEY`]).
    pub secret: String,
}

impl NatsNames {
    pub fn of(release: &str) -> Self {
        let fullname = helpers_fullname(release, "nats");
        Self { release: release.to_owned(), secret: format!("{fullname}-secret"), fullname }
    }

    pub fn client_url(&self, namespace: &str) -> String {
        format!("nats://{}.{namespace}.svc.cluster.local:{CLIENT_PORT}", self.fullname)
    }

    /// The labels that select the release's NATS pods and JetStream volume claims: Kyma's
    /// nats-manager's (the CR `eventing-nats` is instance `eventing` there), so that Kyma's tools
    /// and a taken-over StatefulSet's immutable selector match.
    pub fn selector_labels(&self) -> BTreeMap<&'static str, String> {
        let instance = if self.release == "eventing-nats" { "eventing" } else { self.release.as_str() };
        BTreeMap::from([
            ("app.kubernetes.io/name", "nats".to_owned()),
            ("app.kubernetes.io/instance", instance.to_owned()),
            ("kyma-project.io/dashboard", "eventing".to_owned()),
        ])
    }

    /// [`Self::selector_labels`] as a label selector.
    pub fn selector(&self) -> String {
        self.selector_labels().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
    }

    /// The JetStream volume claim of server `ordinal` (the StatefulSet's claim template, as upstream names it).
    pub fn claim(&self, ordinal: usize) -> String {
        format!("{0}-js-pvc-{0}-{ordinal}", self.fullname)
    }

    /// The chart values that carry these names.
    pub fn values(&self) -> Value {
        json!({
            "fullnameOverride": self.fullname,
            "selectorLabels": self.selector_labels(),
            "auth": {"secretName": self.secret, "secretKey": ADMIN_PASSWORD_KEY},
        })
    }
}

/// The chart values a NATS spec sets (a pure function; the README's table documents it).
pub fn overrides(name: &str, spec: &NatsSpec) -> Value {
    let file = &spec.jet_stream.file_storage;
    let leaf = &spec.leaf_nodes;
    let node_ports = spec.service.node_ports.as_ref();
    let mut values = json!({
        "cluster": {
            "size": spec.cluster.size,
            "name": spec.cluster.name_or(name),
            "routes": spec.cluster.routes,
        },
        "jetStream": {
            "enabled": spec.jet_stream.enabled,
            "memStorage": {"enabled": spec.jet_stream.mem_storage.enabled, "size": spec.jet_stream.mem_storage.size},
            "fileStorage": {
                "enabled": file.enabled,
                "storageClassName": file.class().unwrap_or_default(),
                "size": file.size,
            },
        },
        "leafNodes": {
            "enabled": leaf.enabled,
            "port": leaf.port,
            "authorization": match &leaf.authorization {
                Some(auth) => json!({
                    "enabled": true,
                    "user": auth.user,
                    "passwordSecret": {"name": auth.password.name, "key": auth.password.key},
                    "account": bound_account(spec, auth.account.as_deref()),
                }),
                None => json!({"enabled": false}),
            },
            "remotes": leaf.remotes.iter().enumerate().map(|(i, remote)| {
                let mut values = remote_values(i, remote);
                values["account"] = json!(bound_account(spec, remote.account.as_deref()));
                values
            }).collect::<Vec<_>>(),
        },
        "service": {
            "type": match spec.service.kind { ServiceType::ClusterIP => "ClusterIP", ServiceType::NodePort => "NodePort" },
            "nodePorts": {
                "client": node_ports.and_then(|p| p.client),
                "leafNodes": node_ports.and_then(|p| p.leaf_nodes),
            },
        },
        "tls": spec.tls.configured().map(|(name, tls)| (name.to_owned(), json!({"secretName": tls.secret_name, "verify": tls.verify}))).collect::<serde_json::Map<_, _>>(),
        "systemAccount": {"users": users_values(&spec.system_account.users, "SYSTEM_USER")},
        "accounts": spec.accounts.iter().enumerate().map(|(a, account)| json!({
            "name": account.name,
            "jetStream": account.jet_stream,
            "users": users_values(&account.users, &format!("ACCOUNT_{a}_USER")),
        })).collect::<Vec<_>>(),
        "defaultAccount": spec.default_account.as_deref().unwrap_or_default(),
        "logging": {"debug": spec.logging.debug, "trace": spec.logging.trace},
        "labels": spec.labels,
        "annotations": spec.annotations,
    });
    if let Some(resources) = &spec.resources {
        values["resources"] = json!(resources);
    }
    crate::chart::merge_values(&mut values, &NatsNames::of(name).values());
    values
}

/// The chart values of `users`: user `j`'s password reaches nats.conf only as the environment
/// variable `<env_prefix>_<j>_PASSWORD`, which the StatefulSet fills from the Secret key.
fn users_values(users: &[User], env_prefix: &str) -> Vec<Value> {
    let values = users.iter().enumerate().map(|(j, user)| {
        json!({"user": user.user, "passwordEnv": format!("{env_prefix}_{j}_PASSWORD"), "passwordSecret": user.password})
    });
    values.collect()
}

/// The account a leaf connection binds to: `named`, else the default account, else the global
/// account (where clients without credentials are when there are no accounts).
fn bound_account<'s>(spec: &'s NatsSpec, named: Option<&'s str>) -> &'s str {
    named.or(spec.default_account.as_deref()).unwrap_or(GLOBAL_ACCOUNT)
}

/// The chart values of leaf remote `i`. A password or token goes into the URLs only in the pod's
/// environment: the Secret key becomes `LEAF_REMOTE_<i>_SECRET`, each URL an environment variable
/// that refers to it (`nats-leaf://user:$(LEAF_REMOTE_0_SECRET)@host:7422`, expanded by the kubelet),
/// and nats.conf names the variables.
fn remote_values(i: usize, remote: &LeafRemote) -> Value {
    let mut values = json!({"urls": remote.urls});
    if let Some(tls) = &remote.tls {
        values["tls"] = json!({"secretName": tls.secret_name, "clientCertificate": tls.client_certificate});
    }
    if let Some(creds) = &remote.credentials {
        values["credentialsSecret"] = json!({"name": creds.name, "key": creds.key});
    }
    let secret_env = format!("LEAF_REMOTE_{i}_SECRET");
    let userinfo = match (&remote.user, &remote.password, &remote.token) {
        (Some(user), Some(password), _) => Some((format!("{user}:$({secret_env})"), password)),
        (_, _, Some(token)) => Some((format!("$({secret_env})"), token)),
        _ => None,
    };
    if let Some((userinfo, secret)) = userinfo {
        values["authSecret"] = json!({"env": secret_env, "name": secret.name, "key": secret.key});
        let url_envs: Vec<Value> = remote
            .urls
            .iter()
            .enumerate()
            .map(|(k, url)| {
                let (scheme, rest) = url.split_once("://").unwrap_or(("nats-leaf", url));
                json!({"name": format!("LEAF_REMOTE_{i}_URL_{k}"), "value": format!("{scheme}://{userinfo}@{rest}")})
            })
            .collect();
        values["urlEnvs"] = json!(url_envs);
    }
    values
}

/// How a Secret key's value reaches the servers, which decides what it may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretUse {
    /// A mounted file (a certificate, a `.creds` file).
    File,
    /// An environment variable that nats.conf names as a value (`password: $VAR`).
    ConfigValue,
    /// Expanded by the kubelet into a remote's URL (`nats-leaf://user:$(VAR)@host`).
    UrlUserinfo,
}

/// A Secret key a spec refers to, with the field that names it.
#[derive(Clone, Debug, PartialEq)]
pub struct SecretReference {
    pub field: String,
    pub key: SecretKeyRef,
    pub used_as: SecretUse,
}

/// The Secret keys a spec refers to (they must exist, with usable values, before anything is
/// applied: a kubelet refuses a pod whose Secret key is missing, and nats-server one whose
/// configuration value it cannot read).
pub fn secret_references(spec: &NatsSpec) -> Vec<SecretReference> {
    let mut references = Vec::new();
    let mut add = |field: String, key: &SecretKeyRef, used_as: SecretUse| {
        references.push(SecretReference { field, key: key.clone(), used_as });
    };
    if let Some(auth) = &spec.leaf_nodes.authorization
        && spec.leaf_nodes.enabled
    {
        add("spec.leafNodes.authorization.password".to_owned(), &auth.password, SecretUse::ConfigValue);
    }
    for (j, user) in spec.system_account.users.iter().enumerate() {
        add(format!("spec.systemAccount.users[{j}].password"), &user.password, SecretUse::ConfigValue);
    }
    for (a, account) in spec.accounts.iter().enumerate() {
        for (j, user) in account.users.iter().enumerate() {
            add(format!("spec.accounts[{a}].users[{j}].password"), &user.password, SecretUse::ConfigValue);
        }
    }
    let file = |name: &str, key: &str| SecretKeyRef { name: name.to_owned(), key: key.to_owned() };
    for (listener, tls) in spec.tls.configured() {
        let field = format!("spec.tls.{listener}.secretName");
        add(field.clone(), &file(&tls.secret_name, "tls.crt"), SecretUse::File);
        add(field.clone(), &file(&tls.secret_name, "tls.key"), SecretUse::File);
        if tls.verify || listener == "cluster" {
            add(field, &file(&tls.secret_name, "ca.crt"), SecretUse::File);
        }
    }
    for (i, remote) in spec.leaf_nodes.remotes.iter().enumerate() {
        let field = |name: &str| format!("spec.leafNodes.remotes[{i}].{name}");
        if let Some(credentials) = &remote.credentials {
            add(field("credentials"), credentials, SecretUse::File);
        }
        for (name, secret) in [("password", &remote.password), ("token", &remote.token)] {
            if let Some(secret) = secret {
                add(field(name), secret, SecretUse::UrlUserinfo);
            }
        }
        if let Some(tls) = &remote.tls {
            add(field("tls.secretName"), &file(&tls.secret_name, "ca.crt"), SecretUse::File);
            if tls.client_certificate {
                add(field("tls.secretName"), &file(&tls.secret_name, "tls.crt"), SecretUse::File);
                add(field("tls.secretName"), &file(&tls.secret_name, "tls.key"), SecretUse::File);
            }
        }
    }
    references
}

/// Why a Secret value used as `used_as` would stop the servers or not be the password it seems,
/// if it would. nats-server reads an environment value as configuration text (tried on the real
/// server: `12p`, `-x`, `true`, `yes`, `a b`, `a,b`, `a;b`, `a}b`, `a[b]`, `a\b` stop it; `'x'`,
/// `"x"` and a trailing space become other passwords). The message never contains the value.
pub fn unusable_secret_value(value: &[u8], used_as: SecretUse) -> Option<&'static str> {
    if used_as == SecretUse::File {
        return None;
    }
    let Ok(text) = std::str::from_utf8(value) else { return Some("is not UTF-8 text") };
    if text.is_empty() {
        return Some("is empty");
    }
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || ",;{}[]\\'\"".contains(c);
    match used_as {
        SecretUse::ConfigValue if !text.starts_with(char::is_alphabetic) => Some(
            "must begin with a letter (nats-server reads the value as configuration: one beginning with a digit or '-' is not a string, and the servers would not start)",
        ),
        SecretUse::ConfigValue
            if ["true", "false", "yes", "no", "on", "off"].contains(&text.to_ascii_lowercase().as_str()) =>
        {
            Some(
                "must not be true, false, yes, no, on or off (nats-server reads those as booleans, and the servers would not start)",
            )
        }
        SecretUse::ConfigValue if text.contains(forbidden) => Some(
            "must not contain spaces, quotes or any of , ; { } [ ] \\ (nats-server reads the value as configuration, and the servers would not start or would expect another password)",
        ),
        SecretUse::UrlUserinfo if text.contains(|c: char| forbidden(c) || "/?#@%".contains(c)) => Some(
            "must not contain spaces, quotes or any of , ; { } [ ] \\ / ? # @ % (it becomes part of the remote's URL)",
        ),
        _ => None,
    }
}

/// Names of the Secrets a spec refers to (for the Secret watch).
pub fn referenced_secrets(spec: &NatsSpec) -> BTreeSet<String> {
    secret_references(spec).into_iter().map(|r| r.key.name).collect()
}

fn kube_error(step: &'static str, object: String) -> impl FnOnce(kube::Error) -> ReconcileError {
    move |source| ReconcileError::Kube { step, object, source }
}

impl Module for Nats {
    const CONTROLLER: &'static str = "nats";
    const FINALIZER: &'static str = FINALIZER;
    const READINESS_CONDITIONS: &'static [&'static str] = &["StatefulSetReady", "Available"];
    const SUBJECT: &'static str = "cluster";

    fn chart(ctx: &Context) -> &CompiledChart {
        &ctx.nats_chart
    }

    fn kinds(ctx: &Context) -> &[(String, String)] {
        &ctx.nats_kinds
    }

    fn validate(&self) -> Result<(), FieldError> {
        validate::nats(&self.spec)
    }

    async fn prepare(&self, ctx: &Context, owner: &Owner) -> Result<Prepared, ReconcileError> {
        let namespace = owner.install_namespace.clone();
        let names = NatsNames::of(&owner.name);
        check_secret_keys(ctx, &namespace, &secret_references(&self.spec)).await?;
        // The cache holds only ours: one that Kyma's nats-manager made (to be adopted) is read.
        let existing = match ctx.children.statefulsets.store.get(&ObjectRef::new(&names.fullname).within(&namespace)) {
            Some(cached) => Some(cached),
            None => Api::<StatefulSet>::namespaced(ctx.client.clone(), &namespace)
                .get_opt(&names.fullname)
                .await
                .map_err(kube_error("reading the StatefulSet", names.fullname.clone()))?
                .map(std::sync::Arc::new),
        };
        if existing.is_none() {
            check_storage_class(ctx, &self.spec).await?;
        }
        let credentials = credentials::ensure(ctx, owner, &names.secret, ADMIN_PASSWORD_KEY, "nats-admin").await?;

        let mut overrides = overrides(&owner.name, &self.spec);
        overrides["podAnnotations"] = json!({CREDENTIALS_ANNOTATION: credentials.uid});
        // Claim templates of an existing StatefulSet cannot change: keep its size, grow the claims.
        if let Some(existing) = existing {
            let template_size = existing
                .spec
                .volume_claim_templates
                .as_ref()
                .and_then(|t| t.first())
                .and_then(|t| t.spec.as_ref()?.resources.as_ref()?.requests.as_ref()?.get("storage").cloned());
            if let Some(size) = template_size {
                overrides["jetStream"]["fileStorage"]["claimTemplateSize"] = json!(size.0);
            }
        }
        Ok(Prepared {
            release: Release { name: owner.name.clone(), namespace },
            overrides,
            warnings: Vec::new(),
            extra: credentials.adopt.into_iter().collect(),
            keep: Vec::new(),
            workloads: Workloads { statefulset: Some(names.fullname), deployment: None },
        })
    }

    async fn after_apply(&self, ctx: &Context, owner: &Owner, _: &Prepared) -> Result<Vec<String>, ReconcileError> {
        let file = &self.spec.jet_stream.file_storage;
        if !self.spec.jet_stream.uses_volumes() {
            return Ok(Vec::new());
        }
        let Some(wanted) = quantity_bytes(&file.size) else { return Ok(Vec::new()) };
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &owner.install_namespace);
        let selector = NatsNames::of(&owner.name).selector();
        let list = claims
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(kube_error("listing volume claims", owner.install_namespace.clone()))?;
        let mut warnings = Vec::new();
        for claim in list {
            let spec = claim.spec.as_ref();
            let requested = spec
                .and_then(|s| s.resources.as_ref()?.requests.as_ref()?.get("storage"))
                .map(|q| q.0.clone())
                .unwrap_or_default();
            if quantity_bytes(&requested).is_none_or(|have| have >= wanted) {
                continue;
            }
            let class_name = spec.and_then(|s| s.storage_class_name.clone()).unwrap_or_default();
            let class = Api::<StorageClass>::all(ctx.client.clone())
                .get_opt(&class_name)
                .await
                .map_err(kube_error("reading StorageClass", class_name.clone()))?;
            if class.as_ref().and_then(|c| c.allow_volume_expansion) != Some(true) {
                warnings.push(format!(
                    "StorageClass {class_name:?} does not allow volume expansion: volume claim {} stays at {requested} (spec asks for {})",
                    claim.name_any(),
                    file.size
                ));
                continue;
            }
            tracing::info!(claim = %claim.name_any(), from = %requested, to = %file.size, "expanding JetStream volume");
            let patch = json!({"spec": {"resources": {"requests": {"storage": file.size}}}});
            crate::metrics::api_write("patch", "PersistentVolumeClaim");
            claims
                .patch(&claim.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(kube_error("expanding volume claim", claim.name_any()))?;
        }
        Ok(warnings)
    }

    async fn assess(
        &self,
        ctx: &Context,
        prepared: &Prepared,
        snapshot: &Snapshot,
        warnings: &[String],
    ) -> Result<Assessment, ReconcileError> {
        let namespace = &prepared.release.namespace;
        let rollout = snapshot.statefulset_rollout();
        let mut warnings = warnings.to_vec();
        let mut fields = serde_json::Map::new();
        // Zones and storage are looked at once the servers run.
        let mut observed_conditions = Vec::new();
        if rollout == Rollout::Complete {
            let zones = zones_used(ctx, namespace, &prepared.release.name, self.spec.cluster.size).await?;
            fields.insert("availabilityZonesUsed".into(), json!(zones.used));
            let spread = zones.used >= zones.possible;
            let message = format!(
                "the {} NATS servers run in {} availability zone(s) of the {} they can use",
                self.spec.cluster.size, zones.used, zones.possible
            );
            if !spread {
                warnings.push(format!("{message}: a zone outage can stop JetStream"));
            }
            let reason = if spread { "Deployed" } else { "NotSpread" };
            observed_conditions.push(Decided::new("AvailabilityZones", spread, reason, message));
            if self.spec.jet_stream.uses_volumes() {
                let (condition, warning) =
                    storage_use(ctx, namespace, &prepared.release.name, self.spec.cluster.size).await;
                warnings.extend(warning);
                observed_conditions.push(condition);
            }
        }
        let (state, conditions) = match (&rollout, warnings.is_empty()) {
            (Rollout::InProgress(message), _) => (
                State::Processing,
                vec![
                    Decided::new("StatefulSetReady", false, "RollingOut", message.clone()),
                    Decided::new("Available", false, "RollingOut", format!("NATS is rolling out: {message}")),
                ],
            ),
            (Rollout::Complete, true) => (
                State::Ready,
                vec![
                    Decided::new("StatefulSetReady", true, "RolledOut", "every replica is updated and ready"),
                    Decided::new("Available", true, "Available", "NATS is available"),
                ],
            ),
            (Rollout::Complete, false) => (
                State::Warning,
                vec![
                    Decided::new("StatefulSetReady", true, "RolledOut", "every replica is updated and ready"),
                    Decided::new("Available", true, "NeedsAttention", warnings.join("; ")),
                ],
            ),
        };
        let mut conditions = conditions;
        conditions.extend(observed_conditions);
        conditions.push(Decided::new("Deleted", false, "Provisioned", "the cluster is provisioned"));
        Ok(Assessment { state, conditions, fields })
    }

    async fn cleanup(&self, ctx: &Context, owner: &Owner) -> Result<(), ReconcileError> {
        crate::metrics::set_jetstream_storage(&owner.install_namespace, &owner.name, None);
        if self.spec.pvc_retention_policy != PvcRetentionPolicy::Delete {
            tracing::info!("keeping the JetStream volume claims (pvcRetentionPolicy: Retain)");
            return Ok(());
        }
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &owner.install_namespace);
        let selector = NatsNames::of(&owner.name).selector();
        let list = claims
            .list_metadata(&ListParams::default().labels(&selector))
            .await
            .map_err(kube_error("listing volume claims", owner.install_namespace.clone()))?;
        for claim in list {
            tracing::info!(claim = %claim.name_any(), "deleting JetStream volume claim (pvcRetentionPolicy: Delete)");
            crate::metrics::api_write("delete", "PersistentVolumeClaim");
            match claims.delete(&claim.name_any(), &DeleteParams::background()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(source) => {
                    return Err(ReconcileError::Kube {
                        step: "deleting volume claim",
                        object: claim.name_any(),
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    fn current_conditions(&self) -> Vec<Condition> {
        self.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default()
    }

    fn current_status(&self) -> Value {
        self.status.as_ref().map(|s| json!(s)).unwrap_or(Value::Null)
    }

    fn status(&self, state: State, conditions: Vec<Condition>, observed: Option<(&Snapshot, &Assessment)>) -> Value {
        let namespace = self.namespace().unwrap_or_default();
        let names = NatsNames::of(&self.name_any());
        let zones = observed
            .and_then(|(_, assessed)| assessed.fields.get("availabilityZonesUsed")?.as_i64())
            .and_then(|n| i32::try_from(n).ok())
            .or_else(|| self.status.as_ref().and_then(|s| s.availability_zones_used));
        let observed = observed
            .and_then(|(s, _)| s.statefulset.current())
            .map(|s| s.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0));
        let ready = observed.or_else(|| self.status.as_ref().and_then(|s| s.ready_replicas)).unwrap_or(0);
        json!(NatsStatus {
            state: Some(state),
            conditions,
            observed_generation: self.metadata.generation,
            url: Some(names.client_url(&namespace)),
            ready_replicas: Some(ready),
            availability_zones_used: zones,
        })
    }
}

/// Every referenced Secret exists in `namespace` and has the key: else an error naming the field.
pub async fn check_secret_keys(
    ctx: &Context,
    namespace: &str,
    references: &[SecretReference],
) -> Result<(), ReconcileError> {
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    // A TLS Secret is named for several keys: each Secret is read once.
    let mut read: BTreeMap<&str, Option<Secret>> = BTreeMap::new();
    for SecretReference { field, key: reference, used_as } in references {
        if !read.contains_key(reference.name.as_str()) {
            let secret = secrets
                .get_opt(&reference.name)
                .await
                .map_err(kube_error("reading referenced Secret", format!("{namespace}/{}", reference.name)))?;
            read.insert(&reference.name, secret);
        }
        let problem = match &read[reference.name.as_str()] {
            None => format!("names the Secret {namespace}/{}, which does not exist", reference.name),
            Some(secret) => match secret.data.as_ref().and_then(|d| d.get(&reference.key)) {
                None => format!(
                    "names the key {:?} of the Secret {namespace}/{}, which it does not have",
                    reference.key, reference.name
                ),
                Some(value) => match unusable_secret_value(&value.0, *used_as) {
                    Some(why) => format!(
                        "names the key {:?} of the Secret {namespace}/{}, whose value {why}",
                        reference.key, reference.name
                    ),
                    None => continue,
                },
            },
        };
        return Err(ReconcileError::Dependency(FieldError::new(field.clone(), problem)));
    }
    Ok(())
}

/// The StorageClass of new JetStream volumes exists (else the claims stay Pending and nothing says why).
async fn check_storage_class(ctx: &Context, spec: &NatsSpec) -> Result<(), ReconcileError> {
    let file = &spec.jet_stream.file_storage;
    let Some(class) = file.class().filter(|_| spec.jet_stream.uses_volumes()) else { return Ok(()) };
    let found = Api::<StorageClass>::all(ctx.client.clone())
        .get_metadata_opt(class)
        .await
        .map_err(kube_error("reading StorageClass", class.to_owned()))?;
    match found {
        Some(_) => Ok(()),
        None => Err(ReconcileError::Dependency(FieldError::new(
            "spec.jetStream.fileStorage.storageClassName",
            format!("names the StorageClass {class:?}, which does not exist: the volume claims would stay Pending"),
        ))),
    }
}

/// The `StorageAvailable` condition (and a warning when a server's file store is nearly full) from
/// every server's `/jsz`; the metric follows.
async fn storage_use(ctx: &Context, namespace: &str, release: &str, size: i32) -> (Decided, Option<String>) {
    let names = NatsNames::of(release);
    let servers = (0..usize::try_from(size).unwrap_or(0)).map(|i| {
        let pod = format!("{}-{i}", names.fullname);
        let url = storage::monitor_url(&ctx.config.nats_monitor_url, &pod, &names.fullname, namespace);
        async move { (pod, storage::usage(&url).await) }
    });
    let servers = futures::future::join_all(servers).await;
    let ratios: Vec<(String, f64)> =
        servers.iter().filter_map(|(pod, usage)| Some((pod.clone(), usage.as_ref().ok()?.ratio()))).collect();
    crate::metrics::set_jetstream_storage(namespace, release, (!ratios.is_empty()).then_some(&ratios[..]));
    storage::assess(&servers, "spec.jetStream.fileStorage.size")
}

/// Availability zones (`topology.kubernetes.io/zone` of the nodes) the servers run in, and how many
/// they could use (the cluster's zones, at most one per server).
struct Zones {
    used: usize,
    possible: usize,
}

async fn zones_used(ctx: &Context, namespace: &str, release: &str, replicas: i32) -> Result<Zones, ReconcileError> {
    let nodes = Api::<Node>::all(ctx.client.clone())
        .list_metadata(&ListParams::default())
        .await
        .map_err(kube_error("listing nodes", "nodes".into()))?;
    let zone_of = |node: &str| {
        nodes
            .items
            .iter()
            .find(|n| n.name_any() == node)
            .and_then(|n| n.labels().get("topology.kubernetes.io/zone").cloned())
    };
    let all_zones: BTreeSet<String> =
        nodes.items.iter().filter_map(|n| n.labels().get("topology.kubernetes.io/zone").cloned()).collect();
    let selector = NatsNames::of(release).selector();
    let pods = Api::<Pod>::namespaced(ctx.client.clone(), namespace)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(kube_error("listing pods", namespace.into()))?;
    let used: BTreeSet<String> =
        pods.items.iter().filter_map(|p| p.spec.as_ref()?.node_name.as_deref().and_then(zone_of)).collect();
    Ok(Zones { used: used.len(), possible: all_zones.len().min(usize::try_from(replicas).unwrap_or(0)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(value: Value) -> NatsSpec {
        serde_json::from_value(value).expect("valid spec")
    }

    #[test]
    fn the_chart_renders_the_names_the_controller_uses() {
        let names = NatsNames::of("eu");
        let mut values = overrides("eu", &spec(json!({})));
        crate::chart::merge_values(&mut values, &names.values());
        let chart = crate::chart::bundled_nats().expect("chart").compile().expect("compiles");
        let release = crate::chart::Release { name: "eu".into(), namespace: "ns".into() };
        let rendered = chart.render(&values, &release, &[]).expect("renders");
        let find = |kind: &str, name: &str| {
            rendered.iter().find(|m| m.kind() == kind && m.name() == name).unwrap_or_else(|| panic!("{kind} {name}"))
        };
        let sts = &find("StatefulSet", &names.fullname).object;
        let mut selector: Vec<String> = sts["spec"]["selector"]["matchLabels"]
            .as_object()
            .expect("matchLabels")
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        selector.sort();
        let wanted = names.selector();
        let mut expected: Vec<&str> = wanted.split(',').collect();
        expected.sort();
        assert_eq!(selector, expected, "the selector the controller lists pods and claims by");
        let env = sts["spec"]["template"]["spec"]["containers"][0]["env"].as_array().expect("env");
        let admin = env.iter().find(|e| e["name"] == "ADMIN_PASSWORD").expect("ADMIN_PASSWORD");
        assert_eq!(admin["valueFrom"]["secretKeyRef"], json!({"name": names.secret, "key": ADMIN_PASSWORD_KEY}));
        let service = &find("Service", &names.fullname).object;
        let client = service["spec"]["ports"].as_array().and_then(|p| p.iter().find(|p| p["name"] == "client"));
        assert_eq!(client.map(|p| p["port"].clone()), Some(json!(CLIENT_PORT)), "the port of NatsNames::client_url");
        let template = sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"].as_str().expect("claim template");
        assert_eq!(format!("{template}-{}-0", names.fullname), names.claim(0), "NatsNames::claim");
        assert_eq!(sts["spec"]["serviceName"], json!(names.fullname), "the headless Service");
    }

    #[test]
    fn names_follow_the_chart() {
        assert_eq!(NatsNames::of("eu").fullname, "eu-nats");
        assert_eq!(NatsNames::of("eventing-nats").fullname, "eventing-nats");
        assert_eq!(NatsNames::of("eu").secret, "eu-nats-secret");
        assert_eq!(NatsNames::of("eu").client_url("ns"), "nats://eu-nats.ns.svc.cluster.local:4222");
    }

    #[test]
    fn overrides_map_every_spec_field() {
        let values = overrides(
            "edge",
            &spec(json!({
                "cluster": {"size": 5, "routes": ["nats://x:6222"]},
                "jetStream": {"memStorage": {"enabled": false, "size": "2Gi"}, "fileStorage": {"storageClassName": "fast", "size": "10Gi"}},
                "leafNodes": {"enabled": true, "port": 7000, "authorization": {"user": "u", "password": {"name": "s", "key": "k"}},
                              "remotes": [{"urls": ["nats-leaf://p:7422"], "credentials": {"name": "c", "key": "edge.creds"}}, {"urls": ["tls://q:7422"]}]},
                "service": {"type": "NodePort", "nodePorts": {"client": 30001}},
                "logging": {"debug": true},
                "labels": {"team": "a"},
                "resources": {"limits": {"memory": "2Gi"}},
                "accounts": [{"name": "APP", "users": [{"user": "orders", "password": {"name": "app", "key": "orders"}}]}],
                "defaultAccount": "APP"
            })),
        );
        assert_eq!(values["cluster"], json!({"size": 5, "name": "edge", "routes": ["nats://x:6222"]}));
        assert_eq!(values["jetStream"]["memStorage"], json!({"enabled": false, "size": "2Gi"}));
        assert_eq!(
            values["jetStream"]["fileStorage"],
            json!({"enabled": true, "storageClassName": "fast", "size": "10Gi"})
        );
        assert_eq!(
            values["leafNodes"]["authorization"],
            json!({"enabled": true, "user": "u", "passwordSecret": {"name": "s", "key": "k"}, "account": "APP"}),
            "leaf connections bind to the default account"
        );
        assert_eq!(values["leafNodes"]["remotes"][1]["account"], "APP");
        assert_eq!(
            values["accounts"],
            json!([{"name": "APP", "jetStream": true, "users": [{"user": "orders", "passwordEnv": "ACCOUNT_0_USER_0_PASSWORD", "passwordSecret": {"name": "app", "key": "orders"}}]}])
        );
        assert_eq!(values["defaultAccount"], "APP");
        assert_eq!(values["leafNodes"]["remotes"][0]["credentialsSecret"], json!({"name": "c", "key": "edge.creds"}));
        assert!(values["leafNodes"]["remotes"][1].get("credentialsSecret").is_none());
        assert_eq!(values["service"], json!({"type": "NodePort", "nodePorts": {"client": 30001, "leafNodes": null}}));
        assert_eq!(values["logging"], json!({"debug": true, "trace": false}));
        assert_eq!(values["auth"]["secretName"], "edge-nats-secret");
        assert_eq!(values["fullnameOverride"], "edge-nats");
        assert_eq!(values["resources"]["limits"]["memory"], "2Gi");
        assert_eq!(values["labels"]["team"], "a");
    }

    #[test]
    fn the_storage_class_default_means_the_clusters_default_class_as_upstream() {
        for class in [json!("default"), json!(null)] {
            let values = overrides("n", &spec(json!({"jetStream": {"fileStorage": {"storageClassName": class}}})));
            assert_eq!(values["jetStream"]["fileStorage"]["storageClassName"], "", "{class}");
        }
        let values = overrides("n", &spec(json!({"jetStream": {"fileStorage": {"storageClassName": "default-ssd"}}})));
        assert_eq!(values["jetStream"]["fileStorage"]["storageClassName"], "default-ssd");
    }

    #[test]
    fn defaults_render_and_the_cluster_name_defaults_to_the_cr_name() {
        let values = overrides("primary", &spec(json!({})));
        assert_eq!(values["cluster"]["name"], "primary");
        assert!(values.get("resources").is_none(), "chart defaults apply");
        let chart = crate::chart::bundled_nats().expect("chart").compile().expect("compiles");
        let manifests =
            chart.render(&values, &Release { name: "primary".into(), namespace: "ns".into() }, &[]).expect("renders");
        assert!(manifests.iter().any(|m| m.kind() == "StatefulSet" && m.name() == "primary-nats"));
    }

    #[test]
    fn referenced_secrets_are_those_the_servers_mount() {
        let names = referenced_secrets(&spec(
            json!({"leafNodes": {"enabled": true, "authorization": {"user": "u", "password": {"name": "auth", "key": "k"}},
            "remotes": [{"urls": ["nats://a:1"], "credentials": {"name": "creds", "key": "k"}}]}}),
        ));
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["auth", "creds"]);
        let disabled = referenced_secrets(&spec(
            json!({"leafNodes": {"enabled": false, "authorization": {"user": "u", "password": {"name": "auth", "key": "k"}}}}),
        ));
        assert!(disabled.is_empty(), "authorization of a disabled listener is not used");
    }

    /// What each Secret value gets, as the real nats-server answered (see `unusable_secret_value`).
    #[test]
    fn secret_values_the_servers_cannot_read_are_refused() {
        let config = |v: &str| unusable_secret_value(v.as_bytes(), SecretUse::ConfigValue);
        for refused in [
            "12p", "3Gb", "-abc", "1.5", "true", "YES", "on", "Off", "abc def", "ab ", "a,b", "a;b", "a}b", "a[b]",
            "a\\b", "'quoted'", "\"dq\"", "",
        ] {
            assert!(config(refused).is_some(), "{refused:?} must be refused");
        }
        for accepted in
            ["p12", "abc#def", "p@ss/w?rd", "pa$$word", "pässwörd", "a=b", "a:b", "nil", "Pa1-._~!@#$%^&*+=:/?end"]
        {
            assert_eq!(config(accepted), None, "{accepted:?} works on the real server");
        }
        let url = |v: &str| unusable_secret_value(v.as_bytes(), SecretUse::UrlUserinfo);
        assert_eq!(url("12p-token"), None, "in a URL a digit first is fine");
        assert!(url("p@ss").is_some() && url("a/b").is_some() && url("a b").is_some());
        assert_eq!(
            unusable_secret_value(b"\xff any bytes", SecretUse::File),
            None,
            "files are not read as configuration"
        );
        assert_eq!(config("12p").map(|m| m.contains("12p")), Some(false), "the message never shows the value");
    }

    /// Every Secret key and Secret volume of the rendered StatefulSet (but the generated
    /// credentials) is a reference the controller checks before applying: a missing one would
    /// leave the pods waiting instead of the CR naming the field.
    #[test]
    fn the_checked_references_cover_every_secret_the_pods_use() {
        let key = |name: &str, key: &str| json!({"name": name, "key": key});
        let user = |name: &str| json!({"user": name, "password": key("users", name)});
        let spec = spec(json!({
            "leafNodes": {"enabled": true, "authorization": {"user": "u", "password": key("auth", "password")}, "remotes": [
                {"urls": ["nats://a:1"], "credentials": key("creds", "edge.creds"), "tls": {"secretName": "remote-ca", "clientCertificate": true}},
                {"urls": ["nats://b:1"], "user": "edge", "password": key("to-b", "password")},
                {"urls": ["nats://c:1"], "token": key("to-c", "token")}
            ]},
            "systemAccount": {"users": [user("ops")]},
            "accounts": [{"name": "APP", "users": [user("orders"), user("billing")]}, {"name": "AUDIT", "users": [user("audit")]}],
            "defaultAccount": "APP",
            "tls": {"client": {"secretName": "client-tls", "verify": true}, "cluster": {"secretName": "cluster-tls"}, "leafNodes": {"secretName": "leaf-tls"}}
        }));
        let chart = crate::chart::bundled_nats().expect("chart").compile().expect("compiles");
        let manifests = chart
            .render(&overrides("edge", &spec), &Release { name: "edge".into(), namespace: "ns".into() }, &[])
            .expect("renders");
        let sts = manifests.iter().find(|m| m.kind() == "StatefulSet").expect("StatefulSet");
        let pod = &sts.object["spec"]["template"]["spec"];
        let containers = pod["containers"].as_array().expect("containers");
        let env_keys: BTreeSet<(String, String)> = containers
            .iter()
            .flat_map(|c| c["env"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| {
                let r = e["valueFrom"].get("secretKeyRef")?;
                Some((r["name"].as_str()?.to_owned(), r["key"].as_str()?.to_owned()))
            })
            .filter(|(name, _)| name != "edge-nats-secret")
            .collect();
        let volumes: BTreeSet<String> = pod["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .filter_map(|v| v["secret"]["secretName"].as_str().map(str::to_owned))
            .collect();
        let checked: BTreeSet<(String, String)> =
            secret_references(&spec).into_iter().map(|r| (r.key.name, r.key.key)).collect();
        let checked_names: BTreeSet<String> = checked.iter().map(|(name, _)| name.clone()).collect();
        assert_eq!(env_keys.len(), 7, "leaf password, two remote secrets, four users: {env_keys:?}");
        assert!(env_keys.is_subset(&checked), "unchecked: {:?}", env_keys.difference(&checked).collect::<Vec<_>>());
        assert!(
            volumes.is_subset(&checked_names),
            "unchecked: {:?}",
            volumes.difference(&checked_names).collect::<Vec<_>>()
        );
        assert_eq!(volumes.len(), 5, "{volumes:?}");
    }
}
