//! Targets that must be proxied, each to one exact URL: the path as the client encoded it,
//! the query byte for byte.

use patchbay_proxy::resolve;
use url::Url;

use crate::bases::{ACME, LOOPBACK, ROOT, SALESFORCE, SHOP, SLACK, UK};

/// (base, raw path, raw query, the URL it resolves to)
const LEGITIMATE: &[(&str, &str, Option<&str>, &str)] = &[
    // Relative paths below a base with a path, and without.
    (ACME, "users", None, "https://api.acme.example/v2/users"),
    (ACME, "", None, "https://api.acme.example/v2"),
    (ACME, "users/", None, "https://api.acme.example/v2/users/"),
    (
        ACME,
        "a/b/c/d/e",
        None,
        "https://api.acme.example/v2/a/b/c/d/e",
    ),
    (ROOT, "users", None, "https://api.acme.example/users"),
    (ROOT, "", None, "https://api.acme.example/"),
    (ROOT, "users/", None, "https://api.acme.example/users/"),
    (
        "https://api.acme.example/v2/",
        "users",
        None,
        "https://api.acme.example/v2/users",
    ),
    (
        "https://api.acme.example/v2/",
        "",
        None,
        "https://api.acme.example/v2/",
    ),
    (
        SALESFORCE,
        "sobjects/Account/describe",
        None,
        "https://acme.my.salesforce.com/services/data/v60.0/sobjects/Account/describe",
    ),
    (
        SHOP,
        "products.json",
        None,
        "https://acme.myshopify.com/admin/api/2024-01/products.json",
    ),
    (LOOPBACK, "users", None, "http://127.0.0.1:8080/api/users"),
    // Encoded characters stay encoded exactly as sent.
    (
        ACME,
        "files/my%20report.pdf",
        None,
        "https://api.acme.example/v2/files/my%20report.pdf",
    ),
    (
        ACME,
        "files/%E2%9C%93%20done",
        None,
        "https://api.acme.example/v2/files/%E2%9C%93%20done",
    ),
    (
        ACME,
        "users/J%C3%BCrgen",
        None,
        "https://api.acme.example/v2/users/J%C3%BCrgen",
    ),
    (
        ACME,
        "users/j%c3%bcrgen",
        None,
        "https://api.acme.example/v2/users/j%c3%bcrgen",
    ),
    (
        ACME,
        "files/100%25.txt",
        None,
        "https://api.acme.example/v2/files/100%25.txt",
    ),
    (
        ACME,
        "files/a%23b",
        None,
        "https://api.acme.example/v2/files/a%23b",
    ),
    (
        ACME,
        "files/a%3Fb",
        None,
        "https://api.acme.example/v2/files/a%3Fb",
    ),
    (
        ACME,
        "users/%2D1",
        None,
        "https://api.acme.example/v2/users/%2D1",
    ),
    (
        ACME,
        "tags/%E6%9D%B1%E4%BA%AC",
        None,
        "https://api.acme.example/v2/tags/%E6%9D%B1%E4%BA%AC",
    ),
    // Ordinary characters that look unusual.
    (
        ACME,
        "matrix;v=1/x;y=2",
        None,
        "https://api.acme.example/v2/matrix;v=1/x;y=2",
    ),
    (
        ACME,
        "spreadsheets/abc:batchGet",
        None,
        "https://api.acme.example/v2/spreadsheets/abc:batchGet",
    ),
    (
        ACME,
        "v1:batchGet",
        None,
        "https://api.acme.example/v2/v1:batchGet",
    ),
    (
        ACME,
        ".well-known/openid-configuration",
        None,
        "https://api.acme.example/v2/.well-known/openid-configuration",
    ),
    (
        ACME,
        "a..b/..c/c../.hidden",
        None,
        "https://api.acme.example/v2/a..b/..c/c../.hidden",
    ),
    (ACME, "~user/x", None, "https://api.acme.example/v2/~user/x"),
    (
        ACME,
        "items/a+b/it's/(1)/*/!/$/,",
        None,
        "https://api.acme.example/v2/items/a+b/it's/(1)/*/!/$/,",
    ),
    (
        ACME,
        "httpbin/status",
        None,
        "https://api.acme.example/v2/httpbin/status",
    ),
    // The query, byte for byte: order, repeated keys, encoded keys, empty values.
    (
        ACME,
        "x",
        Some("a=1&a=2&b=3"),
        "https://api.acme.example/v2/x?a=1&a=2&b=3",
    ),
    (
        ACME,
        "x",
        Some("b=2&a=1"),
        "https://api.acme.example/v2/x?b=2&a=1",
    ),
    (
        ACME,
        "x",
        Some("filter%5Bname%5D=x&%61=1"),
        "https://api.acme.example/v2/x?filter%5Bname%5D=x&%61=1",
    ),
    (
        ACME,
        "x",
        Some("filter[name]=x&ids[]=1&ids[]=2"),
        "https://api.acme.example/v2/x?filter[name]=x&ids[]=1&ids[]=2",
    ),
    (ACME, "x", Some(""), "https://api.acme.example/v2/x?"),
    (
        ACME,
        "x",
        Some("a={b}|c^d`e\\f&g=~!$'()*,;:@/?"),
        "https://api.acme.example/v2/x?a={b}|c^d`e\\f&g=~!$%27()*,;:@/?",
    ),
    (
        ACME,
        "x",
        Some("q=\"a\"<b>"),
        "https://api.acme.example/v2/x?q=%22a%22%3Cb%3E",
    ),
    (
        ACME,
        "x",
        Some("a=b=c&&d"),
        "https://api.acme.example/v2/x?a=b=c&&d",
    ),
    (
        ACME,
        "x",
        Some("text=line1%0Aline2"),
        "https://api.acme.example/v2/x?text=line1%0Aline2",
    ),
    (
        ACME,
        "x",
        Some("q=%E2%9C%93+yes"),
        "https://api.acme.example/v2/x?q=%E2%9C%93+yes",
    ),
    (
        ACME,
        "x",
        Some("redirect=https://a.example/?b=1"),
        "https://api.acme.example/v2/x?redirect=https://a.example/?b=1",
    ),
    (
        ACME,
        "x",
        Some("path=..%2F..%2Fetc"),
        "https://api.acme.example/v2/x?path=..%2F..%2Fetc",
    ),
    // `'` is re-encoded by the URL standard for http(s) (equivalent to every server).
    (
        SALESFORCE,
        "query",
        Some("q=SELECT+Id+FROM+Account+WHERE+Name='x'"),
        "https://acme.my.salesforce.com/services/data/v60.0/query?q=SELECT+Id+FROM+Account+WHERE+Name=%27x%27",
    ),
    // The base's own query comes first; its fragment never goes out.
    (
        "https://api.acme.example/v2?api-version=7",
        "x",
        Some("a=1"),
        "https://api.acme.example/v2/x?api-version=7&a=1",
    ),
    (
        "https://api.acme.example/v2?api-version=7",
        "x",
        None,
        "https://api.acme.example/v2/x?api-version=7",
    ),
    (
        "https://api.acme.example/v2?api-version=7",
        "x",
        Some(""),
        "https://api.acme.example/v2/x?api-version=7",
    ),
    (
        "https://api.acme.example/v2#top",
        "x",
        None,
        "https://api.acme.example/v2/x",
    ),
    // Full URLs on the base host or under its registrable domain.
    (
        SLACK,
        "https://files.slack.com/files-pri/T1-F1/report.pdf",
        None,
        "https://files.slack.com/files-pri/T1-F1/report.pdf",
    ),
    (
        SLACK,
        "https:/files.slack.com/files-pri/x",
        None,
        "https://files.slack.com/files-pri/x",
    ),
    (
        SLACK,
        "HTTPS://files.slack.com/x",
        None,
        "https://files.slack.com/x",
    ),
    (
        SLACK,
        "hTTps:/files.slack.com/x",
        None,
        "https://files.slack.com/x",
    ),
    (
        SLACK,
        "https://slack.com/api/chat.postMessage",
        None,
        "https://slack.com/api/chat.postMessage",
    ),
    (
        SLACK,
        "https://slack.com/other",
        None,
        "https://slack.com/other",
    ),
    (
        SLACK,
        "https://FILES.Slack.COM/x",
        None,
        "https://files.slack.com/x",
    ),
    (
        SLACK,
        "https://files.slack.com:443/x",
        None,
        "https://files.slack.com/x",
    ),
    (
        SLACK,
        "https://files.slack.com",
        None,
        "https://files.slack.com/",
    ),
    (
        SLACK,
        "https://files.slack.com/",
        None,
        "https://files.slack.com/",
    ),
    (
        SLACK,
        "https://files.slack.com/x",
        Some("t=1&t=2"),
        "https://files.slack.com/x?t=1&t=2",
    ),
    (
        SLACK,
        "https://a.b.files.slack.com/x%20y",
        None,
        "https://a.b.files.slack.com/x%20y",
    ),
    (
        SLACK,
        "https://files%2eslack.com/x",
        None,
        "https://files.slack.com/x",
    ),
    (
        SLACK,
        "https://slack%E3%80%82com/x",
        None,
        "https://slack.com/x",
    ),
    (
        UK,
        "https://files.acme.co.uk/x",
        None,
        "https://files.acme.co.uk/x",
    ),
    (UK, "https://acme.co.uk/x", None, "https://acme.co.uk/x"),
    (
        SHOP,
        "https://cdn.acme.myshopify.com/x",
        None,
        "https://cdn.acme.myshopify.com/x",
    ),
    (
        SHOP,
        "https://acme.myshopify.com/admin/api/2024-01/orders.json",
        None,
        "https://acme.myshopify.com/admin/api/2024-01/orders.json",
    ),
    (
        SALESFORCE,
        "https://acme--c.salesforce.com/x",
        None,
        "https://acme--c.salesforce.com/x",
    ),
    (
        "https://iam.amazonaws.com/",
        "https://sts.amazonaws.com/x",
        None,
        "https://sts.amazonaws.com/x",
    ),
    (
        ACME,
        "https://files.acme.example/x",
        None,
        "https://files.acme.example/x",
    ),
    (
        ACME,
        "https://acme.example/x",
        None,
        "https://acme.example/x",
    ),
    (
        "https://api.acme.example:8443/v2",
        "https://files.acme.example:8443/x",
        None,
        "https://files.acme.example:8443/x",
    ),
    (
        "https://api.b%C3%BCcher.example/v1",
        "https://files.b%C3%BCcher.example/x",
        None,
        "https://files.xn--bcher-kva.example/x",
    ),
    (
        "https://api.b%C3%BCcher.example/v1",
        "https://files.xn--bcher-kva.example/x",
        None,
        "https://files.xn--bcher-kva.example/x",
    ),
    // IP-literal and localhost bases: the base host itself, and nothing else.
    (
        LOOPBACK,
        "http://127.0.0.1:8080/other",
        None,
        "http://127.0.0.1:8080/other",
    ),
    (
        "http://localhost:3000/api",
        "http://localhost:3000/x",
        None,
        "http://localhost:3000/x",
    ),
    (
        "http://[::1]:3000/api",
        "http://[::1]:3000/x",
        None,
        "http://[::1]:3000/x",
    ),
];

#[test]
fn legitimate_targets_resolve_to_exact_urls() {
    let mut wrong = Vec::new();
    for &(base, path, query, expected) in LEGITIMATE {
        let base = Url::parse(base).unwrap();
        match resolve(&base, path, query) {
            Ok(url) if url.as_str() == expected => {}
            Ok(url) => wrong.push(format!(
                "{base} + {path:?} ? {query:?}: {url}, not {expected}"
            )),
            Err(rejected) => wrong.push(format!(
                "{base} + {path:?} ? {query:?}: refused ({:?})",
                rejected.reason()
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        LEGITIMATE.len() >= 40,
        "only {} legitimate targets",
        LEGITIMATE.len()
    );
}

/// What is checked is what is sent: the resolved URL reads back the same through `url`, so
/// the HTTP client cannot normalise it into something else.
#[test]
fn resolved_urls_are_already_canonical() {
    for &(base, path, query, _) in LEGITIMATE {
        let url = resolve(&Url::parse(base).unwrap(), path, query).unwrap();
        let reparsed = Url::parse(url.as_str()).unwrap();
        assert_eq!(reparsed, url, "{base} + {path:?}");
        assert_eq!(url.fragment(), None);
        assert_eq!(url.username(), "");
        assert_eq!(url.password(), None);
    }
}

/// A relative path never leaves the base URL's path, so its result always starts with it.
#[test]
fn relative_paths_stay_below_the_base_path() {
    for &(base, path, query, _) in LEGITIMATE {
        if path.to_ascii_lowercase().starts_with("http") && path.contains(':') {
            continue;
        }
        let base = Url::parse(base).unwrap();
        let url = resolve(&base, path, query).unwrap();
        assert_eq!(url.origin(), base.origin(), "{path:?}");
        assert!(
            url.path().starts_with(base.path().trim_end_matches('/')),
            "{} is not below {}",
            url.path(),
            base.path()
        );
    }
}
