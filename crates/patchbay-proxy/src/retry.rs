//! When a proxied request is sent again.
//!
//! A retry must never make a request happen twice that the developer sent once: only methods
//! that are idempotent by definition (RFC 9110 §9.2.2), or requests carrying an
//! `Idempotency-Key` the provider deduplicates on, are retried. And only on answers that say
//! "not processed, try later" (`429`, `503`) or when the connection was never made; a timeout
//! or a `502`/`504` may hide a request the provider did process, so those go back to the
//! developer as they are.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, Method, StatusCode};

/// The most attempts (the first one included) any request gets, whatever the configuration
/// asks: retries multiply the load on a provider that is already struggling.
pub const MAX_ATTEMPTS: u32 = 5;

/// The longest `Retry-After` Patchbay waits for. A provider asking for longer gets its answer
/// passed back to the developer, `Retry-After` included, instead of a retry that would come too
/// early or hold the developer's request open for minutes.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(10);

/// The backoff before the first retry; it doubles with each attempt, up to [`BACKOFF_MAX`].
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The provider answered. `retry_after` is its `Retry-After` already resolved against the
    /// clock by [`retry_after`], if it sent one that parses.
    Response {
        status: StatusCode,
        retry_after: Option<Duration>,
    },
    /// The connection (TCP or TLS) could not be established: nothing was sent.
    ConnectError,
    /// The connect or total timeout struck; the provider may have processed the request.
    Timeout,
    /// Any other failure after the request may have been sent (connection reset, bad answer).
    OtherError,
}

/// GET, HEAD, OPTIONS, PUT and DELETE. TRACE is idempotent too, but never worth a retry, and a
/// proxy has no business sending it twice.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    )
}

/// Whether the developer's request carries a non-empty `Idempotency-Key`.
pub fn has_idempotency_key(headers: &HeaderMap) -> bool {
    headers
        .get("idempotency-key")
        .is_some_and(|value| !value.as_bytes().iter().all(u8::is_ascii_whitespace))
}

/// How long to wait before trying again, or `None` to give the developer this attempt's
/// outcome. `attempt` counts the attempts made so far (1 after the first), `max` the attempts
/// allowed in all (at most [`MAX_ATTEMPTS`]; 0 or 1 means never retry).
///
/// `429` and `503` wait what `Retry-After` says (never longer than [`RETRY_AFTER_CAP`]: a longer
/// wait is no retry at all), or back off like a connect error when it is absent.
pub fn retry_decision(
    method: &Method,
    has_idempotency_key: bool,
    status_or_error: Attempt,
    attempt: u32,
    max: u32,
) -> Option<Duration> {
    if !(is_idempotent(method) || has_idempotency_key) {
        return None;
    }
    if attempt >= max.min(MAX_ATTEMPTS) {
        return None;
    }
    match status_or_error {
        Attempt::Response {
            status: StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE,
            retry_after: Some(wait),
        } => (wait <= RETRY_AFTER_CAP).then_some(wait),
        Attempt::Response {
            status: StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE,
            retry_after: None,
        }
        | Attempt::ConnectError => Some(backoff(attempt, rand::random())),
        Attempt::Response { .. } | Attempt::Timeout | Attempt::OtherError => None,
    }
}

/// Exponential backoff with "equal jitter": after attempt `n` the ceiling is
/// `BACKOFF_BASE · 2^(n-1)`, capped at `BACKOFF_MAX`, and the wait is half of it plus
/// `jitter` (in `[0, 1)`, clamped) times the other half — never zero, so retries cannot
/// hammer the provider, and spread out, so replicas that failed together do not retry
/// together.
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    let ceiling = BACKOFF_BASE.saturating_mul(1 << doublings).min(BACKOFF_MAX);
    let half = ceiling / 2;
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    half + half.mul_f64(jitter)
}

/// A `Retry-After` value (RFC 9110 §10.2.3) as a wait from `now`: delay-seconds, or an HTTP
/// date (a date in the past is no wait). `None` when it is neither; an absurdly large number of
/// seconds saturates rather than failing, so it still means "not soon".
pub fn retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}
