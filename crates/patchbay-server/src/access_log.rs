//! What every request leaves behind, whichever way it came in (the router or
//! the Proxy API's fast path): its id, the span its log lines carry, and one
//! access-log line when it is answered.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use uuid::Uuid;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id: the caller's `X-Request-Id`, else a new UUID, set on
/// the request so that its handler and its logs see the same one.
pub fn request_id(headers: &mut HeaderMap) -> HeaderValue {
    if let Some(id) = headers.get(&REQUEST_ID) {
        return id.clone();
    }
    let mut buffer = Uuid::encode_buffer();
    let id = HeaderValue::from_str(Uuid::new_v4().hyphenated().encode_lower(&mut buffer))
        .expect("a UUID is a valid header value");
    headers.insert(REQUEST_ID, id.clone());
    id
}

/// The span every request's logs carry. Only the path is logged: query
/// strings may hold tokens.
pub fn span(method: &Method, path: &str, request_id: Option<&HeaderValue>) -> tracing::Span {
    tracing::info_span!(
        "request",
        %method,
        path = %path,
        request_id = %request_id.and_then(|id| id.to_str().ok()).unwrap_or(""),
    )
}

/// The access-log line, inside the request's span.
pub fn finished(status: StatusCode, latency: Duration) {
    tracing::info!(
        latency_us = latency.as_micros() as u64,
        status = status.as_u16(),
        "finished processing request"
    );
}
