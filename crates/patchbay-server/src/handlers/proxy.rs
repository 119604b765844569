//! The Proxy API (SPEC §5): any request to the integration's API, as the
//! selected account, streamed both ways.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use futures_util::TryStreamExt as _;
use patchbay_api::ErrorCode;
use patchbay_config::ProviderAuth;
use patchbay_core::selection::Operation;
use patchbay_oauth::{AccountAuth, Injection};
use patchbay_proxy::{self as policy, Attempt};
use secrecy::ExposeSecret as _;
use url::Url;

use crate::accounts::{integration_not_found, selected_credential};
use crate::auth::TokenUser;
use crate::error::ApiError;
use crate::runtime::{Integration, ProjectRuntime};
use crate::secrets::CredentialSecrets;
use crate::state::AppState;
use crate::tokens;

/// Bodies up to this size are kept so the request can be replayed once after
/// a refresh (upstream `401`) or retried; larger ones stream straight through.
const REPLAY_LIMIT: u64 = 1024 * 1024;
/// Attempts in all for a retryable request: the policy's ceiling.
const MAX_ATTEMPTS: u32 = policy::MAX_ATTEMPTS;

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
    user: TokenUser,
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
    let keyed = policy::has_idempotency_key(&parts.headers);

    let mut auth = Authorization::of(&state, integration, credential, false).await?;
    let mut refreshed = false;
    let mut attempt = 0;
    let response = loop {
        attempt += 1;
        let outcome = send(&state, &parts.method, &target, &headers, &auth, body.take()).await;
        let decision = match &outcome {
            Ok(response)
                if response.status() == StatusCode::UNAUTHORIZED
                    && !refreshed
                    && body.replayable() =>
            {
                if let Authorization::OAuth { credential, .. } = auth {
                    // The provider refused the token: one forced refresh, one replay.
                    refreshed = true;
                    auth = Authorization::of(&state, integration, *credential, true).await?;
                    continue;
                }
                None
            }
            Ok(response) => policy::retry_decision(
                &parts.method,
                keyed,
                Attempt::Response {
                    status: response.status(),
                    retry_after: response
                        .headers()
                        .get(header::RETRY_AFTER)
                        .and_then(|v| policy::retry_after(v, std::time::SystemTime::now())),
                },
                attempt,
                MAX_ATTEMPTS,
            ),
            Err(failure) => policy::retry_decision(
                &parts.method,
                keyed,
                failure.attempt(),
                attempt,
                MAX_ATTEMPTS,
            ),
        };
        match decision {
            // A streamed body is gone after one attempt.
            Some(wait) if body.replayable() => tokio::time::sleep(wait).await,
            _ => break outcome,
        }
    };
    let type_name = integration.config.type_name.as_str();
    match response {
        Ok(upstream) => {
            state
                .metrics
                .observe_proxy(type_name, upstream.status().as_u16(), started.elapsed());
            Ok(relay(upstream))
        }
        Err(failure) => {
            let error = failure.into_api_error();
            state
                .metrics
                .observe_proxy(type_name, error.status.as_u16(), started.elapsed());
            Err(error)
        }
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
    let ctx = tokens::template_context(account_vars);
    let base = patchbay_oauth::api_base_url(&integration.config.provider, &ctx)
        .map_err(|err| crate::handlers::install::provider_error(&err))?;
    policy::resolve(&base, raw_path, uri.query()).map_err(|rejected| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ProxyUrlNotAllowed,
            rejected.to_string(),
        )
    })
}

/// How the selected account authenticates.
enum Authorization {
    OAuth {
        credential: Box<patchbay_store::CredentialRecord>,
        injection: Injection,
    },
    Fields(Injection),
}

impl Authorization {
    async fn of(
        state: &AppState,
        integration: &Integration,
        credential: patchbay_store::CredentialRecord,
        force_refresh: bool,
    ) -> Result<Self, ApiError> {
        let provider = &integration.config.provider;
        let mut ctx = tokens::template_context(&credential.account_vars);
        let injection_error =
            |err: patchbay_oauth::OAuthError| crate::handlers::install::provider_error(&err);
        match provider.auth {
            ProviderAuth::OAuth2(_) => {
                let token =
                    tokens::access_token(state, integration, credential, force_refresh).await?;
                let injection = patchbay_oauth::auth_injection(
                    provider,
                    &AccountAuth::Bearer(token.token.expose_secret()),
                    &ctx,
                )
                .map_err(injection_error)?;
                Ok(Self::OAuth {
                    credential: Box::new(token.credential),
                    injection,
                })
            }
            ProviderAuth::ApiKey(_) | ProviderAuth::Basic(_) => {
                let sealed = credential
                    .secrets
                    .as_deref()
                    .ok_or_else(|| tokens::credential_invalid(&credential))?;
                let secrets = CredentialSecrets::open(
                    &state.keyring,
                    credential.project_id,
                    credential.id,
                    sealed,
                )
                .map_err(|_| ApiError::internal())?;
                ctx.credentials = secrets.fields.clone();
                let auth = if matches!(provider.auth, ProviderAuth::Basic(_)) {
                    AccountAuth::Basic
                } else {
                    AccountAuth::ApiKey
                };
                Ok(Self::Fields(
                    patchbay_oauth::auth_injection(provider, &auth, &ctx)
                        .map_err(injection_error)?,
                ))
            }
        }
    }

    fn injection(&self) -> &Injection {
        match self {
            Self::OAuth { injection, .. } | Self::Fields(injection) => injection,
        }
    }
}

/// A request body that can be sent again if it was small enough to keep.
struct ReplayableBody {
    kept: Option<Bytes>,
    streaming: std::sync::Mutex<Option<Body>>,
}

impl ReplayableBody {
    /// Keeps the body when its size is known to be small: a `Content-Length`
    /// within the limit, or no body at all. Chunked bodies stream.
    async fn new(body: Body) -> Result<Self, ApiError> {
        let length = axum::body::HttpBody::size_hint(&body).upper();
        match length {
            Some(length) if length <= REPLAY_LIMIT => {
                let bytes = axum::body::to_bytes(body, REPLAY_LIMIT as usize)
                    .await
                    .map_err(|_| {
                        ApiError::new(
                            StatusCode::BAD_REQUEST,
                            ErrorCode::InvalidParameter,
                            "The request body could not be read.",
                        )
                    })?;
                Ok(Self {
                    kept: Some(bytes),
                    streaming: std::sync::Mutex::new(None),
                })
            }
            _ => Ok(Self {
                kept: None,
                streaming: std::sync::Mutex::new(Some(body)),
            }),
        }
    }

    fn replayable(&self) -> bool {
        self.kept.is_some()
    }

    /// The body for one attempt: the kept bytes again, or the stream once.
    fn take(&self) -> reqwest::Body {
        if let Some(bytes) = &self.kept {
            return reqwest::Body::from(bytes.clone());
        }
        let stream = self
            .streaming
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match stream {
            Some(body) => reqwest::Body::wrap_stream(body.into_data_stream()),
            None => reqwest::Body::from(Bytes::new()),
        }
    }
}

enum Failure {
    Connect,
    Timeout,
    Other,
}

impl Failure {
    fn attempt(&self) -> Attempt {
        match self {
            Self::Connect => Attempt::ConnectError,
            Self::Timeout => Attempt::Timeout,
            Self::Other => Attempt::OtherError,
        }
    }

    fn into_api_error(self) -> ApiError {
        match self {
            Self::Timeout => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                ErrorCode::UpstreamTimeout,
                "The provider did not answer in time.",
            ),
            Self::Connect | Self::Other => ApiError::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::UpstreamUnreachable,
                "The provider could not be reached.",
            ),
        }
    }
}

async fn send(
    state: &AppState,
    method: &Method,
    target: &Url,
    headers: &HeaderMap,
    auth: &Authorization,
    body: reqwest::Body,
) -> Result<reqwest::Response, Failure> {
    let injection = auth.injection();
    let mut url = target.clone();
    if !injection.query.is_empty() {
        url.query_pairs_mut().extend_pairs(
            injection
                .query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
    }
    let mut outgoing = headers.clone();
    for (name, value) in &injection.headers {
        let mut value: HeaderValue = value.clone();
        value.set_sensitive(true);
        outgoing.insert(name.clone(), value);
    }
    let request = state
        .proxy_client
        .request(method.clone(), url)
        .headers(outgoing)
        .body(body);
    match tokio::time::timeout(state.config.provider_timeouts.total, request.send()).await {
        Err(_) => Err(Failure::Timeout),
        Ok(Ok(response)) => Ok(response),
        Ok(Err(err)) if err.is_timeout() => Err(Failure::Timeout),
        Ok(Err(err)) if err.is_connect() => Err(Failure::Connect),
        Ok(Err(_)) => Err(Failure::Other),
    }
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
