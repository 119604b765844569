//! Over a hundred hostile proxy paths, sent raw over a socket: each is
//! refused with `400`, and the provider receives nothing. (The pure policy
//! has its own, larger corpus in `patchbay-proxy`.)

use patchbay_api::InstallRequest;
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{
    FakeProvider, TestDb, TestProject, TestServer, authorize, backend_tests,
};

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

async fn no_hostile_path_reaches_the_provider(db: TestDb) {
    let server = TestServer::start(&db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&server, &provider.config_document()).await;
    let token = project.signer.mint("ada").unwrap();
    let ada = project.user_with_token(token.clone());
    let started = ada
        .start_install("crm", &InstallRequest::default())
        .await
        .unwrap();
    assert_eq!(
        authorize(&started.authorization_url, "acct_ada")
            .await
            .status,
        200
    );
    let before = provider.sandbox.stats();

    let corpus: Vec<String> = traversals()
        .into_iter()
        .chain(foreign_urls())
        .chain(oddities())
        .collect();
    assert!(corpus.len() >= 100, "{}", corpus.len());
    let address = server.base_url.trim_start_matches("http://").to_owned();
    for path in &corpus {
        let reply = raw_get(
            &address,
            &format!("/projects/{}/sdk/proxy/crm/{path}", project.id),
            &token,
        )
        .await;
        assert!(reply.starts_with("HTTP/1.1 400"), "{path}: {reply}");
        // Requests hyper itself refuses as malformed HTTP carry no body;
        // every one that reached Patchbay says why.
        if reply.contains("\r\n\r\n{") {
            assert!(
                reply.contains("\"code\":\"proxy_url_not_allowed\""),
                "{path}: {reply}"
            );
        }
    }
    let after = provider.sandbox.stats();
    assert_eq!(
        after.api_requests, before.api_requests,
        "the provider received none of them"
    );
    assert_eq!(after.token_requests, before.token_requests);
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

backend_tests!(no_hostile_path_reaches_the_provider);
