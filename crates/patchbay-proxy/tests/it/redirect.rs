//! Where the account's credentials may follow a redirect: the same origin only.

use patchbay_proxy::redirect_allowed;
use url::Url;

/// (from, to, may the credentials follow)
const REDIRECTS: &[(&str, &str, bool)] = &[
    (
        "https://api.acme.example/v2/a",
        "https://api.acme.example/v2/b",
        true,
    ),
    (
        "https://api.acme.example/v2/a",
        "https://api.acme.example/other?x=1",
        true,
    ),
    (
        "https://api.acme.example/v2/a",
        "https://api.acme.example:443/v2/b",
        true,
    ),
    (
        "https://api.acme.example:443/a",
        "https://api.acme.example/b",
        true,
    ),
    (
        "https://api.acme.example/a",
        "https://API.Acme.Example/b",
        true,
    ),
    (
        "https://api.acme.example/a",
        "https://api.acme.example/b#frag",
        true,
    ),
    ("http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b", true),
    ("http://[::1]:8080/a", "http://[::1]:8080/b", true),
    (
        "https://api.acme.example/a",
        "https://files.acme.example/b",
        false,
    ),
    (
        "https://files.acme.example/a",
        "https://acme.example/b",
        false,
    ),
    (
        "https://api.acme.example/a",
        "https://evil.example/b",
        false,
    ),
    (
        "https://api.acme.example/a",
        "https://api.acme.example.evil.example/b",
        false,
    ),
    (
        "https://api.acme.example/a",
        "https://api.acme.example./b",
        false,
    ),
    (
        "https://api.acme.example/a",
        "http://api.acme.example/b",
        false,
    ),
    (
        "http://api.acme.example/a",
        "https://api.acme.example/b",
        false,
    ),
    (
        "https://api.acme.example/a",
        "https://api.acme.example:8443/b",
        false,
    ),
    (
        "https://api.acme.example:8443/a",
        "https://api.acme.example/b",
        false,
    ),
    (
        "https://api.acme.example/a",
        "https://user:pass@api.acme.example/b",
        false,
    ),
    (
        "https://api.acme.example/a",
        "https://user@api.acme.example/b",
        false,
    ),
    (
        "https://api.acme.example/a",
        "https://93.184.216.34/b",
        false,
    ),
    ("http://127.0.0.1:8080/a", "http://localhost:8080/b", false),
    ("https://api.acme.example/a", "file:///etc/passwd", false),
    ("https://api.acme.example/a", "data:text/plain,x", false),
    (
        "https://api.acme.example/a",
        "ftp://api.acme.example/b",
        false,
    ),
    (
        "https://api.acme.example/a",
        "wss://api.acme.example/b",
        false,
    ),
];

#[test]
fn credentials_follow_redirects_within_the_origin_only() {
    let mut wrong = Vec::new();
    for &(from, to, allowed) in REDIRECTS {
        let from_url = Url::parse(from).unwrap();
        let to_url = Url::parse(to).unwrap();
        if redirect_allowed(&from_url, &to_url) != allowed {
            wrong.push(format!("{from} -> {to}: expected {allowed}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Leaving the origin is never symmetric-safe: if a hop is refused, so is the way back.
#[test]
fn the_policy_is_symmetric() {
    for &(from, to, allowed) in REDIRECTS {
        let from_url = Url::parse(from).unwrap();
        let to_url = Url::parse(to).unwrap();
        if to_url.username().is_empty() && matches!(to_url.scheme(), "http" | "https") {
            assert_eq!(
                redirect_allowed(&to_url, &from_url),
                allowed,
                "{to} -> {from}"
            );
        }
    }
}
