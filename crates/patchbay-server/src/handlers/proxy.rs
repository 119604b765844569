//! The Proxy API: any request to the integration's API, as the
//! selected account. Answers are wrapped in `{"output": …}` as Paragon's
//! are, or streamed back raw on `X-Paragon-Use-Raw-Response`.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::Response;
use http_body_util::BodyExt as _;
use patchbay_api::ErrorCode;
use patchbay_core::selection::Operation;
use patchbay_proxy::{self as policy, Wrapping};
use serde_json::Value;
use url::Url;
use uuid::Uuid;

use patchbay_engine::account_client::AccountResponse;
use patchbay_engine::accounts::selected_credential;
use patchbay_engine::runtime::Integration;
use patchbay_engine::upstream::{self, AccountRequest, REPLAY_LIMIT, ReplayableBody};
use patchbay_store::CredentialRecord;

use crate::auth::ConnectUser;
use crate::error::ApiError;
use crate::selection::account_selection;
use crate::state::AppState;

/// Calls the integration's API as the selected account.
#[utoipa::path(
    method(get, post, put, patch, delete, head, options),
    path = "/projects/{projectId}/sdk/proxy/{integration}/{path}", operation_id = "proxy",
    tag = "sdk",
    params(("projectId" = Uuid, Path), ("integration" = String, Path, description = "Integration type or id"),
           ("path" = String, Path, description = "The API path, or a full URL within the API's domain",
            example = "crm/v3/objects/contacts"),
           ("X-Paragon-Credential" = Option<String>, Header),
           ("X-Paragon-Use-Raw-Response" = Option<String>, Header, description = "1 or true: the provider's answer as it sent it, streamed, instead of {\"output\": …}")),
    responses((status = 200, description = "The provider's answer: `{\"output\": <its body>}`, or itself with X-Paragon-Use-Raw-Response", content_type = "*/*", body = serde_json::Value),
              (status = 400, body = patchbay_api::ErrorBody), (status = 502, body = patchbay_api::ErrorBody),
              (status = 504, body = patchbay_api::ErrorBody)),
    security(("userToken" = [])))]
pub async fn proxy(
    user: ConnectUser,
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    call(user, state, request).await
}

/// A custom integration's API, the integration named by its id (Paragon's
/// `/sdk/proxy/custom/{integrationId}/{path}`).
#[utoipa::path(
    method(get, post, put, patch, delete, head, options),
    path = "/projects/{projectId}/sdk/proxy/custom/{integrationId}/{path}", operation_id = "proxyCustom",
    tag = "sdk",
    params(("projectId" = Uuid, Path), ("integrationId" = Uuid, Path),
           ("path" = String, Path, description = "The API path, or a full URL within the API's domain"),
           ("X-Paragon-Credential" = Option<String>, Header),
           ("X-Paragon-Use-Raw-Response" = Option<String>, Header)),
    responses((status = 200, description = "As for proxy", content_type = "*/*", body = serde_json::Value),
              (status = 400, body = patchbay_api::ErrorBody), (status = 404, body = patchbay_api::ErrorBody),
              (status = 502, body = patchbay_api::ErrorBody), (status = 504, body = patchbay_api::ErrorBody)),
    security(("userToken" = [])))]
pub async fn proxy_custom(
    user: ConnectUser,
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    call(user, state, request).await
}

/// The API's base URL itself, or, with `X-Paragon-Proxy-Url`, the URL or
/// path that header names (Paragon's form).
#[utoipa::path(
    method(get, post, put, patch, delete, head, options),
    path = "/projects/{projectId}/sdk/proxy/{integration}", operation_id = "proxyUrl",
    tag = "sdk",
    params(("projectId" = Uuid, Path), ("integration" = String, Path, description = "Integration type or id"),
           ("X-Paragon-Proxy-Url" = Option<String>, Header, description = "A path below the API's base URL, or a full URL within its domain", example = "/v3/objects/contacts"),
           ("X-Paragon-Credential" = Option<String>, Header),
           ("X-Paragon-Use-Raw-Response" = Option<String>, Header)),
    responses((status = 200, description = "As for proxy", content_type = "*/*", body = serde_json::Value),
              (status = 400, body = patchbay_api::ErrorBody), (status = 502, body = patchbay_api::ErrorBody),
              (status = 504, body = patchbay_api::ErrorBody)),
    security(("userToken" = [])))]
pub async fn proxy_url(
    user: ConnectUser,
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    call(user, state, request).await
}

/// One Proxy API call, whichever route named it: the router's, or the fast
/// path's (`crate::dispatch`), which comes here without the router and with
/// the caller connection's [`Affinity`](patchbay_engine::account_client::Affinity).
pub async fn call(
    user: ConnectUser,
    state: AppState,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    // Raw, because the proxied path is the provider's business: it may not
    // even be UTF-8, and `resolve` judges it as sent.
    let route = ProxyRoute::parse(request.uri().path())?;
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let integration = runtime.require_integration(&route.integration)?;
    let (parts, body) = request.into_parts();
    let credential = selected_credential(
        state.store(),
        &user,
        &runtime,
        integration,
        account_selection(&parts.headers)?,
        Operation::Use,
    )
    .await?;
    let target = target_url(&parts, &route, integration, &credential)?;
    let body = replayable(body).await?;
    let raw = policy::wants_raw_response(&parts.headers);
    let mut headers = policy::request_headers(&parts.headers);
    if !raw {
        // A wrapped answer is parsed, so it is asked for unencoded.
        headers.remove(axum::http::header::ACCEPT_ENCODING);
    }
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
                affinity: parts.extensions.get(),
            },
        )
        .await
        .map_err(ApiError::from);
    let status = match &response {
        Ok(upstream) => upstream.status(),
        Err(error) => error.status(),
    };
    state.engine.metrics().observe_proxy(
        user.project.id,
        integration,
        status.as_u16(),
        started.elapsed(),
    );
    let upstream = response?;
    if raw {
        return Ok(relay(upstream));
    }
    wrap(&parts.method, upstream).await
}

/// The integration a proxy path names and the raw rest of it.
struct ProxyRoute {
    /// A type, or an id.
    integration: String,
    /// After `/proxy/{integration}/` (or `/proxy/custom/{id}/`), still
    /// percent-encoded; empty for the base URL.
    raw_path: String,
}

impl ProxyRoute {
    fn parse(path: &str) -> Result<Self, ApiError> {
        let rest = path.split_once("/sdk/proxy/").map_or("", |(_, rest)| rest);
        let split = |rest: &str| match rest.split_once('/') {
            Some((segment, tail)) => (segment.to_owned(), tail.to_owned()),
            None => (rest.to_owned(), String::new()),
        };
        if let Some(custom) = rest.strip_prefix("custom/") {
            let (id, raw_path) = split(custom);
            // `custom/` is followed by an integration id; a custom
            // integration's type (`custom.<slug>`) goes where any type goes.
            if Uuid::parse_str(&id).is_err() {
                return Err(ApiError::new(
                    ErrorCode::IntegrationNotFound,
                    "/sdk/proxy/custom/ takes an integration id (a UUID).",
                ));
            }
            return Ok(Self {
                integration: id,
                raw_path,
            });
        }
        let (integration, raw_path) = split(rest);
        Ok(Self {
            integration,
            raw_path,
        })
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameter, message)
}

/// The upstream URL: the raw path after the integration and the raw query,
/// or what `X-Paragon-Proxy-Url` names in their place, checked against the
/// account's API base URL.
fn target_url(
    parts: &Parts,
    route: &ProxyRoute,
    integration: &Integration,
    credential: &CredentialRecord,
) -> Result<Url, ApiError> {
    let mut named = parts.headers.get_all(policy::PROXY_URL_HEADER).iter();
    let Some(value) = named.next() else {
        return Ok(upstream::api_url(
            integration,
            credential,
            &route.raw_path,
            parts.uri.query(),
        )?);
    };
    if named.next().is_some() {
        return Err(invalid(
            "Two X-Paragon-Proxy-Url headers: send the one URL to call.",
        ));
    }
    if !route.raw_path.is_empty() || parts.uri.query().is_some() {
        return Err(invalid(
            "X-Paragon-Proxy-Url takes the place of the path and query: send it to \
             /sdk/proxy/{integration} alone.",
        ));
    }
    let value = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| invalid("X-Paragon-Proxy-Url must be a URL or a path, in ASCII."))?;
    let (path, query) = match value.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (value, None),
    };
    // Paragon's paths start with `/`; below the base URL that slash is the
    // separator the route form has after `{integration}`. A second one
    // (`//host`) is left for the URL policy to refuse.
    let path = path.strip_prefix('/').unwrap_or(path);
    Ok(upstream::api_url(integration, credential, path, query)?)
}

/// The most of a provider's answer read to wrap it in `{"output": …}`.
const WRAP_LIMIT: usize = 8 * 1024 * 1024;

/// The provider's answer as Paragon gives it without
/// `X-Paragon-Use-Raw-Response`: its status, `{"output": <its body>}` (the
/// JSON it sent, else its text, `null` when empty). What cannot be wrapped
/// (see [`policy::wrapping`]) is relayed as it came.
async fn wrap(method: &Method, upstream: AccountResponse) -> Result<Response, ApiError> {
    let status = upstream.status();
    let wrapping = policy::wrapping(method, status, upstream.headers());
    if wrapping == Wrapping::Raw {
        return Ok(relay(upstream));
    }
    let too_large = || {
        ApiError::new(
            ErrorCode::UpstreamResponseTooLarge,
            format!(
                "The provider's answer is over {} MiB, too large to wrap in {{\"output\": …}}; \
                 send X-Paragon-Use-Raw-Response: 1 to receive it as the provider sends it.",
                WRAP_LIMIT >> 20
            ),
        )
    };
    if http_body::Body::size_hint(upstream.body())
        .exact()
        .is_some_and(|length| length > WRAP_LIMIT as u64)
    {
        return Err(too_large());
    }
    let (head, mut stream) = upstream.into_parts();
    let headers = head.headers;
    let mut body = Vec::new();
    while let Some(frame) = stream.frame().await {
        let frame = frame.map_err(|_| {
            ApiError::new(
                ErrorCode::UpstreamUnreachable,
                "The provider's answer broke off.",
            )
        })?;
        let Ok(chunk) = frame.into_data() else {
            // Trailers: not part of the answer wrapped.
            continue;
        };
        if body.len() + chunk.len() > WRAP_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let text = || {
        std::str::from_utf8(&body)
            .ok()
            .map(|text| Value::String(text.to_owned()))
    };
    let output = if body.is_empty() {
        Some(Value::Null)
    } else if wrapping == Wrapping::Json {
        serde_json::from_slice(&body).ok().or_else(text)
    } else {
        text()
    };
    let mut response = match output {
        Some(output) => {
            let mut response = Response::new(Body::from(
                serde_json::to_vec(&serde_json::json!({ "output": output }))
                    .map_err(|_| ApiError::internal())?,
            ));
            *response.headers_mut() = policy::wrapped_response_headers(&headers);
            response
        }
        // Not text after all: passed on as it came.
        None => {
            let mut response = Response::new(Body::from(body));
            *response.headers_mut() = policy::response_headers(&headers);
            response
        }
    };
    *response.status_mut() = status;
    Ok(response)
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
                        ErrorCode::InvalidParameter,
                        "The request body could not be read.",
                    )
                })?;
            Ok(ReplayableBody::kept(bytes))
        }
        _ => Ok(ReplayableBody::streaming(body)),
    }
}

/// The provider's answer, streamed back untouched but for hop-by-hop headers.
fn relay(upstream: AccountResponse) -> Response {
    let (head, body) = upstream.into_parts();
    let mut response = Response::new(Body::new(body));
    *response.status_mut() = head.status;
    *response.headers_mut() = policy::response_headers(&head.headers);
    response
}
