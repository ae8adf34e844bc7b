//! The Kubernetes client of the manager: kube's default stack with one more layer that counts every
//! request by verb for `/metrics` (`eventing_manager_api_requests_total{verb}`) and names the
//! manager as the field manager of every write that names none (kube's finalizer helper and
//! status patches would otherwise be recorded as `unknown`).

use std::task::{Context, Poll};

use kube::client::ClientBuilder;
use kube::{Client, Config};
use tower::{Layer, Service};

/// `get` (a read or a list), `watch`, `create`, `update`, `patch` or `delete`.
fn verb<B>(request: &http::Request<B>) -> &'static str {
    match *request.method() {
        http::Method::GET if request.uri().query().is_some_and(|q| q.split('&').any(|p| p == "watch=true")) => "watch",
        http::Method::GET => "get",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "other",
    }
}

/// `request` with `fieldManager=<manager>` added when it writes and names no field manager.
fn with_field_manager<B>(mut request: http::Request<B>, manager: &str) -> http::Request<B> {
    if !matches!(*request.method(), http::Method::POST | http::Method::PUT | http::Method::PATCH) {
        return request;
    }
    let uri = request.uri();
    let query = uri.query().unwrap_or_default();
    if query.split('&').any(|p| p.starts_with("fieldManager=")) {
        return request;
    }
    let separator = if query.is_empty() { "" } else { "&" };
    let path_and_query = format!("{}?{query}{separator}fieldManager={manager}", uri.path());
    let mut parts = uri.clone().into_parts();
    if let Ok(path_and_query) = path_and_query.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

#[derive(Clone)]
struct CountRequestsLayer {
    field_manager: std::sync::Arc<str>,
}

impl<S> Layer<S> for CountRequestsLayer {
    type Service = CountRequests<S>;
    fn layer(&self, inner: S) -> Self::Service {
        CountRequests { inner, field_manager: self.field_manager.clone() }
    }
}

#[derive(Clone)]
struct CountRequests<S> {
    inner: S,
    field_manager: std::sync::Arc<str>,
}

impl<S, B> Service<http::Request<B>> for CountRequests<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        crate::metrics::api_request(verb(&request));
        self.inner.call(with_field_manager(request, &self.field_manager))
    }
}

/// A client for the cluster of KUBECONFIG (or the in-cluster config) whose requests are counted and
/// whose writes name `field_manager` unless they name another.
pub async fn connect(field_manager: &str) -> Result<Client, kube::Error> {
    let config = Config::infer().await.map_err(kube::Error::InferConfig)?;
    let layer = CountRequestsLayer { field_manager: field_manager.into() };
    Ok(ClientBuilder::try_from(config)?.with_layer(&layer).build())
}

#[cfg(test)]
mod tests {
    use super::{verb, with_field_manager};

    #[test]
    fn writes_without_a_field_manager_get_ours() {
        let request =
            |method: &str, uri: &str| http::Request::builder().method(method).uri(uri).body(()).expect("request");
        let uri = |r: http::Request<()>| r.uri().to_string();
        let path = "/apis/operator.kyma-project.io/v1alpha1/namespaces/a/eventings/b";
        assert_eq!(uri(with_field_manager(request("PATCH", path), "em")), format!("{path}?fieldManager=em"));
        assert_eq!(
            uri(with_field_manager(request("PATCH", &format!("{path}/status?force=true")), "em")),
            format!("{path}/status?force=true&fieldManager=em")
        );
        assert_eq!(
            uri(with_field_manager(request("POST", "/api/v1/namespaces/a/secrets"), "em")),
            "/api/v1/namespaces/a/secrets?fieldManager=em"
        );
        let named = format!("{path}?fieldManager=other");
        assert_eq!(uri(with_field_manager(request("PATCH", &named), "em")), named, "a named field manager stays");
        assert_eq!(uri(with_field_manager(request("GET", path), "em")), path, "reads are left alone");
        assert_eq!(uri(with_field_manager(request("DELETE", path), "em")), path);
    }

    #[test]
    fn requests_are_named_by_verb() {
        let request =
            |method: &str, uri: &str| http::Request::builder().method(method).uri(uri).body(()).expect("request");
        assert_eq!(verb(&request("GET", "/api/v1/namespaces/a/secrets/b")), "get");
        assert_eq!(verb(&request("GET", "/api/v1/secrets?labelSelector=x&watch=true&resourceVersion=1")), "watch");
        assert_eq!(verb(&request("GET", "/api/v1/secrets?watchy=true")), "get");
        assert_eq!(verb(&request("PATCH", "/apis/apps/v1/namespaces/a/statefulsets/b")), "patch");
        assert_eq!(verb(&request("POST", "/api/v1/namespaces/a/secrets")), "create");
        assert_eq!(verb(&request("DELETE", "/api/v1/namespaces/a/secrets/b")), "delete");
        assert_eq!(verb(&request("PUT", "/apis/coordination.k8s.io/v1/namespaces/a/leases/b")), "update");
    }
}
