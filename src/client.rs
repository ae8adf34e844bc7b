//! The Kubernetes client of the manager: kube's default stack with one more layer that counts every
//! request by verb for `/metrics` (`eventing_manager_api_requests_total{verb}`).

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

#[derive(Clone, Copy)]
struct CountRequestsLayer;

impl<S> Layer<S> for CountRequestsLayer {
    type Service = CountRequests<S>;
    fn layer(&self, inner: S) -> Self::Service {
        CountRequests(inner)
    }
}

#[derive(Clone)]
struct CountRequests<S>(S);

impl<S, B> Service<http::Request<B>> for CountRequests<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        crate::metrics::api_request(verb(&request));
        self.0.call(request)
    }
}

/// A client for the cluster of KUBECONFIG (or the in-cluster config) whose requests are counted.
pub async fn connect() -> Result<Client, kube::Error> {
    let config = Config::infer().await.map_err(kube::Error::InferConfig)?;
    Ok(ClientBuilder::try_from(config)?.with_layer(&CountRequestsLayer).build())
}

#[cfg(test)]
mod tests {
    use super::verb;

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
