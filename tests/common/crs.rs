//! CR builders and status predicates the integration tests share.

use eventing_manager::api::Kyma;
use eventing_manager::api::State;
use eventing_manager::api::eventing::Eventing;
use eventing_manager::api::nats::Nats;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

/// Creates the CR of kind `K` named `name` with `spec` in `ns`.
async fn create<K>(client: &Client, ns: &str, name: &str, spec: Value) -> Api<K>
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let object: K = serde_json::from_value(json!({
        "apiVersion": K::api_version(&()), "kind": K::kind(&()), "metadata": {"name": name}, "spec": spec
    }))
    .unwrap_or_else(|e| panic!("valid {}: {e}", K::kind(&())));
    api.create(&PostParams::default(), &object).await.unwrap_or_else(|e| panic!("create {}: {e}", K::kind(&())));
    api
}

/// Creates the NATS CR `name` with `spec` in `ns`.
pub async fn create_nats(client: &Client, ns: &str, name: &str, spec: Value) -> Api<Nats> {
    create(client, ns, name, spec).await
}

/// Creates the Eventing CR `name` with `spec` in `ns`.
pub async fn create_eventing(client: &Client, ns: &str, name: &str, spec: Value) -> Api<Eventing> {
    create(client, ns, name, spec).await
}

/// Creates the Kyma CR `name` in `ns` on the `regular` channel with `modules`.
pub async fn create_kyma(client: &Client, ns: &str, name: &str, modules: Value) -> Api<Kyma> {
    create(client, ns, name, json!({"channel": "regular", "modules": modules})).await
}

/// Merge-patches the spec.
pub async fn patch_spec<K>(api: &Api<K>, name: &str, spec: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(name, &PatchParams::default(), &Patch::Merge(json!({ "spec": spec }))).await.expect("patch spec");
}

/// A NATS CR whose status reports `state` at its current generation.
pub fn nats_in_state(state: State) -> impl Fn(Option<&Nats>) -> bool {
    move |nats| {
        nats.and_then(|n| Some((n.status.as_ref()?, n.metadata.generation)))
            .is_some_and(|(s, generation)| s.state == Some(state) && s.observed_generation == generation)
    }
}

/// A NATS CR that is Ready with `replicas` ready servers.
pub fn nats_ready_with(replicas: i32) -> impl Fn(Option<&Nats>) -> bool {
    move |nats| {
        nats_in_state(State::Ready)(nats) && nats.and_then(|n| n.status.as_ref()?.ready_replicas) == Some(replicas)
    }
}

/// A CR status with `state` whose first not-true readiness condition says `reason` and mentions every fragment.
pub fn says(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    reason: &str,
    fragments: &[&str],
) -> bool {
    conditions.iter().any(|c| c.reason == reason && fragments.iter().all(|f| c.message.contains(f)))
}

/// A NATS CR in `state` whose conditions say `reason` with every fragment.
pub fn nats_says(
    state: State,
    reason: &'static str,
    fragments: &'static [&'static str],
) -> impl Fn(Option<&Nats>) -> bool {
    move |nats| {
        nats_in_state(state)(nats)
            && nats.and_then(|n| n.status.as_ref()).is_some_and(|s| says(&s.conditions, reason, fragments))
    }
}

/// An Eventing CR in `state` at its generation whose conditions mention every fragment.
pub fn eventing_says(state: State, fragments: &'static [&'static str]) -> impl Fn(Option<&Eventing>) -> bool {
    move |eventing| {
        eventing.and_then(|e| Some((e.status.as_ref()?, e.metadata.generation))).is_some_and(|(s, generation)| {
            s.state == Some(state)
                && s.observed_generation == generation
                && s.conditions.iter().any(|c| fragments.iter().all(|f| c.message.contains(f)))
        })
    }
}
