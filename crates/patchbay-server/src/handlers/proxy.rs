//! The Proxy API (SPEC §5): any request to the integration's API, as the
//! selected account, streamed both ways.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use futures_util::TryStreamExt as _;
use patchbay_core::selection::Operation;
use patchbay_proxy as policy;
use url::Url;

use crate::accounts::{integration_not_found, selected_credential};
use crate::auth::ConnectUser;
use crate::error::ApiError;
use crate::runtime::{Integration, ProjectRuntime};
use crate::state::AppState;
use crate::upstream::{self, AccountRequest, ReplayableBody};

/// Calls the integration's API as the selected account.
#[utoipa::path(
    method(get, post, put, patch, delete, head, options),
    path = "/projects/{projectId}/sdk/proxy/{integration}/{path}",
    tag = "sdk",
    params(("projectId" = Uuid, Path), ("integration" = String, Path),
           ("path" = String, Path, description = "The API path, or a full URL within the API's domain"),
           ("X-Paragon-Credential" = Option<String>, Header)),
    responses((status = 200, description = "The provider's response, untouched"),
              (status = 400, body = patchbay_api::ErrorBody), (status = 502, body = patchbay_api::ErrorBody),
              (status = 504, body = patchbay_api::ErrorBody)),
    security(("userToken" = [])))]
pub async fn proxy(
    user: ConnectUser,
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    // Raw, because the proxied path is the provider's business: it may not
    // even be UTF-8, and `resolve` judges it as sent.
    let path = request.uri().path().to_owned();
    let integration_type = path
        .split("/sdk/proxy/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    let runtime = ProjectRuntime::load(&state, &user.project).await?;
    let integration = runtime
        .integration(integration_type)
        .ok_or_else(|| integration_not_found(integration_type))?;
    let (parts, body) = request.into_parts();
    let credential = selected_credential(
        &state,
        &user,
        &runtime,
        integration,
        &parts.headers,
        Operation::Use,
    )
    .await?;
    let target = target_url(
        &parts.uri,
        integration_type,
        integration,
        &credential.account_vars,
    )?;
    let body = ReplayableBody::new(body).await?;
    let headers = policy::request_headers(&parts.headers);
    let response = upstream::call_as_account(
        &state,
        integration,
        credential,
        AccountRequest {
            method: &parts.method,
            target: &target,
            headers: &headers,
            body: &body,
        },
    )
    .await;
    let type_name = integration.config.type_name.as_str();
    let status = match &response {
        Ok(upstream) => upstream.status(),
        Err(error) => error.status,
    };
    state
        .metrics
        .observe_proxy(type_name, status.as_u16(), started.elapsed());
    response.map(relay)
}

/// The upstream URL: the raw path after `/proxy/{integration}/` and the raw
/// query, checked against the account's API base URL.
fn target_url(
    uri: &axum::http::Uri,
    type_segment: &str,
    integration: &Integration,
    account_vars: &serde_json::Value,
) -> Result<Url, ApiError> {
    let raw = uri.path();
    let marker = format!("/sdk/proxy/{type_segment}/");
    let raw_path = raw.find(&marker).map_or("", |at| &raw[at + marker.len()..]);
    upstream::api_url(integration, account_vars, raw_path, uri.query())
}

/// The provider's answer, streamed back untouched but for hop-by-hop headers.
fn relay(upstream: reqwest::Response) -> Response {
    let status = upstream.status();
    let headers = policy::response_headers(upstream.headers());
    let body = Body::from_stream(upstream.bytes_stream().map_err(std::io::Error::other));
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
