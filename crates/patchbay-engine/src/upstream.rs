//! Calling an integration's API as one account: the account's auth injected,
//! one forced refresh and one replay on a `401`, bounded retries where the
//! policy allows them. The Proxy API and workflow `request` steps both go
//! through [`call_as_account`], so they cannot drift apart.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use http_body_util::{BodyExt as _, Empty, Full};
use patchbay_config::ProviderAuth;
use patchbay_core::crypto::Keyring;
use patchbay_oauth::{AccountAuth, Injection};
use patchbay_proxy::{self as policy, Attempt};
use patchbay_store::{CredentialConfiguration, CredentialRecord};
use secrecy::ExposeSecret as _;
use serde_json::{Map, Value};
use url::Url;

use crate::account_client::{AccountBody, AccountClient, AccountResponse, Affinity, SendError};
use crate::error::{EngineError, EngineResult};
use crate::runtime::Integration;
use crate::secrets::{self, CredentialSecrets, SealedSettings};
use crate::tokens::{self, Tokens};

/// Bodies up to this size are kept so the request can be replayed once after
/// a refresh (upstream `401`) or retried; larger ones stream straight through.
pub const REPLAY_LIMIT: u64 = 1024 * 1024;
/// Attempts in all for a retryable request: the policy's ceiling.
const MAX_ATTEMPTS: u32 = policy::MAX_ATTEMPTS;

/// `raw_path` (as sent, still percent-encoded) and `raw_query` below
/// `credential`'s API base URL; anything that would leave it is
/// `400 proxy_url_not_allowed`.
pub fn api_url(
    integration: &Integration,
    credential: &CredentialRecord,
    raw_path: &str,
    raw_query: Option<&str>,
) -> EngineResult<Url> {
    let base = integration.api_bases.get_or_render(credential, || {
        let vars = &credential.account_vars;
        let ctx = tokens::template_context(vars);
        Ok(patchbay_oauth::api_base_url(
            integration.provider_of(vars),
            &ctx,
        )?)
    })?;
    policy::resolve(&base, raw_path, raw_query)
        .map_err(|rejected| EngineError::UrlNotAllowed(rejected.to_string()))
}

/// Calls integrations' APIs as accounts: the token lifecycle for their
/// credentials, the keyring for their API keys, one pooled client for the
/// calls (and a reqwest client for workflow `http` steps).
#[derive(Debug, Clone)]
pub struct Upstream {
    tokens: Tokens,
    keyring: Arc<Keyring>,
    accounts: AccountClient,
    client: reqwest::Client,
    timeout: Duration,
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
    /// The caller's connection's own upstream connection, for calls made
    /// while answering it.
    pub affinity: Option<&'a Affinity>,
}

/// How the selected account authenticates.
enum Authorization {
    OAuth {
        credential: Box<CredentialRecord>,
        injection: Arc<Injection>,
    },
    Fields(Arc<Injection>),
}

impl Upstream {
    pub fn new(tokens: Tokens, keyring: Arc<Keyring>, timeouts: patchbay_oauth::Timeouts) -> Self {
        let client = reqwest::Client::builder()
            // Credentials must not travel to another origin.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeouts.connect)
            .pool_max_idle_per_host(64)
            .build()
            // Building only fails when the TLS backend cannot start, which
            // nothing else in the process would survive either.
            .unwrap_or_default();
        Self {
            tokens,
            keyring,
            accounts: AccountClient::new(timeouts.connect),
            client,
            timeout: timeouts.total,
        }
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The pooled reqwest client that never follows redirects, for calls
    /// made without an account.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The secrets of `credential` and its integration as text (tokens, the
    /// fields of an API key, the client secret), for keeping them out of
    /// Task History. What cannot be opened is left out: nothing of it can
    /// reach a run either.
    /// The password values `configuration` keeps sealed; none when they cannot be opened
    /// (logged: a run then sees the settings without them).
    pub fn sealed_settings(
        &self,
        credential: &CredentialRecord,
        configuration: &CredentialConfiguration,
    ) -> SealedSettings {
        crate::configurations::open_sealed(&self.keyring, credential.project_id, configuration)
            .unwrap_or_else(|error| {
                tracing::error!(configuration = %configuration.id, %error, "sealed settings unreadable");
                SealedSettings::default()
            })
    }

    pub fn secret_values(
        &self,
        integration: &Integration,
        credential: &CredentialRecord,
    ) -> Vec<String> {
        let mut values = Vec::new();
        if let Some(sealed) = credential.secrets.as_deref()
            && let Ok(secrets) =
                CredentialSecrets::open(&self.keyring, credential.project_id, credential.id, sealed)
        {
            values.extend(secrets.access_token.clone());
            values.extend(secrets.refresh_token.clone());
            values.extend(
                secrets
                    .fields
                    .values()
                    .filter_map(|field| field.as_str().map(str::to_owned)),
            );
        }
        if let Some(sealed) = &integration.client_secret
            && let Ok(secret) = secrets::open_str(
                &self.keyring,
                credential.project_id,
                integration.id,
                secrets::CLIENT_SECRET,
                sealed,
            )
        {
            values.push(secret.as_str().to_owned());
        }
        values
    }

    /// The longest one provider request may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` to the integration's API as `credential`, and returns the
    /// provider's response, whatever its status.
    pub async fn call_as_account(
        &self,
        integration: &Integration,
        credential: CredentialRecord,
        request: AccountRequest<'_>,
    ) -> EngineResult<AccountResponse> {
        let AccountRequest {
            method,
            target,
            headers,
            body,
            affinity,
        } = request;
        let keyed = policy::has_idempotency_key(headers);
        let mut auth = self.authorization(integration, credential, false).await?;
        let mut refreshed = false;
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            let outcome = self
                .send(method, target, headers, &auth, body.take(), affinity)
                .await;
            let decision = match &outcome {
                Ok(response)
                    if response.status() == StatusCode::UNAUTHORIZED
                        && !refreshed
                        && body.replayable() =>
                {
                    if let Authorization::OAuth { credential, .. } = auth {
                        // The provider refused the token: one forced refresh, one replay.
                        refreshed = true;
                        auth = self.authorization(integration, *credential, true).await?;
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
        outcome.map_err(Failure::into_error)
    }

    /// How the selected account authenticates now: a usable token (renewed
    /// when due or forced) or its opened fields.
    async fn authorization(
        &self,
        integration: &Integration,
        credential: CredentialRecord,
        force_refresh: bool,
    ) -> EngineResult<Authorization> {
        let provider = integration.provider_of(&credential.account_vars);
        let rendered = &integration.rendered_auth;
        let context = |credential: &CredentialRecord| {
            let mut ctx = tokens::template_context(&credential.account_vars);
            if !matches!(
                provider.auth,
                ProviderAuth::OAuth2(_) | ProviderAuth::JwtBearer(_)
            ) {
                // `credentials.*`: the fields the user gave (an API key, a
                // client id and secret).
                ctx.credentials = self.open_fields(credential)?;
            }
            EngineResult::Ok(ctx)
        };
        match provider.auth {
            ProviderAuth::OAuth2(_)
            | ProviderAuth::OAuth2ClientCredentials(_)
            | ProviderAuth::JwtBearer(_) => {
                let token = self
                    .tokens
                    .access_token(integration, credential, force_refresh)
                    .await?;
                let injection = rendered.get_or_render(&token.credential, || {
                    let auth = AccountAuth::Bearer(token.token.expose_secret());
                    Ok(patchbay_oauth::auth_injection(
                        provider,
                        &auth,
                        &context(&token.credential)?,
                    )?)
                })?;
                Ok(Authorization::OAuth {
                    credential: Box::new(token.credential),
                    injection,
                })
            }
            ProviderAuth::ApiKey(_) | ProviderAuth::Basic(_) => {
                let auth = if matches!(provider.auth, ProviderAuth::Basic(_)) {
                    AccountAuth::Basic
                } else {
                    AccountAuth::ApiKey
                };
                let injection = rendered.get_or_render(&credential, || {
                    Ok(patchbay_oauth::auth_injection(
                        provider,
                        &auth,
                        &context(&credential)?,
                    )?)
                })?;
                Ok(Authorization::Fields(injection))
            }
        }
    }

    /// The fields the user typed in when connecting, opened.
    fn open_fields(&self, credential: &CredentialRecord) -> EngineResult<Map<String, Value>> {
        let sealed = credential
            .secrets
            .as_deref()
            .ok_or(EngineError::CredentialInvalid {
                credential_id: credential.id,
            })?;
        let secrets =
            CredentialSecrets::open(&self.keyring, credential.project_id, credential.id, sealed)
                .map_err(|_| EngineError::Internal("credential secrets cannot be opened"))?;
        Ok(secrets.fields)
    }

    async fn send(
        &self,
        method: &Method,
        target: &Url,
        headers: &HeaderMap,
        auth: &Authorization,
        body: AccountBody,
        affinity: Option<&Affinity>,
    ) -> Result<AccountResponse, Failure> {
        let injection = auth.injection();
        let uri = if injection.query.is_empty() {
            target.as_str().parse::<Uri>()
        } else {
            let mut url = target.clone();
            url.query_pairs_mut().extend_pairs(
                injection
                    .query
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
            url.as_str().parse::<Uri>()
        }
        // What the URL policy let through is ASCII a URI takes.
        .map_err(|_| Failure::Other)?;
        let mut request = http::Request::new(body);
        *request.method_mut() = method.clone();
        *request.uri_mut() = uri;
        let outgoing = request.headers_mut();
        outgoing.reserve(headers.len() + injection.headers.len());
        outgoing.extend(
            headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone())),
        );
        for (name, value) in &injection.headers {
            let mut value: HeaderValue = value.clone();
            value.set_sensitive(true);
            outgoing.insert(name.clone(), value);
        }
        match tokio::time::timeout(self.timeout, self.accounts.send(request, affinity)).await {
            Err(_) => Err(Failure::Timeout),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(SendError::Connect)) => Err(Failure::Connect),
            Ok(Err(SendError::Other)) => Err(Failure::Other),
        }
    }
}

impl Authorization {
    fn injection(&self) -> &Injection {
        match self {
            Self::OAuth { injection, .. } | Self::Fields(injection) => injection,
        }
    }
}

/// A request body that can be sent again if it was small enough to keep.
///
/// The caller decides which: a body small enough to keep (at most
/// [`REPLAY_LIMIT`]) is read first; anything larger streams through once.
pub struct ReplayableBody {
    kept: Option<Bytes>,
    streaming: std::sync::Mutex<Option<AccountBody>>,
}

impl std::fmt::Debug for ReplayableBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayableBody")
            .field("kept", &self.kept.as_ref().map(Bytes::len))
            .finish_non_exhaustive()
    }
}

impl ReplayableBody {
    /// A body streamed through once: a failed attempt cannot be replayed.
    pub fn streaming<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<crate::account_client::BoxError>,
    {
        Self {
            kept: None,
            streaming: std::sync::Mutex::new(Some(body.map_err(Into::into).boxed_unsync())),
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
    fn take(&self) -> AccountBody {
        if let Some(bytes) = &self.kept {
            return Full::new(bytes.clone())
                .map_err(|never| match never {})
                .boxed_unsync();
        }
        let stream = self
            .streaming
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        stream.unwrap_or_else(|| Empty::new().map_err(|never| match never {}).boxed_unsync())
    }
}

/// Why an attempt got no response.
#[derive(Debug)]
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

    pub fn into_error(self) -> EngineError {
        match self {
            Self::Timeout => EngineError::UpstreamTimeout,
            Self::Connect | Self::Other => EngineError::UpstreamUnreachable,
        }
    }

    /// Classifies a failed `send` of a reqwest client.
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
