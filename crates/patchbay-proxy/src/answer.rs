//! How the proxy answers, as Paragon's does: the provider's body parsed and wrapped as
//! `{"output": …}`, unless the caller sends `X-Paragon-Use-Raw-Response`, which gets the
//! provider's answer itself (status, headers, body streamed byte for byte). What cannot be
//! wrapped honestly — no body, a partial or compressed body, binary data, an event stream —
//! is answered raw either way.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};

use crate::headers::response_headers;

/// Asks for the provider's raw answer (Paragon sends `1` or `true`).
pub const RAW_RESPONSE_HEADER: &str = "x-paragon-use-raw-response";

/// The provider URL or path to call, in place of the path after `/sdk/proxy/{integration}`.
pub const PROXY_URL_HEADER: &str = "x-paragon-proxy-url";

/// Whether the caller asked for the raw answer: any `X-Paragon-Use-Raw-Response` but an
/// empty one, `0` or `false`.
pub fn wants_raw_response(request: &HeaderMap) -> bool {
    request.get_all(RAW_RESPONSE_HEADER).iter().any(|value| {
        let value = value.to_str().unwrap_or("x").trim();
        !(value.is_empty() || value == "0" || value.eq_ignore_ascii_case("false"))
    })
}

/// How an answer the caller did not ask for raw is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapping {
    /// Parsed as JSON into `output`; a body that is not JSON goes in as text.
    Json,
    /// Text, as a JSON string in `output`.
    Text,
    /// Not wrappable: passed on as the provider sent it.
    Raw,
}

/// Decides from the provider's status and headers, before its body is read.
pub fn wrapping(method: &Method, status: StatusCode, upstream: &HeaderMap) -> Wrapping {
    // No body, or one that means nothing without the request's own headers.
    if *method == Method::HEAD
        || status.is_informational()
        || matches!(
            status,
            StatusCode::NO_CONTENT
                | StatusCode::RESET_CONTENT
                | StatusCode::PARTIAL_CONTENT
                | StatusCode::NOT_MODIFIED
        )
    {
        return Wrapping::Raw;
    }
    // The proxy asks for an unencoded body when it wraps; a provider that compresses anyway
    // is passed on untouched rather than decoded.
    let encoded = upstream
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .any(|value| !value.as_bytes().eq_ignore_ascii_case(b"identity"));
    if encoded {
        return Wrapping::Raw;
    }
    let Some(content_type) = upstream.get(header::CONTENT_TYPE) else {
        return Wrapping::Json;
    };
    let essence = content_type
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Wrapping::Json,
        json if json.ends_with("+json") => Wrapping::Json,
        "text/event-stream" => Wrapping::Raw,
        text if text.starts_with("text/") => Wrapping::Text,
        "application/xml" | "application/javascript" | "application/x-www-form-urlencoded" => {
            Wrapping::Text
        }
        xml if xml.ends_with("+xml") => Wrapping::Text,
        _ => Wrapping::Raw,
    }
}

/// The headers of a wrapped answer: the provider's, as [`response_headers`] passes them, but
/// for those describing the provider's body rather than the wrapper (`Content-*`, `ETag`,
/// `Digest`), and `Content-Type: application/json`.
pub fn wrapped_response_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = response_headers(upstream);
    let about_the_body: Vec<_> = headers
        .keys()
        .filter(|name| {
            name.as_str().starts_with("content-")
                || *name == header::ETAG
                || matches!(name.as_str(), "digest" | "repr-digest")
        })
        .cloned()
        .collect();
    for name in about_the_body {
        headers.remove(name);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn raw_is_asked_for_by_any_value_but_off() {
        for on in ["1", "true", "TRUE", "yes"] {
            assert!(
                wants_raw_response(&with(&[(RAW_RESPONSE_HEADER, on)])),
                "{on}"
            );
        }
        for off in ["", "0", "false", "False"] {
            assert!(
                !wants_raw_response(&with(&[(RAW_RESPONSE_HEADER, off)])),
                "{off:?}"
            );
        }
        assert!(!wants_raw_response(&HeaderMap::new()));
    }

    #[test]
    fn only_bodies_that_mean_something_as_json_are_wrapped() {
        let get = Method::GET;
        let ok = StatusCode::OK;
        let case = |pairs: &[(&'static str, &'static str)]| wrapping(&get, ok, &with(pairs));
        assert_eq!(
            case(&[("content-type", "application/json; charset=utf-8")]),
            Wrapping::Json
        );
        assert_eq!(
            case(&[("content-type", "application/vnd.api+json")]),
            Wrapping::Json
        );
        assert_eq!(case(&[]), Wrapping::Json);
        assert_eq!(case(&[("content-type", "text/plain")]), Wrapping::Text);
        assert_eq!(
            case(&[("content-type", "application/atom+xml")]),
            Wrapping::Text
        );
        assert_eq!(
            case(&[("content-type", "text/event-stream")]),
            Wrapping::Raw
        );
        assert_eq!(case(&[("content-type", "application/pdf")]), Wrapping::Raw);
        assert_eq!(case(&[("content-type", "image/png")]), Wrapping::Raw);
        assert_eq!(
            case(&[
                ("content-type", "application/json"),
                ("content-encoding", "gzip")
            ]),
            Wrapping::Raw
        );
        let json = with(&[("content-type", "application/json")]);
        assert_eq!(wrapping(&Method::HEAD, ok, &json), Wrapping::Raw);
        for status in [204, 205, 206, 304] {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            assert_eq!(wrapping(&get, status, &json), Wrapping::Raw, "{status}");
        }
        // Errors are the provider's answers too: wrapped alike.
        assert_eq!(wrapping(&get, StatusCode::NOT_FOUND, &json), Wrapping::Json);
    }

    #[test]
    fn a_wrapped_answer_describes_the_wrapper() {
        let upstream = with(&[
            ("content-type", "text/csv"),
            ("content-length", "12"),
            ("content-disposition", "attachment"),
            ("etag", "\"abc\""),
            ("x-ratelimit-remaining", "9"),
            ("set-cookie", "s=1"),
        ]);
        let headers = wrapped_response_headers(&upstream);
        assert_eq!(
            headers.get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
        for gone in [
            "content-length",
            "content-disposition",
            "etag",
            "set-cookie",
        ] {
            assert!(headers.get(gone).is_none(), "{gone}");
        }
        assert!(headers.get("x-ratelimit-remaining").is_some());
    }
}
