//! Responses shared by the sandbox's endpoints: OAuth-style JSON errors
//! (`{"error", "error_description"}`, as providers answer, not Patchbay's
//! `ErrorBody`) and HTML pages with headers that keep them self-contained.

use std::sync::LazyLock;

use axum::Json;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, PRAGMA, REFERRER_POLICY, RETRY_AFTER,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::consent_page::{self, STYLE};
use super::failure::Outage;

/// A JSON error that no cache keeps (RFC 6749 §5.1 asks it of the token
/// endpoint; the sandbox does it everywhere).
pub(super) fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    no_store(
        (
            status,
            Json(json!({ "error": error, "error_description": description })),
        )
            .into_response(),
    )
}

/// `Cache-Control: no-store` and `Pragma: no-cache`.
pub(super) fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl Outage {
    /// The JSON error an API or token endpoint answers.
    pub(super) fn json(self) -> Response {
        let (status, error, mode, title) = self.parts();
        self.add_retry_after(json_error(
            status,
            error,
            &format!("{title} (sandbox failure mode {mode})"),
        ))
    }

    /// The page the authorize endpoint shows.
    pub(super) fn page(self) -> Response {
        let (status, _, mode, title) = self.parts();
        let message = format!(
            "The sandbox provider answers {} on purpose (failure mode {mode}).",
            status.as_u16()
        );
        self.add_retry_after(html(status, consent_page::error(title, &message)))
    }

    /// Status, OAuth error code, failure mode and a title.
    fn parts(self) -> (StatusCode, &'static str, &'static str, &'static str) {
        match self {
            Self::ServerError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "error_500",
                "Internal error",
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "error_503",
                "Temporarily unavailable",
            ),
            Self::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "rate_limit",
                "Too many requests",
            ),
        }
    }

    fn add_retry_after(self, response: Response) -> Response {
        match self {
            Self::ServerError => response,
            Self::Unavailable | Self::RateLimited => with_retry_after(response),
        }
    }
}

fn with_retry_after(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// The content security policy of every page: nothing may load from
/// anywhere, the one inline stylesheet is allowed by its hash, and no site
/// may frame the consent page (clickjacking).
static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

/// An HTML page. Its query string may carry `state` and a PKCE challenge, so
/// it is neither cached nor sent on as a referrer.
pub(super) fn html(status: StatusCode, body: String) -> Response {
    let mut response = no_store((status, body).into_response());
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CONTENT_SECURITY_POLICY, CSP.clone());
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

pub(super) async fn not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such sandbox endpoint",
    )
}

pub(super) async fn method_not_allowed() -> Response {
    json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This sandbox endpoint does not accept that method",
    )
}
