//! Which headers cross the proxy in each direction.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use patchbay_proxy::{request_headers, response_headers};

/// A header map from (name, value) pairs, names in any case, in order.
fn map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

/// Every (name, value) of a header map, in iteration order.
fn pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect()
}

/// Request headers the caller may send that must never reach the provider.
const REQUEST_DROPPED: &[(&str, &str)] = &[
    ("Authorization", "Bearer user-token"),
    ("authorization", "Basic dXNlcjpwYXNz"),
    ("AUTHORIZATION", "Bearer shouting"),
    ("Proxy-Authorization", "Basic eDp5"),
    ("Cookie", "session=developer"),
    ("cookie", "a=1; b=2"),
    ("Cookie2", "$Version=1"),
    ("Host", "patchbay.developer.example"),
    ("X-Paragon-Credential", "cred_123"),
    ("x-paragon-use-raw-response", "1"),
    ("X-PARAGON-Anything-Else", "x"),
    ("X-Paragon-", "empty suffix"),
    ("Forwarded", "for=203.0.113.7;proto=https"),
    ("X-Forwarded-For", "203.0.113.7"),
    ("x-forwarded-host", "patchbay.internal"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Port", "443"),
    ("X-Real-IP", "203.0.113.7"),
    ("Connection", "close"),
    ("Keep-Alive", "timeout=5"),
    ("Proxy-Connection", "keep-alive"),
    ("TE", "trailers"),
    ("Trailer", "Expires"),
    ("Transfer-Encoding", "chunked"),
    ("Upgrade", "websocket"),
    ("Expect", "100-continue"),
    ("Origin", "https://app.acme.example"),
    (
        "Referer",
        "https://app.acme.example/settings/integrations?tab=crm",
    ),
    ("Sec-Fetch-Mode", "cors"),
    ("Sec-Fetch-Site", "cross-site"),
    ("Sec-Fetch-Dest", "empty"),
    ("Sec-CH-UA", "\"Chromium\";v=\"156\""),
    ("sec-ch-ua-platform", "\"Linux\""),
    ("Sec-GPC", "1"),
    ("DNT", "1"),
    ("Upgrade-Insecure-Requests", "1"),
];

/// Request headers that are forwarded untouched.
const REQUEST_KEPT: &[(&str, &str)] = &[
    ("Content-Type", "application/json"),
    ("Content-Length", "42"),
    ("Content-Encoding", "gzip"),
    ("Accept", "application/json"),
    ("Accept-Encoding", "gzip, br"),
    ("Accept-Language", "de-CH"),
    ("User-Agent", "acme-app/1.0"),
    ("Idempotency-Key", "4f1c"),
    ("If-None-Match", "\"v1\""),
    ("If-Match", "*"),
    ("X-Request-Id", "req-1"),
    ("X-Custom-Header", "value"),
    ("X-Paragonish", "not the prefix"),
    ("Paragon-X", "not the prefix"),
    ("X-Forwarded", "not the prefix"),
    ("X-Shopify-Api-Version", "2024-01"),
    ("Notion-Version", "2022-06-28"),
    ("Range", "bytes=0-99"),
];

#[test]
fn request_headers_drop_credentials_instructions_and_hop_by_hop() {
    for &(name, value) in REQUEST_DROPPED {
        let out = request_headers(&map(&[(name, value), ("Accept", "*/*")]));
        assert_eq!(
            pairs(&out),
            [("accept".to_owned(), "*/*".to_owned())],
            "{name} crossed"
        );
    }
}

#[test]
fn request_headers_keep_everything_else() {
    for &(name, value) in REQUEST_KEPT {
        let out = request_headers(&map(&[(name, value)]));
        assert_eq!(
            pairs(&out),
            [(name.to_ascii_lowercase(), value.to_owned())],
            "{name} was dropped"
        );
    }
}

/// What Chromium sends with a page's `fetch` to the proxy: nothing of it but
/// the call's own headers reaches the provider, not even the browser's
/// `User-Agent`; a server-side caller's `User-Agent` does.
#[test]
fn a_browser_call_leaves_the_page_and_the_browser_behind() {
    let from_page = map(&[
        ("Accept", "application/json"),
        ("Origin", "http://app.localhost"),
        ("Referer", "http://app.localhost/"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Mode", "cors"),
        ("Sec-Fetch-Dest", "empty"),
        (
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0",
        ),
        ("Accept-Language", "en-US"),
    ]);
    assert_eq!(
        pairs(&request_headers(&from_page)),
        [("accept", "application/json"), ("accept-language", "en-US")]
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
    );
    let from_server = map(&[("User-Agent", "acme-sync/2.1"), ("Accept", "*/*")]);
    assert_eq!(pairs(&request_headers(&from_server)).len(), 2);
}

#[test]
fn a_mixed_request_keeps_repeated_headers_in_order() {
    let incoming = map(&[
        ("Accept", "application/json"),
        ("Authorization", "Bearer user-token"),
        ("X-Tag", "first"),
        ("Cookie", "a=1"),
        ("X-Tag", "second"),
        ("X-Paragon-Credential", "cred_1"),
        ("Accept", "text/csv"),
        ("X-Tag", "third"),
        ("Host", "patchbay.example"),
    ]);
    assert_eq!(
        pairs(&request_headers(&incoming)),
        [
            ("accept", "application/json"),
            ("accept", "text/csv"),
            ("x-tag", "first"),
            ("x-tag", "second"),
            ("x-tag", "third"),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
    );
}

#[test]
fn headers_named_by_connection_are_dropped_in_both_directions() {
    let headers = map(&[
        ("Connection", "keep-alive, X-Hop-One"),
        ("Connection", " x-hop-two ,, not a header name!"),
        ("X-Hop-One", "1"),
        ("X-Hop-Two", "2"),
        ("X-End-To-End", "3"),
    ]);
    let expected = [("x-end-to-end".to_owned(), "3".to_owned())];
    assert_eq!(pairs(&request_headers(&headers)), expected);
    assert_eq!(pairs(&response_headers(&headers)), expected);
}

#[test]
fn values_are_forwarded_byte_for_byte() {
    let mut incoming = HeaderMap::new();
    let opaque = HeaderValue::from_bytes(b"caf\xc3\xa9 \x80\xff").unwrap();
    incoming.append("x-opaque", opaque.clone());
    let out = request_headers(&incoming);
    assert_eq!(out.get("x-opaque").unwrap().as_bytes(), opaque.as_bytes());
    let out = response_headers(&incoming);
    assert_eq!(out.get("x-opaque").unwrap().as_bytes(), opaque.as_bytes());
}

/// Response headers from the provider that must not reach the developer.
const RESPONSE_DROPPED: &[(&str, &str)] = &[
    ("Set-Cookie", "session=provider; Domain=.developer.example"),
    ("set-cookie", "b=2"),
    ("Set-Cookie2", "c=3"),
    (
        "Strict-Transport-Security",
        "max-age=31536000; includeSubDomains",
    ),
    ("Clear-Site-Data", "\"*\""),
    ("Alt-Svc", "h3=\":443\""),
    ("Public-Key-Pins", "pin-sha256=\"x\""),
    ("Public-Key-Pins-Report-Only", "pin-sha256=\"x\""),
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Credentials", "true"),
    ("Access-Control-Expose-Headers", "x-secret"),
    ("Connection", "close"),
    ("Keep-Alive", "timeout=5"),
    ("Proxy-Connection", "close"),
    ("Proxy-Authenticate", "Basic realm=x"),
    ("TE", "trailers"),
    ("Trailer", "Expires"),
    ("Transfer-Encoding", "chunked"),
    ("Upgrade", "h2c"),
];

/// Response headers passed back untouched.
const RESPONSE_KEPT: &[(&str, &str)] = &[
    ("Content-Type", "application/json; charset=utf-8"),
    ("Content-Length", "1234"),
    ("Content-Encoding", "gzip"),
    ("Content-Disposition", "attachment; filename=\"r.pdf\""),
    ("Cache-Control", "no-store"),
    ("ETag", "\"abc\""),
    ("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ("Location", "https://api.acme.example/v2/items/2"),
    ("Retry-After", "30"),
    ("WWW-Authenticate", "Bearer error=\"invalid_token\""),
    ("X-RateLimit-Remaining", "0"),
    ("X-Request-Id", "upstream-1"),
    (
        "Link",
        "<https://api.acme.example/v2/items?page=2>; rel=\"next\"",
    ),
    ("Vary", "Accept-Encoding"),
    ("X-Set-Cookie-Hint", "not a cookie"),
];

#[test]
fn response_headers_drop_hop_by_hop_and_what_would_bind_the_developer_origin() {
    for &(name, value) in RESPONSE_DROPPED {
        let out = response_headers(&map(&[(name, value), ("Content-Type", "text/plain")]));
        assert_eq!(
            pairs(&out),
            [("content-type".to_owned(), "text/plain".to_owned())],
            "{name} crossed"
        );
    }
}

#[test]
fn response_headers_keep_everything_else() {
    for &(name, value) in RESPONSE_KEPT {
        let out = response_headers(&map(&[(name, value)]));
        assert_eq!(
            pairs(&out),
            [(name.to_ascii_lowercase(), value.to_owned())],
            "{name} was dropped"
        );
    }
}

/// The two directions are different policies: what one drops, the other may keep.
#[test]
fn the_directions_differ_where_they_should() {
    let both = map(&[
        ("Authorization", "Bearer x"),
        ("Set-Cookie", "a=1"),
        ("X-Paragon-Credential", "c"),
        ("Link", "<x>"),
        ("Content-Length", "3"),
    ]);
    assert_eq!(
        pairs(&request_headers(&both)),
        [
            ("set-cookie", "a=1"),
            ("link", "<x>"),
            ("content-length", "3")
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
    );
    assert_eq!(
        pairs(&response_headers(&both)),
        [
            ("authorization", "Bearer x"),
            ("x-paragon-credential", "c"),
            ("link", "<x>"),
            ("content-length", "3"),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
    );
}
