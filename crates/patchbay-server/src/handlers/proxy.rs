//! The Proxy API: any request to the integration's API, as the
//! selected account, streamed both ways.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use futures_util::TryStreamExt as _;
use patchbay_core::selection::Operation;
use patchbay_proxy as policy;
use url::Url;

use patchbay_engine::accounts::selected_credential;
use patchbay_engine::runtime::Integration;
use patchbay_engine::upstream::{self, AccountRequest, REPLAY_LIMIT, ReplayableBody};

use crate::auth::ConnectUser;
use crate::error::ApiError;
use crate::selection::credential_selection;
use crate::state::AppState;

/// Calls the integration's API as the selected account.
#[utoipa::path(
    method(get, post, put, patch, delete, head, options),
    path = "/projects/{projectId}/sdk/proxy/{integration}/{path}", operation_id = "proxy",
    tag = "sdk",
    params(("projectId" = Uuid, Path), ("integration" = String, Path),
           ("path" = String, Path, description = "The API path, or a full URL within the API's domain",
            example = "crm/v3/objects/contacts"),
           ("X-Paragon-Credential" = Option<String>, Header)),
    responses((status = 200, description = "The provider's response, untouched", content_type = "*/*", body = serde_json::Value),
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
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let integration = runtime.require_integration(integration_type)?;
    let (parts, body) = request.into_parts();
    let credential = selected_credential(
        state.store(),
        &user,
        &runtime,
        integration,
        credential_selection(&parts.headers)?,
        Operation::Use,
    )
    .await?;
    let target = target_url(
        &parts.uri,
        integration_type,
        integration,
        &credential.account_vars,
    )?;
    let body = replayable(body).await?;
    let headers = policy::request_headers(&parts.headers);
    let response = state
        .engine
        .upstream()
        .call_as_account(
            integration,
            credential,
            AccountRequest {
                method: &parts.method,
                target: &target,
                headers: &headers,
                body: &body,
            },
        )
        .await
        .map_err(ApiError::from);
    let type_name = integration.config.type_name.as_str();
    let status = match &response {
        Ok(upstream) => upstream.status(),
        Err(error) => error.status(),
    };
    state
        .engine
        .metrics()
        .observe_proxy(type_name, status.as_u16(), started.elapsed());
    response.map(relay)
}

/// Keeps the body when its size is known to be small (a `Content-Length`
/// within [`REPLAY_LIMIT`], or no body at all), so the call can be replayed
/// after a refresh; chunked and larger bodies stream through once.
async fn replayable(body: Body) -> Result<ReplayableBody, ApiError> {
    match axum::body::HttpBody::size_hint(&body).upper() {
        Some(length) if length <= REPLAY_LIMIT => {
            let bytes = axum::body::to_bytes(body, REPLAY_LIMIT as usize)
                .await
                .map_err(|_| {
                    ApiError::new(
                        patchbay_api::ErrorCode::InvalidParameter,
                        "The request body could not be read.",
                    )
                })?;
            Ok(ReplayableBody::kept(bytes))
        }
        _ => Ok(ReplayableBody::streaming(reqwest::Body::wrap_stream(
            body.into_data_stream(),
        ))),
    }
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
    Ok(upstream::api_url(
        integration,
        account_vars,
        raw_path,
        uri.query(),
    )?)
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
