//! What can go wrong talking to a provider, and whether trying again can help.
//!
//! The distinction matters to the token lifecycle (docs/api.md): a definitive refresh failure marks
//! the credential `INVALID` and asks the user to reconnect, a transient one is counted and
//! retried later. Messages never include a token, a secret or a response body.

use std::time::Duration;

use crate::template::TemplateError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// An RFC 6749 §5.2 error response, also when it comes with a `200` (Slack's
    /// `{"ok": false, "error": ...}`, GitHub's `error=bad_verification_code`).
    #[error(
        "the provider answered {status} with error `{error}`{}",
        describe(description)
    )]
    Provider {
        status: u16,
        error: String,
        /// The provider's `error_description`, shortened, with anything we sent it removed.
        description: Option<String>,
        retry_after: Option<Duration>,
    },
    /// A non-success status whose body is not an OAuth error (a gateway's HTML page, a bare
    /// `429`, a redirect that was not followed).
    #[error("the provider answered with HTTP status {status}")]
    UnexpectedStatus {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The provider refused the credentials on a `verify` or `account` request.
    #[error("the provider rejected the credentials (HTTP status {status})")]
    Rejected { status: u16 },
    /// No connection could be made or it broke off; the detail names the host, never the URL
    /// (whose query may hold an API key).
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the provider did not answer in time")]
    Timeout,
    /// A success answer Patchbay cannot use: no access token, not JSON, too large.
    #[error("the provider's answer could not be used: {0}")]
    InvalidResponse(String),
    /// The provider definition could not be applied: a template failed, or rendered a URL or
    /// header value that is not one.
    #[error("the provider definition could not be applied: {0}")]
    Template(String),
    /// The `account` step gave no id (or the definition has no `account` step).
    #[error("the connected account could not be identified: {0}")]
    AccountNotIdentified(String),
    /// The account step lists several items to choose among (`account.choose`) and none was
    /// chosen.
    #[error("a {} must be chosen: {}", .0.title, .0.labels())]
    ChoiceRequired(Choices),
    /// The item chosen is not among those the account step lists.
    #[error("`{value}` is not a {title} of this account")]
    NotAChoice { title: String, value: String },
    /// A service account's key file cannot be used (`jwt_bearer`).
    #[error("{0}")]
    KeyFile(#[from] KeyFileError),
    /// The caller passed credentials of another kind than the provider's `auth.type`.
    #[error("the provider uses {expected} credentials, not {given}")]
    AuthMismatch {
        expected: &'static str,
        given: &'static str,
    },
}

/// What is wrong with a key file, in words the end user who gave it can act on. Never carries
/// any part of the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    #[error("the key file is not JSON ({0})")]
    NotJson(String),
    #[error("the key file is not a JSON object")]
    NotAnObject,
    #[error("the key file has no `{0}`")]
    Missing(&'static str),
    #[error("the key file's `{0}` is not a non-empty string")]
    NotText(&'static str),
    #[error("the key file's `private_key` is not an RSA private key in PEM form")]
    BadPrivateKey,
    #[error("the key file is for the token endpoint {given}, and this integration uses {expected}")]
    OtherTokenEndpoint { given: String, expected: String },
}

/// What the user chooses among once authorized: `title` (`Site`) and the items, in the
/// provider's order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Choices {
    pub title: String,
    pub options: Vec<ChoiceOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChoiceOption {
    /// What is recorded and sent back: `choose.value` rendered.
    pub value: String,
    /// What the user reads: `choose.label` rendered.
    pub label: String,
}

impl Choices {
    fn labels(&self) -> String {
        let labels: Vec<&str> = self.options.iter().map(|o| o.label.as_str()).collect();
        labels.join(", ")
    }
}

fn describe(description: &Option<String>) -> String {
    description
        .as_deref()
        .map_or_else(String::new, |text| format!(": {text}"))
}

/// Error codes that say the grant, the client or the consent is gone for good: RFC 6749's,
/// plus the ones GitHub and Slack use in their `200` error bodies.
const DEFINITIVE: &[&str] = &[
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "access_denied",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_request",
    // GitHub
    "bad_verification_code",
    "bad_refresh_token",
    "incorrect_client_credentials",
    "unverified_user_email",
    // Slack
    "invalid_code",
    "code_already_used",
    "invalid_refresh_token",
    "invalid_client_id",
    "bad_client_secret",
    "bad_redirect_uri",
    "token_revoked",
    "token_expired",
    "invalid_grant_type",
    "account_inactive",
    "team_not_found",
];

/// Error codes that say "not now": the provider is overloaded or broken, the grant is fine.
const TRANSIENT: &[&str] = &[
    "temporarily_unavailable",
    "server_error",
    "slow_down",
    // Slack
    "ratelimited",
    "rate_limited",
    "service_unavailable",
    "fatal_error",
    "internal_error",
    "request_timeout",
];

impl OAuthError {
    /// Whether trying the same request again cannot succeed: the grant was revoked or used,
    /// the client is misconfigured, the user refused, the credentials were rejected. Network
    /// failures, timeouts, `5xx` and `429` are transient.
    pub fn is_definitive(&self) -> bool {
        match self {
            Self::Provider { status, error, .. } => {
                if *status == 429 || *status >= 500 || TRANSIENT.contains(&error.as_str()) {
                    false
                } else if DEFINITIVE.contains(&error.as_str()) {
                    true
                } else {
                    // An unknown code: trust the status. A token endpoint answers 400 or 401
                    // when the request itself is refused (RFC 6749 §5.2); a `200` error body
                    // (Slack, GitHub) is the same refusal with another status.
                    matches!(status, 200..=299 | 400 | 401)
                }
            }
            Self::UnexpectedStatus { status, .. } => matches!(status, 400 | 401),
            // A key that cannot sign, or is for another endpoint, never will be.
            Self::Rejected { .. }
            | Self::AccountNotIdentified(_)
            | Self::KeyFile(_)
            | Self::ChoiceRequired(_)
            | Self::NotAChoice { .. } => true,
            // The definition or our parsing is at fault, not the account: fixing the
            // configuration must not require every user to reconnect.
            Self::Template(_) | Self::InvalidResponse(_) | Self::AuthMismatch { .. } => false,
            Self::Unreachable(_) | Self::Timeout => false,
        }
    }

    /// How long the provider asked us to wait (`Retry-After` on a `429` or `503`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Provider { retry_after, .. } | Self::UnexpectedStatus { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }
}

impl From<TemplateError> for OAuthError {
    fn from(error: TemplateError) -> Self {
        Self::Template(error.to_string())
    }
}

/// Turns a reqwest failure into an error that names the host but never the URL: reqwest's own
/// messages include the full URL, and a query string may carry an API key.
pub(crate) fn transport(error: reqwest::Error, host: &str) -> OAuthError {
    if error.is_timeout() {
        return OAuthError::Timeout;
    }
    let error = error.without_url();
    // The innermost cause is the useful part ("Connection refused (os error 111)"); the outer
    // layers only say "error sending request".
    let mut cause: &dyn std::error::Error = &error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    if error.is_connect() {
        OAuthError::Unreachable(format!("could not connect to {host}: {cause}"))
    } else if error.is_builder() {
        OAuthError::Template(format!("could not build the request to {host}: {cause}"))
    } else {
        OAuthError::Unreachable(format!("the request to {host} failed: {cause}"))
    }
}
