//! Over a hundred hostile proxy paths, sent raw over a socket: each is
//! refused with `400 proxy_url_not_allowed`, and the upstream, which counts
//! every request it receives on any path, receives none of them. (The pure
//! policy has its own, larger corpus in `patchbay-proxy`.)

use patchbay_test_support::{EchoUpstream, TestDb, TestProject, TestServer, backend_tests};

/// Paths that climb out of the API, in every encoding.
fn traversals() -> Vec<String> {
    let climbs = [
        "..",
        "%2e%2e",
        "%2E%2E",
        ".%2e",
        "%2e.",
        "%252e%252e",
        "..%2f..",
        "..%5c..",
        "%2e%2e%2f%2e%2e",
        "..;",
        "%c0%ae%c0%ae",
        "%uff0e%uff0e",
    ];
    let mut paths = Vec::new();
    for climb in climbs {
        for prefix in ["", "contacts/"] {
            for target in ["oauth/token", "control/reset"] {
                paths.push(format!("{prefix}{climb}/{target}"));
            }
        }
    }
    paths
}

/// Full URLs outside the API's registrable domain, or to internal hosts.
fn foreign_urls() -> Vec<String> {
    let hosts = [
        "127.0.0.1:9",
        "localhost",
        "evil.example",
        "2130706433",
        "0x7f.1",
        "[::1]",
        "169.254.169.254",
        "metadata.google.internal",
        "127.0.0.1.nip.io",
        "sandbox.evil",
    ];
    let mut urls = Vec::new();
    for host in hosts {
        for scheme in ["http://", "https://", "http:/", "https:/"] {
            urls.push(format!("{scheme}{host}/x"));
        }
    }
    urls
}

/// Raw backslashes, which some servers and URL parsers take for `/`. An
/// HTTP client library would rewrite them (the URL standard does for http
/// URLs); the raw socket sends them as they are.
fn backslashes() -> Vec<String> {
    [
        "..\\oauth/token",
        "contacts\\..\\..\\oauth\\token",
        "contacts/..\\..\\oauth/token",
        "\\evil.example/x",
        "\\\\evil.example/x",
        "/\\evil.example/x",
        "\\/evil.example/x",
        "contacts\\evil",
        "http:\\\\evil.example\\x",
        "https:/\\evil.example/x",
        "http:\\/evil.example/x",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

fn oddities() -> Vec<String> {
    [
        "/evil.example/x",
        "//evil.example/x",
        "@evil.example/x",
        "contacts@evil.example",
        "contacts/%40evil.example",
        "%0d%0aX-Injected:%201",
        "contacts%0d%0aX-Injected:1",
        "contacts%00",
        "contacts/%2f%2fevil.example",
        "%2f%2fevil.example/x",
        "%5c%5cevil.example/x",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "gopher://evil.example/x",
        "http%3A%2F%2Fevil.example%2Fx",
        "https:%2f%2fevil.example/x",
        "%2e",
        "./contacts/../..",
        "contacts/%%32%65%%32%65/oauth/token",
        "contacts/%zz",
        "contacts/%",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

/// Raw characters that have no place in a path or query, which Patchbay
/// itself refuses.
fn raw_characters() -> Vec<String> {
    [
        "contacts/\"x",
        "contacts/{x}",
        "contacts/x|y",
        "contacts/^x",
        "contacts/\u{e9}",
        "contacts/\u{ff0e}\u{ff0e}/oauth/token",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

/// Request targets that are not valid HTTP: hyper answers `400` with an
/// empty body before any route runs, so Patchbay never sees them and its
/// error code cannot be checked, only that nothing reached the upstream.
fn refused_by_hyper() -> Vec<String> {
    [
        "contacts/<x>",
        "contacts/`x",
        "contacts/\u{7f}",
        "contacts/\tx",
        "contacts/\u{0}x",
        "contacts/\u{1b}x",
        "contacts?a b=1",
        "contacts?x=\"1\"",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

async fn no_hostile_path_reaches_the_upstream(db: TestDb) {
    let (server, upstream, project, token) = setup(&db).await;
    let address = server.base_url.trim_start_matches("http://").to_owned();
    let target = |path: &str| format!("/projects/{}/sdk/proxy/echo/{path}", project.id);

    let refused: Vec<String> = traversals()
        .into_iter()
        .chain(foreign_urls())
        .chain(oddities())
        .chain(backslashes())
        .chain(raw_characters())
        .collect();
    assert!(refused.len() >= 100, "{}", refused.len());
    let malformed = refused_by_hyper();
    let before = upstream.requests_received();
    for path in &refused {
        let reply = raw_get(&address, &target(path), &token).await;
        assert!(
            reply.starts_with("HTTP/1.1 400")
                && reply.contains("\"code\":\"proxy_url_not_allowed\""),
            "{path:?}: {reply}"
        );
    }
    for path in &malformed {
        let reply = raw_get(&address, &target(path), &token).await;
        assert!(
            reply.starts_with("HTTP/1.1 400") && reply.contains("content-length: 0\r\n"),
            "{path:?}: {reply}"
        );
    }
    assert_eq!(
        upstream.requests_received(),
        before,
        "the upstream received none of them"
    );

    // The count does move: a benign path, and one the upstream has no route
    // for (as a traversal's target would be), are both counted.
    assert!(
        raw_get(&address, &target("echo/fine"), &token)
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert!(
        raw_get(&address, &target("oauth/token"), &token)
            .await
            .starts_with("HTTP/1.1 404")
    );
    assert_eq!(upstream.requests_received(), before + 2);
}

/// A project whose integration `echo` has the upstream as its API, and a
/// user token of `ada`, who has connected an account of it.
async fn setup(db: &TestDb) -> (TestServer, EchoUpstream, TestProject, String) {
    let server = TestServer::start(db).await;
    let upstream = EchoUpstream::start().await;
    let project = TestProject::with_config(&server, &upstream.config_document()).await;
    let (token, _) = project.connect_api_key("ada", "echo", "echo-key").await;
    (server, upstream, project, token)
}

async fn raw_get(address: &str, target: &str, token: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET {target} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.unwrap();
    String::from_utf8_lossy(&reply).into_owned()
}

backend_tests!(no_hostile_path_reaches_the_upstream);
