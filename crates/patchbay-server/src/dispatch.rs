//! The service every connection is served by: Proxy API calls take a path of
//! their own, everything else goes to the router.
//!
//! A proxied call is the one request whose cost is all overhead: Patchbay adds
//! an account's credentials and passes bytes on. Through the router it would
//! pay for route matching, six tower layers, boxed futures and a span
//! formatted by `tower-http` on top of its own work; here it gets the same
//! treatment as plain function calls, in the same order as the router's
//! layers: a request id, the request's span and access-log line, a panic
//! caught as a JSON 500, the limits on its head and body, its metrics, CORS,
//! then the same handler (`handlers::proxy::call`).

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts as _, Request};
use axum::http::Version;
use axum::response::{IntoResponse as _, Response};
use futures_util::FutureExt as _;
use hyper::body::Incoming;
use patchbay_engine::account_client::Affinity;
use tower::ServiceExt as _;
use tracing::Instrument as _;

use crate::access_log;
use crate::auth::ConnectUser;
use crate::cors::Cors;
use crate::error::ApiError;
use crate::handlers::proxy;
use crate::request_limits;
use crate::state::AppState;

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

#[derive(Clone)]
pub struct Dispatch {
    router: Router,
    state: AppState,
    /// The upstream connection of the caller connection this copy serves.
    affinity: Affinity,
}

impl Dispatch {
    pub fn new(state: AppState) -> Self {
        Self {
            router: crate::routes::router(state.clone()),
            state,
            affinity: Affinity::default(),
        }
    }

    /// The service for one more caller connection, with an upstream
    /// connection of its own for its proxied calls ([`Affinity::serve`]
    /// drives it).
    pub fn for_connection(&self) -> Self {
        Self {
            affinity: Affinity::default(),
            ..self.clone()
        }
    }

    pub fn affinity(&self) -> &Affinity {
        &self.affinity
    }
}

impl hyper::service::Service<hyper::Request<Incoming>> for Dispatch {
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: hyper::Request<Incoming>) -> Answer {
        let mut request = request.map(Body::new);
        match proxy_route(request.uri().path()) {
            Some(route) => {
                // HTTP/1 callers wait for each answer, so their calls never
                // contend for the one upstream connection; HTTP/2 streams
                // run side by side and use the pool.
                if request.version() < Version::HTTP_2 {
                    request.extensions_mut().insert(self.affinity.clone());
                }
                Box::pin(proxied(self.state.clone(), route, request).map(Ok))
            }
            None => Box::pin(self.router.clone().oneshot(request)),
        }
    }
}

/// The route template a Proxy API path matches, as the router names it (the
/// metrics' `route` label), or `None` for any other path. Paths with empty
/// segments where a name belongs are left to the router, which answers them.
fn proxy_route(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/projects/")?;
    let (project, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("sdk/proxy/")?;
    let (first, tail) = match rest.split_once('/') {
        Some((first, tail)) => (first, Some(tail)),
        None => (rest, None),
    };
    if project.is_empty() || first.is_empty() {
        return None;
    }
    if first == "custom"
        && let Some(tail) = tail.filter(|tail| !tail.is_empty())
    {
        let (id, path) = match tail.split_once('/') {
            Some((id, path)) => (id, Some(path)),
            None => (tail, None),
        };
        if id.is_empty() {
            return None;
        }
        return Some(match path {
            None => "/projects/{projectId}/sdk/proxy/custom/{integrationId}",
            Some("") => "/projects/{projectId}/sdk/proxy/custom/{integrationId}/",
            Some(_) => "/projects/{projectId}/sdk/proxy/custom/{integrationId}/{*path}",
        });
    }
    Some(match tail {
        None => "/projects/{projectId}/sdk/proxy/{integration}",
        Some("") => "/projects/{projectId}/sdk/proxy/{integration}/",
        Some(_) => "/projects/{projectId}/sdk/proxy/{integration}/{*path}",
    })
}

/// A Proxy API call with everything the router's layers would give it.
async fn proxied(state: AppState, route: &'static str, mut request: Request) -> Response {
    let started = Instant::now();
    let request_id = access_log::request_id(request.headers_mut());
    let span = access_log::span(request.method(), request.uri().path(), Some(&request_id));
    let answered = AssertUnwindSafe(within_limits(&state, route, request).instrument(span.clone()))
        .catch_unwind()
        .await;
    let mut response = answered.unwrap_or_else(|_| ApiError::internal().into_response());
    response
        .headers_mut()
        .insert(access_log::REQUEST_ID, request_id);
    span.in_scope(|| access_log::finished(response.status(), started.elapsed()));
    response
}

async fn within_limits(state: &AppState, route: &'static str, request: Request) -> Response {
    if let Some(refusal) = request_limits::oversized_head(&request) {
        return refusal.into_response();
    }
    let request = request_limits::guard_body(request, state.config.connections.body_idle_timeout);
    let started = Instant::now();
    let method = request.method().clone();
    let response = answer(state, request).await;
    state.engine.metrics().observe_request(
        method.as_str(),
        route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

async fn answer(state: &AppState, request: Request) -> Response {
    let cors = Cors::of(state, &request).await;
    if let Some(preflight) = cors.preflight() {
        return preflight;
    }
    let (mut parts, body) = request.into_parts();
    let mut response = match ConnectUser::from_request_parts(&mut parts, state).await {
        Ok(user) => proxy::call(user, state.clone(), Request::from_parts(parts, body))
            .await
            .into_response(),
        Err(refused) => refused.into_response(),
    };
    cors.finish(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::proxy_route;

    #[test]
    fn proxy_paths_are_named_as_the_router_names_them() {
        let p = "/projects/5a7c6b00-de30-4000-8000-000000000001/sdk/proxy";
        let route = |rest: &str| proxy_route(&format!("{p}{rest}"));
        assert_eq!(
            route("/echo/v1/x"),
            Some("/projects/{projectId}/sdk/proxy/{integration}/{*path}")
        );
        assert_eq!(
            route("/echo"),
            Some("/projects/{projectId}/sdk/proxy/{integration}")
        );
        assert_eq!(
            route("/echo/"),
            Some("/projects/{projectId}/sdk/proxy/{integration}/")
        );
        assert_eq!(
            route("/custom/abc/v1/x"),
            Some("/projects/{projectId}/sdk/proxy/custom/{integrationId}/{*path}")
        );
        assert_eq!(
            route("/custom/abc"),
            Some("/projects/{projectId}/sdk/proxy/custom/{integrationId}")
        );
        assert_eq!(
            route("/custom"),
            Some("/projects/{projectId}/sdk/proxy/{integration}")
        );
        assert_eq!(
            route("/custom/"),
            Some("/projects/{projectId}/sdk/proxy/{integration}/")
        );
        assert_eq!(route(""), None);
        assert_eq!(route("/"), None);
        assert_eq!(route("//x"), None);
        assert_eq!(route("/custom//x"), None);
        assert_eq!(proxy_route("/projects//sdk/proxy/echo/x"), None);
        assert_eq!(proxy_route("/api/v1/projects/p/sdk/proxy/echo/x"), None);
        assert_eq!(proxy_route("/projects/p/sdk/me"), None);
    }
}
