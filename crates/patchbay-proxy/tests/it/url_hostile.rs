//! Targets that must never be proxied to, each tried against a base URL and refused with the
//! reason that names its class.

use patchbay_proxy::{Reason, resolve};
use url::Url;

use Reason::*;

use crate::bases::{ACME, AWS, LOOPBACK, ROOT, SALESFORCE, SHOP, SLACK, UK};

/// (base, raw path, raw query, why it is refused)
const CORPUS: &[(&str, &str, Option<&str>, Reason)] = &[
    // Dot segments, in every spelling.
    (ACME, "..", None, DotSegment),
    (ACME, "../secret", None, DotSegment),
    (ACME, "a/../../b", None, DotSegment),
    (ACME, ".", None, DotSegment),
    (ACME, "./x", None, DotSegment),
    (ACME, "a/./b", None, DotSegment),
    (ACME, "x/..", None, DotSegment),
    (ACME, "x/../", None, DotSegment),
    (ACME, "%2e%2e", None, DotSegment),
    (ACME, "%2E%2E/x", None, DotSegment),
    (ACME, "%2e./x", None, DotSegment),
    (ACME, ".%2e/x", None, DotSegment),
    (ACME, "%2E.", None, DotSegment),
    (ACME, "%2e", None, DotSegment),
    (ACME, "a/%2e/b", None, DotSegment),
    (ACME, "x/%2e%2e/", None, DotSegment),
    (ACME, "..;/admin", None, DotSegment),
    (ACME, "..;jsessionid=1/admin", None, DotSegment),
    (ACME, "%2e%2e;x=1/admin", None, DotSegment),
    (ACME, "...", None, DotSegment),
    (ACME, "..%20", None, DotSegment),
    (ACME, "%20..", None, DotSegment),
    (ACME, "%EF%BC%8E%EF%BC%8E/x", None, DotSegment),
    (ACME, "%E2%80%A5/x", None, DotSegment),
    (ACME, "%EF%B9%92%EF%B9%92", None, DotSegment),
    (ROOT, "..", None, DotSegment),
    (ROOT, "%2e%2e/%2e%2e/etc/passwd", None, DotSegment),
    // Double encoding: a second decoding would change the segment.
    (ACME, "%252e%252e", None, DoubleEncoding),
    (ACME, "%252e%252e/etc", None, DoubleEncoding),
    (ACME, "%252E%252E%252F", None, DoubleEncoding),
    (ACME, "%255c", None, DoubleEncoding),
    (ACME, "a/%2525252e", None, DoubleEncoding),
    (ACME, "%25%32%65%25%32%65", None, DoubleEncoding),
    (ACME, "%EF%BC%85%32%65%EF%BC%85%32%65", None, DoubleEncoding),
    (ROOT, "x/%252f", None, DoubleEncoding),
    // Separators hidden inside a segment, and backslashes.
    (ACME, "%2f", None, Separator),
    (ACME, "%2F", None, Separator),
    (ACME, "a%2Fb", None, Separator),
    (ACME, "..%2f..%2fetc", None, Separator),
    (ACME, "%2e%2e%2f", None, Separator),
    (ACME, "%5c", None, Separator),
    (ACME, "..%5c..%5cwindows", None, Separator),
    (ACME, "a\\b", None, Separator),
    (ACME, "\\\\evil.com\\x", None, Separator),
    (ACME, "..\\..\\x", None, Separator),
    (ROOT, "\\evil.com", None, Separator),
    (ACME, "%EF%BC%8F", None, Separator),
    (ACME, "%EF%BC%BC", None, Separator),
    (ACME, "%EF%B9%A8", None, Separator),
    (ACME, "%E2%84%80", None, Separator),
    (ACME, "https%3A%2F%2Fevil.com", None, Separator),
    // Not UTF-8: overlong forms, lone continuation bytes, surrogates.
    (ACME, "%c0%ae%c0%ae/x", None, InvalidEncoding),
    (ACME, "%c0%2e", None, InvalidEncoding),
    (ACME, "%e0%80%ae", None, InvalidEncoding),
    (ACME, "%c0%af", None, InvalidEncoding),
    (ACME, "%c1%9c", None, InvalidEncoding),
    (ACME, "%f0%80%80%af", None, InvalidEncoding),
    (ACME, "%ff", None, InvalidEncoding),
    (ACME, "%80", None, InvalidEncoding),
    (ACME, "%ed%a0%80", None, InvalidEncoding),
    // Not percent-encoding at all.
    (ACME, "%", None, InvalidEncoding),
    (ACME, "%2", None, InvalidEncoding),
    (ACME, "%zz", None, InvalidEncoding),
    (ACME, "%g0", None, InvalidEncoding),
    (ACME, "100%", None, InvalidEncoding),
    (ACME, "%%32%65", None, InvalidEncoding),
    (ACME, "%2e%", None, InvalidEncoding),
    (ACME, "%u002e%u002e", None, InvalidEncoding),
    (ACME, "x", Some("a=%"), InvalidEncoding),
    (ACME, "x", Some("a=%zz"), InvalidEncoding),
    (ACME, "x", Some("%u0041=1"), InvalidEncoding),
    // Empty segments: `//` is how an authority starts.
    (ACME, "//evil.com/x", None, EmptySegment),
    (ACME, "/x", None, EmptySegment),
    (ACME, "/", None, EmptySegment),
    (ACME, "a//b", None, EmptySegment),
    (ACME, "///evil.com", None, EmptySegment),
    (ACME, "x//", None, EmptySegment),
    (ROOT, "//evil.com", None, EmptySegment),
    (ROOT, "file:///etc/passwd", None, EmptySegment),
    (ROOT, "ftp://evil.com/x", None, EmptySegment),
    // `@`, raw or encoded.
    (ACME, "@evil.com", None, AtSign),
    (ACME, "x@evil.com/y", None, AtSign),
    (ACME, "%40evil.com", None, AtSign),
    (ROOT, "@evil.com/x", None, AtSign),
    (ACME, "users/%40me", None, AtSign),
    (ACME, "%EF%BC%A0evil.com", None, AtSign),
    // Control characters, raw or encoded (C0, DEL, C1).
    (ACME, "a\r\nb", None, ControlCharacter),
    (ACME, "a\nb", None, ControlCharacter),
    (ACME, "a\0b", None, ControlCharacter),
    (ACME, "a\tb", None, ControlCharacter),
    (ACME, "\x1b[31m", None, ControlCharacter),
    (ACME, "x\x7f", None, ControlCharacter),
    (ACME, "%0d%0aSet-Cookie:x=1", None, ControlCharacter),
    (ACME, "x%0D%0A%0D%0Abody", None, ControlCharacter),
    (ACME, "%0a", None, ControlCharacter),
    (ACME, "%00", None, ControlCharacter),
    (ACME, "x%00.json", None, ControlCharacter),
    (ACME, "%09", None, ControlCharacter),
    (ACME, "%7f", None, ControlCharacter),
    (ACME, "%c2%85", None, ControlCharacter),
    (ACME, "%c2%9b", None, ControlCharacter),
    (ACME, "%0d%0a%c0", None, ControlCharacter),
    (ACME, "x", Some("a=\r\nX-Injected: 1"), ControlCharacter),
    (ACME, "x", Some("a=b\0"), ControlCharacter),
    (ACME, "x", Some("a=\tb"), ControlCharacter),
    // Fragments.
    (ACME, "x#frag", None, Fragment),
    (ACME, "#", None, Fragment),
    (ACME, "x", Some("a=1#frag"), Fragment),
    // Characters that have no place in a request target.
    (ACME, "a b", None, InvalidCharacter),
    (ACME, "a\"b", None, InvalidCharacter),
    (ACME, "<script>", None, InvalidCharacter),
    (ACME, "a?b", None, InvalidCharacter),
    (ACME, "é", None, InvalidCharacter),
    (ACME, "a|b", None, InvalidCharacter),
    (ACME, "{x}", None, InvalidCharacter),
    (ACME, "a`b", None, InvalidCharacter),
    (ACME, "[::1]", None, InvalidCharacter),
    (ACME, "x", Some("a b"), InvalidCharacter),
    (ACME, "x", Some("q=é"), InvalidCharacter),
    // A URL in disguise, or with a scheme other than http(s).
    (ACME, "javascript:alert(1)", None, Scheme),
    (ACME, "file:/etc/passwd", None, Scheme),
    (ACME, "gopher:/evil.com:70/_x", None, Scheme),
    (ACME, "data:text/html,x", None, Scheme),
    (ACME, "ws:/evil.com", None, Scheme),
    (ACME, "ftp:/evil.com", None, Scheme),
    (ACME, "https%3a/evil.com", None, Scheme),
    (ACME, "HtTpS%3A/evil.com", None, Scheme),
    (ACME, "%68ttps:/evil.com", None, Scheme),
    (ACME, "%EF%BD%88ttps:/evil.com", None, Scheme),
    (SLACK, "https:evil.com", None, Scheme),
    (SLACK, "https:files.slack.com/x", None, Scheme),
    (SLACK, "https:///evil.com", None, Scheme),
    (SLACK, "https:////files.slack.com", None, Scheme),
    (SLACK, "https:", None, Scheme),
    // Full URLs: another domain, or one that only looks like the right one.
    (SLACK, "https://evil.com/x", None, HostNotAllowed),
    (SLACK, "https:/evil.com/x", None, HostNotAllowed),
    (SLACK, "https://slack.com.evil.com/x", None, HostNotAllowed),
    (
        SLACK,
        "https://files.slack.com.evil.com/x",
        None,
        HostNotAllowed,
    ),
    (SLACK, "https://evil-slack.com/x", None, HostNotAllowed),
    (SLACK, "https://evilslack.com/x", None, HostNotAllowed),
    (SLACK, "https://slack.co/x", None, HostNotAllowed),
    (SLACK, "https://slack.com.co/x", None, HostNotAllowed),
    (SLACK, "https://com/x", None, HostNotAllowed),
    (SLACK, "https://%D1%95lack.com/x", None, HostNotAllowed),
    (SLACK, "https://xn--lack-f9d.com/x", None, HostNotAllowed),
    (SLACK, "https://sl%D0%B0ck.com/x", None, HostNotAllowed),
    (
        SLACK,
        "https://%EF%BD%85%EF%BD%96%EF%BD%89%EF%BD%8C.com/",
        None,
        HostNotAllowed,
    ),
    (
        SLACK,
        "https://files.slack.com%E3%80%82evil.com/",
        None,
        HostNotAllowed,
    ),
    (
        SLACK,
        "https://%66iles.slack.com.evil.com/",
        None,
        HostNotAllowed,
    ),
    (ACME, "https://evil.example/x", None, HostNotAllowed),
    (
        ACME,
        "https://acme.example.evil.example/x",
        None,
        HostNotAllowed,
    ),
    (UK, "https://evil.co.uk/x", None, HostNotAllowed),
    (UK, "https://co.uk/x", None, HostNotAllowed),
    (UK, "https://acme.co.uk.evil.com/x", None, HostNotAllowed),
    (UK, "https://uk/x", None, HostNotAllowed),
    (
        SHOP,
        "https://other.myshopify.com/admin",
        None,
        HostNotAllowed,
    ),
    (SHOP, "https://myshopify.com/x", None, HostNotAllowed),
    (
        SHOP,
        "https://acme.myshopify.com.evil.com/",
        None,
        HostNotAllowed,
    ),
    (SHOP, "https://shopify.com/x", None, HostNotAllowed),
    (SHOP, "https://xacme.myshopify.com/x", None, HostNotAllowed),
    (
        SALESFORCE,
        "https://my.salesforce.com.evil.com/x",
        None,
        HostNotAllowed,
    ),
    (SALESFORCE, "https://force.com/x", None, HostNotAllowed),
    // Under the base's registrable domain, but below a public suffix: another registrant.
    (
        AWS,
        "https://attacker.s3.amazonaws.com/x",
        None,
        HostNotAllowed,
    ),
    (
        AWS,
        "https://evil.execute-api.us-east-1.amazonaws.com/x",
        None,
        HostNotAllowed,
    ),
    (
        AWS,
        "https://sqs.us-east-1.amazonaws.com/x",
        None,
        HostNotAllowed,
    ),
    // Full URLs with userinfo.
    (SLACK, "https://slack.com@evil.com/x", None, Userinfo),
    (SLACK, "https://user:pass@files.slack.com/x", None, Userinfo),
    (SLACK, "https://@files.slack.com/x", None, Userinfo),
    (SLACK, "https://files.slack.com%40evil.com/", None, Userinfo),
    (SLACK, "https://files.slack.com\\@evil.com/", None, Userinfo),
    // Full URLs with another scheme or port.
    (SLACK, "http://files.slack.com/x", None, SchemeMismatch),
    (SLACK, "HTTP://slack.com/api/x", None, SchemeMismatch),
    (SLACK, "https://files.slack.com:8443/x", None, PortMismatch),
    (SLACK, "https://files.slack.com:80/x", None, PortMismatch),
    (SLACK, "https://slack.com:444/api", None, PortMismatch),
    (LOOPBACK, "http://127.0.0.1:8081/x", None, PortMismatch),
    (LOOPBACK, "http://127.0.0.1/x", None, PortMismatch),
    // IP literals in every notation, and cloud metadata.
    (SLACK, "https://127.0.0.1/x", None, IpHost),
    (SLACK, "https://2130706433/x", None, IpHost),
    (SLACK, "https://0x7f.1/x", None, IpHost),
    (SLACK, "https://0x7f000001/x", None, IpHost),
    (SLACK, "https://0177.0.0.1/x", None, IpHost),
    (SLACK, "https://017700000001/x", None, IpHost),
    (SLACK, "https://127.1/x", None, IpHost),
    (SLACK, "https://[::1]/x", None, IpHost),
    (SLACK, "https://[::ffff:127.0.0.1]/x", None, IpHost),
    (SLACK, "https://[0:0:0:0:0:0:0:1]:443/x", None, IpHost),
    (
        SLACK,
        "https://169.254.169.254/latest/meta-data",
        None,
        IpHost,
    ),
    (SLACK, "https://%31%32%37.0.0.1/x", None, IpHost),
    (LOOPBACK, "http://127.0.0.2:8080/x", None, IpHost),
    (LOOPBACK, "http://2130706434:8080/x", None, IpHost),
    // localhost.
    (SLACK, "https://localhost/x", None, LocalHost),
    (SLACK, "https://LOCALHOST/x", None, LocalHost),
    (SLACK, "https://files.localhost/x", None, LocalHost),
    (LOOPBACK, "http://localhost:8080/x", None, LocalHost),
    // Hosts that are not host names, or end in tricks.
    (SLACK, "https://files.slack.com./x", None, InvalidHost),
    (SLACK, "https://slack.com./api", None, InvalidHost),
    (SLACK, "https://files..slack.com/x", None, InvalidHost),
    (
        SLACK,
        "https://files.slack.com%2F.evil.com/",
        None,
        InvalidHost,
    ),
    (SLACK, "https://evil.com%23.slack.com/", None, InvalidHost),
    (SLACK, "https://evil.com%5C.slack.com/", None, InvalidHost),
    (SLACK, "https://evil.com\\.slack.com/", None, InvalidHost),
    (SLACK, "https://evil.com?.slack.com/", None, InvalidHost),
    (SLACK, "https://evil.com#.slack.com/", None, InvalidHost),
    (
        SLACK,
        "https://files.slack.com%00.evil.com/",
        None,
        InvalidHost,
    ),
    (SLACK, "https://files.slack.com%2500/", None, InvalidHost),
    (SLACK, "https://files%20.slack.com/", None, InvalidHost),
    (SLACK, "https://slack.com:/x", None, InvalidHost),
    (SLACK, "https://files.slack.com:+443/x", None, InvalidHost),
    (SLACK, "https://files.slack.com:99999/x", None, InvalidHost),
    (
        SLACK,
        "https://files.slack.com:443:443/x",
        None,
        InvalidHost,
    ),
    (SLACK, "https://[::1/x", None, InvalidHost),
    (SLACK, "https://1.2.3.4.5/x", None, InvalidHost),
    // Full URLs on an allowed host with a hostile path.
    (SLACK, "https://files.slack.com/../x", None, DotSegment),
    (SLACK, "https://files.slack.com/%2e%2e/x", None, DotSegment),
    (
        SLACK,
        "https://files.slack.com//evil.com",
        None,
        EmptySegment,
    ),
    (SLACK, "https://files.slack.com/a%2fb", None, Separator),
    (SLACK, "https://files.slack.com/x#y", None, Fragment),
    (SLACK, "https://files.slack.com/x@y", None, AtSign),
    (
        SLACK,
        "https://files.slack.com/%0d%0a",
        None,
        ControlCharacter,
    ),
    (SLACK, "https://files.slack.com/%252e", None, DoubleEncoding),
];

fn base(url: &str) -> Url {
    Url::parse(url).unwrap()
}

#[test]
fn the_hostile_corpus_is_refused_each_for_its_reason() {
    let mut wrong = Vec::new();
    for &(base_url, path, query, reason) in CORPUS {
        match resolve(&base(base_url), path, query) {
            Ok(url) => wrong.push(format!(
                "{base_url} + {path:?} ? {query:?}: resolved to {url}"
            )),
            Err(rejected) if rejected.reason() != reason => wrong.push(format!(
                "{base_url} + {path:?} ? {query:?}: {:?} instead of {reason:?}",
                rejected.reason()
            )),
            Err(_) => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_corpus_is_large_and_covers_every_class() {
    assert!(CORPUS.len() >= 120, "only {} hostile targets", CORPUS.len());
    let classes = [
        DotSegment,
        DoubleEncoding,
        Separator,
        InvalidEncoding,
        EmptySegment,
        AtSign,
        ControlCharacter,
        Fragment,
        InvalidCharacter,
        Scheme,
        HostNotAllowed,
        Userinfo,
        SchemeMismatch,
        PortMismatch,
        IpHost,
        LocalHost,
        InvalidHost,
    ];
    for class in classes {
        let count = CORPUS.iter().filter(|case| case.3 == class).count();
        assert!(count >= 2, "{class:?} has {count} cases");
    }
}

/// The message goes back to the caller: it names the rule, never repeats the path, and quotes
/// at most a sanitised host.
#[test]
fn rejections_never_echo_the_request() {
    for &(base_url, path, query, _) in CORPUS {
        let rejected = resolve(&base(base_url), path, query).unwrap_err();
        let message = rejected.to_string();
        assert!(!message.is_empty());
        assert!(message.len() <= 160, "{message}");
        if path.len() > 12 {
            assert!(!message.contains(path), "{message} echoes {path:?}");
        }
        assert!(
            !message.chars().any(char::is_control),
            "{message:?} carries a control character"
        );
        if let Some(snippet) = rejected.snippet() {
            assert!(
                snippet.chars().count() <= 64,
                "{snippet} is longer than 64 characters"
            );
            assert!(
                snippet
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-?…".contains(c)),
                "{snippet} is not sanitised"
            );
        }
    }
}

#[test]
fn a_refused_host_is_named_in_its_punycode_form() {
    let rejected = resolve(&base(SLACK), "https://%D1%95lack.com/x", None).unwrap_err();
    assert_eq!(rejected.snippet(), Some("xn--lack-f9d.com"));
    assert_eq!(
        rejected.to_string(),
        "the URL's host is outside the integration's domain (`xn--lack-f9d.com`)"
    );
    let long = format!("https://{}.evil.com/x", "a".repeat(60));
    let rejected = resolve(&base(SLACK), &long, None).unwrap_err();
    let snippet = rejected.snippet().unwrap();
    assert_eq!(snippet.chars().count(), 64);
    assert!(snippet.ends_with('…'), "{snippet}");
}

#[test]
fn a_path_rejection_names_only_the_rule() {
    let rejected = resolve(&base(ACME), "secret-token/%2e%2e", None).unwrap_err();
    assert_eq!(rejected.reason(), DotSegment);
    assert_eq!(rejected.snippet(), None);
    assert_eq!(
        rejected.to_string(),
        "the path contains a `.` or `..` segment"
    );
}

#[test]
fn a_base_url_that_cannot_take_a_path_refuses_everything() {
    for base_url in [
        "mailto:ops@acme.example",
        "data:text/plain,x",
        "file:///tmp",
    ] {
        let rejected = resolve(&base(base_url), "x", None).unwrap_err();
        assert_eq!(rejected.reason(), InvalidBase, "{base_url}");
    }
}
