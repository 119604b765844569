//! The proxy streams bodies byte for byte, both ways, without buffering them.

use std::time::{Duration, Instant};

use patchbay_test_support::{EchoUpstream, TestDb, TestProject, TestServer, backend_tests};

const KEY: &str = "echo-key-0123456789";

async fn setup(db: &TestDb) -> (TestServer, EchoUpstream, TestProject, String) {
    let server = TestServer::start(db).await;
    let upstream = EchoUpstream::start().await;
    let project = TestProject::with_config(&server, &upstream.config_document()).await;
    let (token, _) = project.connect_api_key("ada", "echo", KEY).await;
    (server, upstream, project, token)
}

async fn ten_megabytes_go_through_byte_for_byte(db: TestDb) {
    let (server, upstream, project, token) = setup(&db).await;
    let body = patchbay_test_support::noise(10 * 1024 * 1024);
    let url = server.url(&format!(
        "/projects/{}/sdk/proxy/echo/echo/blob?x=1&x=2&a%20b=c%2Fd",
        project.id
    ));
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(&token)
        .header("x-custom", "kept")
        .header("cookie", "session=secret")
        .header("x-paragon-credential", "")
        // Streamed both ways: the raw answer (a wrapped one is read whole).
        .header("x-paragon-use-raw-response", "1")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-upstream"],
        "echo",
        "response headers pass"
    );
    let echoed = response.bytes().await.unwrap();
    assert_eq!(echoed.len(), body.len());
    assert!(echoed.as_ref() == body.as_slice(), "byte-exact both ways");

    let (uri, headers) = upstream.last_request().unwrap();
    assert_eq!(
        uri, "/echo/blob?x=1&x=2&a%20b=c%2Fd",
        "query kept byte for byte"
    );
    assert_eq!(headers["x-api-key"], KEY, "the account's key was injected");
    assert_eq!(headers["x-custom"], "kept");
    assert!(
        headers.get("authorization").is_none(),
        "the caller's token never goes upstream"
    );
    assert!(headers.get("cookie").is_none());
    assert!(headers.get("x-paragon-credential").is_none());
}

async fn a_slow_response_reaches_the_client_as_it_comes(db: TestDb) {
    let (server, _upstream, project, token) = setup(&db).await;
    let started = Instant::now();
    let mut response = reqwest::Client::new()
        .get(server.url(&format!("/projects/{}/sdk/proxy/echo/slow", project.id)))
        .bearer_auth(&token)
        .header("x-paragon-use-raw-response", "true")
        .send()
        .await
        .unwrap();
    let first = response.chunk().await.unwrap().unwrap();
    let first_at = started.elapsed();
    assert_eq!(first.as_ref(), b"first ");
    assert!(
        first_at < Duration::from_millis(800),
        "first byte after {first_at:?}, before the upstream finished"
    );
    let mut rest = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(rest, b"second");
    assert!(started.elapsed() >= Duration::from_secs(1));
}

backend_tests!(
    ten_megabytes_go_through_byte_for_byte,
    a_slow_response_reaches_the_client_as_it_comes
);
