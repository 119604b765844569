//! The HTTP client every provider request goes through: explicit timeouts, a cap on response
//! bodies, no cross-origin redirects, and errors that never quote a URL or a body.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::redirect;
use url::Url;

use crate::error::{OAuthError, transport};

/// The most of a response body Patchbay reads. Token and account answers are a few kilobytes;
/// a provider (or something impersonating one) must not make a connection buffer gigabytes.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Redirects followed on `account` and `verify` requests, within one origin.
const MAX_REDIRECTS: usize = 5;

/// How long a provider may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To establish the connection (TCP and TLS).
    pub connect: Duration,
    /// For the whole exchange, from sending the request to the end of the body.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            total: Duration::from_secs(30),
        }
    }
}

/// The HTTP client could not be built (the TLS backend failed to initialise).
#[derive(Debug, thiserror::Error)]
#[error("could not build the HTTP client: {0}")]
pub struct BuildError(String);

/// Talks to providers. Cheap to clone; keep one per process so connections are pooled.
#[derive(Clone)]
pub struct Client {
    /// Token requests: redirects are never followed, since the request carries the client
    /// secret and a code or refresh token, and a token endpoint has no reason to redirect.
    pub(crate) token_http: reqwest::Client,
    /// `account` and `verify` requests: redirects within the same origin are followed, since
    /// some identity endpoints redirect to a canonical path; one to another origin is not,
    /// because the request carries credentials (a custom header or a query parameter that
    /// reqwest would not strip).
    pub(crate) api_http: reqwest::Client,
    timeouts: Timeouts,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// # Panics
    ///
    /// When the TLS backend cannot be initialised, as `reqwest::Client::new` does: nothing a
    /// provider or a request controls. Use [`Client::try_new`] to handle it.
    pub fn new(timeouts: Timeouts) -> Self {
        match Self::try_new(timeouts) {
            Ok(client) => client,
            Err(error) => panic!("{error}"),
        }
    }

    pub fn try_new(timeouts: Timeouts) -> Result<Self, BuildError> {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(timeouts.connect)
                .timeout(timeouts.total)
                .user_agent(concat!("Patchbay/", env!("CARGO_PKG_VERSION")))
        };
        let token_http = builder()
            .redirect(redirect::Policy::none())
            .build()
            .map_err(|error| BuildError(error.to_string()))?;
        let api_http = builder()
            .redirect(redirect::Policy::custom(|attempt| {
                let same_origin = attempt
                    .previous()
                    .first()
                    .is_some_and(|first| first.origin() == attempt.url().origin());
                if same_origin && attempt.previous().len() <= MAX_REDIRECTS {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()
            .map_err(|error| BuildError(error.to_string()))?;
        Ok(Self {
            token_http,
            api_http,
            timeouts,
        })
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }
}

/// A provider's answer, its body read (up to [`MAX_RESPONSE_BYTES`]).
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }
}

/// Sends a request and reads the whole (capped) body.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    url: &Url,
) -> Result<Answer, OAuthError> {
    let host = url.host_str().unwrap_or("the provider");
    let mut response = request
        .send()
        .await
        .map_err(|error| transport(error, host))?;
    let status = response.status().as_u16();
    let headers = std::mem::take(response.headers_mut());
    let too_large = || {
        OAuthError::InvalidResponse(format!(
            "the answer from {host} is larger than {MAX_RESPONSE_BYTES} bytes"
        ))
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| transport(error, host))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    tracing::debug!(host, status, bytes = body.len(), "provider answered");
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// `Retry-After` as seconds or as an HTTP date (RFC 9110 §10.2.3); a date in the past is no
/// wait at all.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}
