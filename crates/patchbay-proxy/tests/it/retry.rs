//! When a proxied request is tried again, and how long Patchbay waits first.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use patchbay_proxy::{
    Attempt, MAX_ATTEMPTS, RETRY_AFTER_CAP, backoff, has_idempotency_key, is_idempotent,
    retry_after, retry_decision,
};

/// What a decision must be.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// No retry.
    Never,
    /// A retry after exactly this long (a `Retry-After`).
    After(Duration),
    /// A retry after a backoff in `[low, high]`.
    Between(Duration, Duration),
}

use Expect::*;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

fn response(status: u16, retry_after: Option<Duration>) -> Attempt {
    Attempt::Response {
        status: StatusCode::from_u16(status).unwrap(),
        retry_after,
    }
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

/// (method, has an Idempotency-Key, how the attempt ended, attempts made, attempts allowed,
/// decision)
fn table() -> Vec<(&'static str, bool, Attempt, u32, u32, Expect)> {
    vec![
        // 429 and 503 with Retry-After: exactly that long, up to the cap.
        (
            "GET",
            false,
            response(429, Some(secs(3))),
            1,
            3,
            After(secs(3)),
        ),
        (
            "GET",
            false,
            response(503, Some(secs(1))),
            1,
            3,
            After(secs(1)),
        ),
        (
            "GET",
            false,
            response(429, Some(Duration::ZERO)),
            1,
            3,
            After(Duration::ZERO),
        ),
        (
            "GET",
            false,
            response(429, Some(secs(10))),
            1,
            3,
            After(secs(10)),
        ),
        ("GET", false, response(429, Some(ms(10_001))), 1, 3, Never),
        ("GET", false, response(503, Some(secs(3600))), 1, 3, Never),
        (
            "GET",
            false,
            response(429, Some(Duration::MAX)),
            1,
            3,
            Never,
        ),
        // 429 and 503 without it, and connect errors: exponential backoff with jitter.
        (
            "GET",
            false,
            response(429, None),
            1,
            3,
            Between(ms(100), ms(200)),
        ),
        (
            "GET",
            false,
            response(503, None),
            2,
            3,
            Between(ms(200), ms(400)),
        ),
        (
            "GET",
            false,
            Attempt::ConnectError,
            1,
            5,
            Between(ms(100), ms(200)),
        ),
        (
            "GET",
            false,
            Attempt::ConnectError,
            2,
            5,
            Between(ms(200), ms(400)),
        ),
        (
            "GET",
            false,
            Attempt::ConnectError,
            3,
            5,
            Between(ms(400), ms(800)),
        ),
        (
            "GET",
            false,
            Attempt::ConnectError,
            4,
            5,
            Between(ms(800), ms(1600)),
        ),
        // Every idempotent method.
        (
            "HEAD",
            false,
            response(503, Some(secs(2))),
            1,
            3,
            After(secs(2)),
        ),
        (
            "OPTIONS",
            false,
            response(503, Some(secs(2))),
            1,
            3,
            After(secs(2)),
        ),
        (
            "PUT",
            false,
            response(429, Some(secs(2))),
            1,
            3,
            After(secs(2)),
        ),
        (
            "DELETE",
            false,
            Attempt::ConnectError,
            1,
            3,
            Between(ms(100), ms(200)),
        ),
        // Anything else only with an Idempotency-Key.
        ("POST", false, response(429, Some(secs(1))), 1, 3, Never),
        ("POST", false, response(503, None), 1, 3, Never),
        ("POST", false, Attempt::ConnectError, 1, 3, Never),
        ("PATCH", false, Attempt::ConnectError, 1, 3, Never),
        (
            "POST",
            true,
            response(429, Some(secs(1))),
            1,
            3,
            After(secs(1)),
        ),
        (
            "POST",
            true,
            Attempt::ConnectError,
            1,
            3,
            Between(ms(100), ms(200)),
        ),
        (
            "PATCH",
            true,
            response(503, None),
            2,
            3,
            Between(ms(200), ms(400)),
        ),
        ("TRACE", false, Attempt::ConnectError, 1, 3, Never),
        ("CONNECT", false, Attempt::ConnectError, 1, 3, Never),
        ("PROPFIND", false, response(503, Some(secs(1))), 1, 3, Never),
        // Other outcomes: the request may have been processed, or retrying cannot help.
        ("GET", false, response(200, None), 1, 3, Never),
        ("GET", false, response(404, None), 1, 3, Never),
        ("GET", false, response(500, None), 1, 3, Never),
        ("GET", false, response(502, None), 1, 3, Never),
        ("GET", false, response(504, Some(secs(1))), 1, 3, Never),
        ("GET", false, response(401, Some(secs(1))), 1, 3, Never),
        ("GET", false, Attempt::Timeout, 1, 3, Never),
        ("GET", false, Attempt::OtherError, 1, 3, Never),
        ("POST", true, Attempt::Timeout, 1, 3, Never),
        // Bounded: `max` attempts in all, never more than MAX_ATTEMPTS.
        ("GET", false, Attempt::ConnectError, 3, 3, Never),
        ("GET", false, Attempt::ConnectError, 4, 3, Never),
        ("GET", false, response(429, Some(secs(1))), 2, 2, Never),
        ("GET", false, Attempt::ConnectError, 1, 1, Never),
        ("GET", false, Attempt::ConnectError, 1, 0, Never),
        ("GET", false, Attempt::ConnectError, 0, 0, Never),
        (
            "GET",
            false,
            Attempt::ConnectError,
            4,
            100,
            Between(ms(800), ms(1600)),
        ),
        ("GET", false, Attempt::ConnectError, 5, 100, Never),
        (
            "GET",
            false,
            Attempt::ConnectError,
            u32::MAX,
            u32::MAX,
            Never,
        ),
    ]
}

#[test]
fn retry_decisions() {
    let mut wrong = Vec::new();
    for (name, key, outcome, attempt, max, expected) in table() {
        let decision = retry_decision(&method(name), key, outcome, attempt, max);
        let right = match expected {
            Never => decision.is_none(),
            After(wait) => decision == Some(wait),
            Between(low, high) => decision.is_some_and(|wait| low <= wait && wait <= high),
        };
        if !right {
            wrong.push(format!(
                "{name} key={key} {outcome:?} attempt {attempt}/{max}: {decision:?}, expected {expected:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Jitter is real: replicas that failed together do not all wait the same.
#[test]
fn backoff_is_jittered() {
    let waits: Vec<Duration> = (0..200)
        .map(|_| retry_decision(&Method::GET, false, Attempt::ConnectError, 2, 3).unwrap())
        .collect();
    assert!(
        waits
            .iter()
            .all(|wait| ms(200) <= *wait && *wait <= ms(400))
    );
    let first = waits[0];
    assert!(
        waits.iter().any(|wait| *wait != first),
        "no jitter: {first:?}"
    );
    assert!(waits.iter().any(|wait| *wait < ms(300)));
    assert!(waits.iter().any(|wait| *wait >= ms(300)));
}

#[test]
fn backoff_doubles_to_a_ceiling() {
    let cases = [
        (0, 0.0, ms(100)),
        (1, 0.0, ms(100)),
        (1, 0.5, ms(150)),
        (1, 1.0, ms(200)),
        (2, 0.0, ms(200)),
        (3, 1.0, ms(800)),
        (4, 0.25, ms(1000)),
        (5, 0.0, ms(1000)),
        (5, 1.0, ms(2000)),
        (40, 1.0, ms(2000)),
        (u32::MAX, 1.0, ms(2000)),
        (1, -3.0, ms(100)),
        (1, 7.0, ms(200)),
        (1, f64::NAN, ms(100)),
        (1, f64::INFINITY, ms(100)),
    ];
    for (attempt, jitter, expected) in cases {
        assert_eq!(
            backoff(attempt, jitter),
            expected,
            "attempt {attempt}, jitter {jitter}"
        );
    }
}

#[test]
fn the_limits_are_what_the_documentation_says() {
    assert_eq!(MAX_ATTEMPTS, 5);
    assert_eq!(RETRY_AFTER_CAP, secs(10));
}

/// `Wed, 21 Oct 2015 07:28:00 GMT`.
fn date() -> SystemTime {
    SystemTime::UNIX_EPOCH + secs(1_445_412_480)
}

#[test]
fn retry_after_reads_seconds_and_dates() {
    let now = date() - secs(7);
    let cases: &[(&[u8], Option<Duration>)] = &[
        (b"120", Some(secs(120))),
        (b"0", Some(Duration::ZERO)),
        (b" 5 ", Some(secs(5))),
        (b"007", Some(secs(7))),
        (b"99999999999999999999999", Some(secs(u64::MAX))),
        (b"Wed, 21 Oct 2015 07:28:00 GMT", Some(secs(7))),
        (b"Wednesday, 21-Oct-15 07:28:00 GMT", Some(secs(7))),
        (b"Wed Oct 21 07:28:00 2015", Some(secs(7))),
        (b"Wed, 21 Oct 2015 07:27:00 GMT", Some(Duration::ZERO)),
        (b"Thu, 01 Jan 1970 00:00:00 GMT", Some(Duration::ZERO)),
        (b"-1", None),
        (b"+5", None),
        (b"1.5", None),
        (b"5s", None),
        (b"", None),
        (b"soon", None),
        (b"Wed, 32 Oct 2015 07:28:00 GMT", None),
        (b"\xff\xfe", None),
    ];
    for &(value, expected) in cases {
        let header = HeaderValue::from_bytes(value).unwrap();
        assert_eq!(
            retry_after(&header, now),
            expected,
            "{}",
            String::from_utf8_lossy(value)
        );
    }
}

/// From the provider's header to the decision, as the server will chain them.
#[test]
fn a_dated_retry_after_is_honoured_or_given_up_on() {
    let now = date() - secs(4);
    let soon = retry_after(
        &HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        now,
    );
    assert_eq!(
        retry_decision(&Method::GET, false, response(429, soon), 1, 3),
        Some(secs(4))
    );
    let later = retry_after(
        &HeaderValue::from_static("Wed, 21 Oct 2015 08:28:00 GMT"),
        now,
    );
    assert_eq!(
        retry_decision(&Method::GET, false, response(503, later), 1, 3),
        None
    );
}

#[test]
fn idempotency() {
    for (name, idempotent) in [
        ("GET", true),
        ("HEAD", true),
        ("OPTIONS", true),
        ("PUT", true),
        ("DELETE", true),
        ("POST", false),
        ("PATCH", false),
        ("TRACE", false),
        ("CONNECT", false),
        ("PROPFIND", false),
    ] {
        assert_eq!(is_idempotent(&method(name)), idempotent, "{name}");
    }
    let with = |value: &'static str| {
        let mut headers = HeaderMap::new();
        headers.insert("Idempotency-Key", HeaderValue::from_static(value));
        has_idempotency_key(&headers)
    };
    assert!(with("8e03978e-40d5-43e8-bc93-6894a57f9324"));
    assert!(!with(""));
    assert!(!with("   "));
    assert!(!has_idempotency_key(&HeaderMap::new()));
}
