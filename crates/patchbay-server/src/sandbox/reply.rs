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

use super::consent_page::STYLE;

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

/// `429` with `Retry-After: 1`, in JSON.
pub(super) fn json_rate_limited() -> Response {
    with_retry_after(json_error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many requests (sandbox failure mode rate_limit)",
    ))
}

/// `500`, in JSON.
pub(super) fn json_server_error() -> Response {
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "Internal error (sandbox failure mode error_500)",
    )
}

pub(super) fn with_retry_after(mut response: Response) -> Response {
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
