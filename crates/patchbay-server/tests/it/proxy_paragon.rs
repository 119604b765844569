//! The Proxy API's Paragon forms (docs/api.md, "Proxy API"): answers wrapped
//! in `{"output": …}` unless `X-Paragon-Use-Raw-Response` is sent, the URL in
//! `X-Paragon-Proxy-Url`, an empty path, and custom integrations by id.

use patchbay_test_support::{EchoUpstream, TestDb, TestProject, TestServer, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const KEY: &str = "echo-key-0123456789";

struct Setup {
    server: TestServer,
    upstream: EchoUpstream,
    project: TestProject,
    token: String,
    integration_id: Uuid,
}

async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::start(db).await;
    let upstream = EchoUpstream::start().await;
    let project = TestProject::with_config(&server, &upstream.config_document()).await;
    let (token, credential) = project.connect_api_key("ada", "echo", KEY).await;
    Setup {
        server,
        upstream,
        project,
        token,
        integration_id: credential.integration_id,
    }
}

impl Setup {
    /// A call to `/projects/{id}/sdk/proxy/{rest}` as ada.
    fn request(&self, method: Method, rest: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(
                method,
                self.server
                    .url(&format!("/projects/{}/sdk/proxy/{rest}", self.project.id)),
            )
            .bearer_auth(&self.token)
    }
}

async fn answer(request: reqwest::RequestBuilder) -> (u16, Option<String>, Vec<u8>) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned());
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"))
}

/// Paragon's REST proxy answers `{output: <the provider's JSON>}`; with
/// `X-Paragon-Use-Raw-Response` the provider's own answer, headers and all.
async fn answers_are_wrapped_in_output_unless_raw(db: TestDb) {
    let s = setup(&db).await;
    let post = |body: Vec<u8>| s.request(Method::POST, "echo/echo/x").body(body);

    let (status, content_type, body) = answer(post(br#"{"ok":true,"n":[1,2]}"#.to_vec())).await;
    assert_eq!(status, 200);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(json_of(&body), json!({"output": {"ok": true, "n": [1, 2]}}));

    // Not JSON: its text. Empty: null.
    let (_, _, body) = answer(post(b"plain words".to_vec())).await;
    assert_eq!(json_of(&body), json!({"output": "plain words"}));
    let (_, _, body) = answer(post(Vec::new())).await;
    assert_eq!(json_of(&body), json!({"output": null}));
    // Not text either: passed on as it came.
    let binary = vec![0xff, 0xfe, 0x00, 0x80];
    let (status, _, body) = answer(post(binary.clone())).await;
    assert_eq!((status, body), (200, binary));

    // The provider's errors are its answers too: its status, wrapped.
    let (status, _, body) = answer(s.request(Method::GET, "echo/nowhere")).await;
    assert_eq!((status, json_of(&body)), (404, json!({"output": null})));

    // Raw, as Paragon's clients ask for it: the provider's own headers and
    // body, untouched.
    for raw in ["1", "true"] {
        let response = post(br#"{"ok":true}"#.to_vec())
            .header("X-Paragon-Use-Raw-Response", raw)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-upstream"], "echo");
        assert!(response.headers().get("content-type").is_none());
        assert_eq!(response.bytes().await.unwrap().as_ref(), br#"{"ok":true}"#);
    }
    // Wrapped, the provider's other headers still cross.
    let response = post(b"{}".to_vec()).send().await.unwrap();
    assert_eq!(response.headers()["x-upstream"], "echo");
    // A wrapped answer is parsed, so it is asked for uncompressed.
    post(b"{}".to_vec())
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    let (_, headers) = s.upstream.last_request().unwrap();
    assert!(headers.get("accept-encoding").is_none());
    post(b"{}".to_vec())
        .header("accept-encoding", "gzip")
        .header("X-Paragon-Use-Raw-Response", "1")
        .send()
        .await
        .unwrap();
    let (_, headers) = s.upstream.last_request().unwrap();
    assert_eq!(headers["accept-encoding"], "gzip");
    // Patchbay's own errors are never wrapped.
    let (status, _, body) = answer(
        s.request(Method::GET, "echo/echo/x")
            .header("X-Paragon-Credential", Uuid::new_v4().to_string()),
    )
    .await;
    assert_eq!(
        (status, json_of(&body)["code"].clone()),
        (404, json!("credential_not_found"))
    );
}

/// `X-Paragon-Proxy-Url` names the provider URL in place of the path, on
/// `/sdk/proxy/{integration}` with or without a trailing slash; it is held to
/// the same URL policy as a path.
async fn the_proxy_url_header_and_an_empty_path(db: TestDb) {
    let s = setup(&db).await;
    for rest in ["echo", "echo/"] {
        let (status, _, body) = answer(
            s.request(Method::POST, rest)
                .header("X-Paragon-Proxy-Url", "/echo/by-header?q=1&q=2")
                .body(r#"{"via":"header"}"#),
        )
        .await;
        assert_eq!(
            (status, json_of(&body)),
            (200, json!({"output": {"via": "header"}})),
            "{rest}"
        );
        let (uri, headers) = s.upstream.last_request().unwrap();
        assert_eq!(uri, "/echo/by-header?q=1&q=2");
        assert_eq!(headers["x-api-key"], KEY);
        assert!(headers.get("x-paragon-proxy-url").is_none());
    }
    // Without the header, an empty path is the API's base URL itself.
    let before = s.upstream.requests_received();
    let (status, _, body) = answer(s.request(Method::GET, "echo")).await;
    assert_eq!((status, json_of(&body)), (404, json!({"output": null})));
    assert_eq!(s.upstream.requests_received(), before + 1);

    // Hostile values never leave Patchbay.
    let before = s.upstream.requests_received();
    for hostile in [
        "https://evil.example/steal",
        "//evil.example/steal",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:1/",
        "/echo/../../admin",
        "/echo/%2e%2e/admin",
        "https://user@evil.example/",
    ] {
        let (status, _, body) = answer(
            s.request(Method::GET, "echo")
                .header("X-Paragon-Proxy-Url", hostile),
        )
        .await;
        assert_eq!(
            (status, json_of(&body)["code"].clone()),
            (400, json!("proxy_url_not_allowed")),
            "{hostile}"
        );
    }
    // Ambiguous requests are refused rather than guessed at.
    let twice = s
        .request(Method::GET, "echo")
        .header("X-Paragon-Proxy-Url", "/echo/a")
        .header("X-Paragon-Proxy-Url", "/echo/b");
    let with_path = s
        .request(Method::GET, "echo/echo/a")
        .header("X-Paragon-Proxy-Url", "/echo/b");
    let with_query = s
        .request(Method::GET, "echo?x=1")
        .header("X-Paragon-Proxy-Url", "/echo/b");
    let blank = s
        .request(Method::GET, "echo")
        .header("X-Paragon-Proxy-Url", " ");
    for request in [twice, with_path, with_query, blank] {
        let (status, _, body) = answer(request).await;
        assert_eq!(
            (status, json_of(&body)["code"].clone()),
            (400, json!("invalid_parameter"))
        );
    }
    assert_eq!(s.upstream.requests_received(), before, "nothing was sent");
}

/// Paragon addresses custom integrations as `/sdk/proxy/custom/{integrationId}`.
async fn custom_integrations_by_id(db: TestDb) {
    let s = setup(&db).await;
    let id = s.integration_id;
    for (rest, path) in [
        (format!("custom/{id}/echo/custom"), "/echo/custom"),
        (format!("custom/{id}"), "/echo/header"),
        (format!("custom/{id}/"), "/echo/header"),
    ] {
        let mut request = s.request(Method::POST, &rest).body("[1]");
        if path == "/echo/header" {
            request = request.header("X-Paragon-Proxy-Url", path);
        }
        let (status, _, body) = answer(request).await;
        assert_eq!(
            (status, json_of(&body)),
            (200, json!({"output": [1]})),
            "{rest}"
        );
        assert_eq!(s.upstream.last_request().unwrap().0, path);
    }
    // The plain route takes the id too.
    let (status, _, _) = answer(s.request(Method::GET, &format!("{id}/echo/plain"))).await;
    assert_eq!(status, 200);

    let other = TestProject::with_config(&s.server, &s.upstream.config_document()).await;
    let (_, theirs) = other.connect_api_key("ada", "echo", KEY).await;
    for unknown in [
        "not-a-uuid".to_owned(),
        Uuid::new_v4().to_string(),
        theirs.integration_id.to_string(),
    ] {
        let (status, _, body) =
            answer(s.request(Method::GET, &format!("custom/{unknown}/echo/x"))).await;
        assert_eq!(
            (status, json_of(&body)["code"].clone()),
            (404, json!("integration_not_found")),
            "{unknown}"
        );
    }
}

backend_tests!(
    answers_are_wrapped_in_output_unless_raw,
    the_proxy_url_header_and_an_empty_path,
    custom_integrations_by_id,
);
