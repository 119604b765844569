//! Calling an integration's API as one account: the account's auth injected,
//! one forced refresh and one replay on a `401`, bounded retries where the
//! policy allows them. The Proxy API and workflow `request` steps both go
//! through [`call_as_account`], so they cannot drift apart.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use patchbay_api::ErrorCode;
use patchbay_config::ProviderAuth;
use patchbay_oauth::{AccountAuth, Injection};
use patchbay_proxy::{self as policy, Attempt};
use patchbay_store::CredentialRecord;
use secrecy::ExposeSecret as _;
use url::Url;

use crate::error::ApiError;
use crate::runtime::Integration;
use crate::secrets::CredentialSecrets;
use crate::state::AppState;
use crate::tokens;

/// Bodies up to this size are kept so the request can be replayed once after
/// a refresh (upstream `401`) or retried; larger ones stream straight through.
pub const REPLAY_LIMIT: u64 = 1024 * 1024;
/// Attempts in all for a retryable request: the policy's ceiling.
const MAX_ATTEMPTS: u32 = policy::MAX_ATTEMPTS;

/// `raw_path` (as sent, still percent-encoded) and `raw_query` below the
/// account's API base URL; anything that would leave it is
/// `400 proxy_url_not_allowed`.
pub fn api_url(
    integration: &Integration,
    account_vars: &serde_json::Value,
    raw_path: &str,
    raw_query: Option<&str>,
) -> Result<Url, ApiError> {
    let ctx = tokens::template_context(account_vars);
    let base = patchbay_oauth::api_base_url(&integration.config.provider, &ctx)
        .map_err(|err| crate::handlers::install::provider_error(&err))?;
    policy::resolve(&base, raw_path, raw_query).map_err(|rejected| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ProxyUrlNotAllowed,
            rejected.to_string(),
        )
    })
}

/// One request to send as an account.
#[derive(Debug)]
pub struct AccountRequest<'a> {
    pub method: &'a Method,
    pub target: &'a Url,
    /// Already filtered: never the caller's `Authorization`, `Cookie` or
    /// `X-Paragon-*` headers.
    pub headers: &'a HeaderMap,
    pub body: &'a ReplayableBody,
}

/// Sends `request` to the integration's API as `credential`, and returns the
/// provider's response, whatever its status.
pub async fn call_as_account(
    state: &AppState,
    integration: &Integration,
    credential: CredentialRecord,
    request: AccountRequest<'_>,
) -> Result<reqwest::Response, ApiError> {
    let AccountRequest {
        method,
        target,
        headers,
        body,
    } = request;
    let keyed = policy::has_idempotency_key(headers);
    let mut auth = Authorization::of(state, integration, credential, false).await?;
    let mut refreshed = false;
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        let outcome = send(state, method, target, headers, &auth, body.take()).await;
        let decision = match &outcome {
            Ok(response)
                if response.status() == StatusCode::UNAUTHORIZED
                    && !refreshed
                    && body.replayable() =>
            {
                if let Authorization::OAuth { credential, .. } = auth {
                    // The provider refused the token: one forced refresh, one replay.
                    refreshed = true;
                    auth = Authorization::of(state, integration, *credential, true).await?;
                    continue;
                }
                None
            }
            Ok(response) => policy::retry_decision(
                method,
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
            Err(failure) => {
                policy::retry_decision(method, keyed, failure.attempt(), attempt, MAX_ATTEMPTS)
            }
        };
        match decision {
            // A streamed body is gone after one attempt.
            Some(wait) if body.replayable() => tokio::time::sleep(wait).await,
            _ => break outcome,
        }
    };
    outcome.map_err(Failure::into_api_error)
}

/// How the selected account authenticates.
enum Authorization {
    OAuth {
        credential: Box<CredentialRecord>,
        injection: Injection,
    },
    Fields(Injection),
}

impl Authorization {
    async fn of(
        state: &AppState,
        integration: &Integration,
        credential: CredentialRecord,
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
#[derive(Debug)]
pub struct ReplayableBody {
    kept: Option<Bytes>,
    streaming: std::sync::Mutex<Option<Body>>,
}

impl ReplayableBody {
    /// Keeps the body when its size is known to be small: a `Content-Length`
    /// within the limit, or no body at all. Chunked bodies stream.
    pub async fn new(body: Body) -> Result<Self, ApiError> {
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
                Ok(Self::kept(bytes))
            }
            _ => Ok(Self {
                kept: None,
                streaming: std::sync::Mutex::new(Some(body)),
            }),
        }
    }

    /// A body already in memory: always replayable.
    pub fn kept(bytes: Bytes) -> Self {
        Self {
            kept: Some(bytes),
            streaming: std::sync::Mutex::new(None),
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

/// Why an attempt got no response.
pub enum Failure {
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

    pub fn into_api_error(self) -> ApiError {
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

    /// Classifies a failed `send` of the proxy's HTTP client.
    pub fn of(err: &reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::Timeout
        } else if err.is_connect() {
            Self::Connect
        } else {
            Self::Other
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
        Ok(Err(err)) => Err(Failure::of(&err)),
    }
}
