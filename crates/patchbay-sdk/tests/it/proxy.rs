//! `UserClient::proxy`: bodies stream both ways, the selected account acts,
//! Patchbay's refusals are errors and the provider's answers are responses.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use futures_util::StreamExt as _;
use patchbay_sdk::{Bytes, Error, Method, UserClient};
use patchbay_test_support::{EchoUpstream, TestDb, TestProject, TestServer};
use tokio::sync::mpsc;

/// Long enough for a loaded machine, short enough that a proxy that waits
/// for a whole body fails quickly instead of hanging the suite.
const PATIENCE: Duration = Duration::from_secs(10);

struct Echo {
    _db: TestDb,
    _server: TestServer,
    upstream: EchoUpstream,
    project: TestProject,
}

/// A server, an echoing upstream behind the API-key integration `echo`.
async fn echo() -> Echo {
    let db = TestDb::sqlite().await;
    let server = TestServer::start(&db).await;
    let upstream = EchoUpstream::start().await;
    let project = TestProject::with_config(&server, &upstream.config_document()).await;
    Echo {
        _db: db,
        _server: server,
        upstream,
        project,
    }
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {PATIENCE:?}"))
}

/// The upstream echoes the body back as it reads it, so each piece the
/// caller sends comes back before the next is sent. A client or a proxy that
/// held either body whole would wait forever here.
#[tokio::test]
async fn request_and_response_bodies_stream_through() {
    let echo = echo().await;
    let (token, _) = echo.project.connect_api_key("ada", "echo", "key-ada").await;
    let ada = echo.project.user_with_token(token);

    let (pieces, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|piece| (piece, rx))
    });
    pieces.send(Ok(Bytes::from_static(b"one "))).await.unwrap();
    let mut response = within(
        "the response headers",
        ada.proxy("echo", Method::POST, "/echo/stream?kind=pieces")
            .header("x-custom", "kept")
            .body_stream(body)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-upstream"], "echo");

    let mut echoed = Vec::new();
    for (sent, next) in [
        ("one ", Some("two ")),
        ("one two ", Some("three")),
        ("one two three", None),
    ] {
        while echoed.len() < sent.len() {
            let chunk = within("an echoed piece", response.chunk()).await.unwrap();
            echoed.extend_from_slice(&chunk.expect("the body ended early"));
        }
        assert_eq!(echoed, sent.as_bytes());
        if let Some(next) = next {
            pieces
                .send(Ok(Bytes::from_static(next.as_bytes())))
                .await
                .unwrap();
        }
    }
    drop(pieces);
    assert_eq!(within("the end", response.chunk()).await.unwrap(), None);

    let (uri, headers) = echo.upstream.last_request().unwrap();
    assert_eq!(uri, "/echo/stream?kind=pieces", "path and query kept");
    assert_eq!(headers["x-custom"], "kept");
    assert_eq!(headers["x-api-key"], "key-ada");
    assert!(
        headers.get("authorization").is_none(),
        "the user token stays home"
    );
}

/// A body of several megabytes, in and out, byte for byte.
#[tokio::test]
async fn large_bodies_arrive_intact() {
    let echo = echo().await;
    let (token, _) = echo.project.connect_api_key("ada", "echo", "key-ada").await;
    let ada = echo.project.user_with_token(token);
    let noise = patchbay_test_support::noise(3 * 1024 * 1024 + 17);
    let pieces: Vec<Result<Bytes, std::io::Error>> = noise
        .chunks(64 * 1024)
        .map(|piece| Ok(Bytes::copy_from_slice(piece)))
        .collect();

    let streamed = ada
        .proxy("echo", Method::PUT, "/echo/blob")
        .body_stream(futures_util::stream::iter(pieces))
        .send()
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut stream = Box::pin(streamed.bytes_stream());
    while let Some(piece) = stream.next().await {
        received.extend_from_slice(&piece.unwrap());
    }
    assert!(
        received == noise,
        "streamed: {} of {} bytes",
        received.len(),
        noise.len()
    );

    let held = ada
        .proxy("echo", Method::POST, "echo/blob")
        .body(noise.clone())
        .send()
        .await
        .unwrap();
    assert!(held.bytes().await.unwrap() == noise.as_slice());
}

/// `selected_credential` picks the account whose key goes upstream; without
/// it the oldest account acts.
#[tokio::test]
async fn the_selected_account_authenticates_the_call() {
    let echo = echo().await;
    let (token, first) = echo
        .project
        .connect_api_key("ada", "echo", "key-first")
        .await;
    let ada = echo.project.user_with_token(token);
    let request = patchbay_sdk::api::InstallRequest {
        allow_multiple_credentials: true,
        external_id: Some("work".to_owned()),
        credentials: serde_json::json!({ "apiKey": "key-second" })
            .as_object()
            .cloned(),
        ..Default::default()
    };
    let second = ada
        .install_with_credentials("echo", &request)
        .await
        .unwrap();

    let key_sent = |user: &UserClient, selection: Option<String>| {
        let mut call = user.proxy("echo", Method::GET, "/echo/who");
        if let Some(selection) = selection {
            call = call.selected_credential(selection);
        }
        let upstream = &echo.upstream;
        async move {
            assert_eq!(call.send().await.unwrap().status(), 200);
            let (_, headers) = upstream.last_request().unwrap();
            headers["x-api-key"].to_str().unwrap().to_owned()
        }
    };
    assert_eq!(key_sent(&ada, None).await, "key-first");
    let by_id = Some(second.credential.id.to_string());
    assert_eq!(key_sent(&ada, by_id).await, "key-second");
    assert_eq!(
        key_sent(&ada, Some("ext:work".to_owned())).await,
        "key-second"
    );
    let first_id = Some(first.id.to_string());
    assert_eq!(key_sent(&ada, first_id).await, "key-first");
}

fn assert_patchbay_error(
    result: Result<patchbay_sdk::ProxyResponse, Error>,
    status: u16,
    code: &str,
) {
    match result {
        Err(error) => {
            assert_eq!(
                (error.status(), error.code()),
                (Some(status), Some(code)),
                "{error}"
            );
            assert!(matches!(error, Error::Api { .. }), "{error:?}");
        }
        Ok(response) => panic!("expected {code}, got a response {}", response.status()),
    }
}

/// What Patchbay refuses before or instead of calling the provider is an
/// `Error::Api`, with its status and code; nothing reaches the provider.
#[tokio::test]
async fn patchbay_refusals_are_errors_with_status_and_code() {
    let echo = echo().await;
    let (token, _) = echo.project.connect_api_key("ada", "echo", "key-ada").await;
    let ada = echo.project.user_with_token(token);
    let before = echo.upstream.requests_received();

    let unknown = ada
        .proxy("echo", Method::GET, "/echo/x")
        .selected_credential(uuid::Uuid::new_v4().to_string())
        .send()
        .await;
    assert_patchbay_error(unknown, 404, "credential_not_found");

    let elsewhere = ada
        .proxy("echo", Method::GET, "https://attacker.example/steal")
        .send()
        .await;
    assert_patchbay_error(elsewhere, 400, "proxy_url_not_allowed");

    let nobody = echo.project.user("grace");
    let not_installed = nobody.proxy("echo", Method::GET, "/echo/x").send().await;
    assert_patchbay_error(not_installed, 404, "integration_not_installed");

    let forged = echo.project.user_with_token("not-a-jwt".to_owned());
    let rejected = forged.proxy("echo", Method::GET, "/echo/x").send().await;
    assert_patchbay_error(rejected, 401, "unauthorized_malformed_token");

    assert_eq!(echo.upstream.requests_received(), before);
}

/// An upstream whose errors are JSON, some larger than what the SDK reads
/// to tell them from Patchbay's.
async fn erring_upstream() -> (String, tokio::task::JoinHandle<()>) {
    let json = |status: StatusCode, body: Body| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .header("x-provider", "yes")
            .body(body)
            .unwrap()
    };
    let router = Router::new()
        .route(
            "/api/missing",
            get(move || async move {
                json(
                    StatusCode::NOT_FOUND,
                    Body::from(r#"{"message":"No such contact.","code":"not_found","status":404,"requestId":"r-1"}"#),
                )
            }),
        )
        .route(
            "/api/huge",
            get(move || async move {
                let pieces = (0..64).map(|i| Ok::<_, std::io::Error>(Bytes::from(huge_piece(i))));
                json(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Body::from_stream(futures_util::stream::iter(pieces)),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/api", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (base_url, task)
}

/// Piece `i` of a 256 KiB JSON-looking body; the concatenation is what the
/// caller must read back.
fn huge_piece(i: usize) -> Vec<u8> {
    format!("{i:04}").repeat(1024).into_bytes()
}

/// The provider's own errors are responses, passed through whole, even
/// when they are JSON and larger than the part the SDK looks at.
#[tokio::test]
async fn provider_errors_are_responses_read_byte_for_byte() {
    let db = TestDb::sqlite().await;
    let server = TestServer::start(&db).await;
    let (base_url, upstream) = erring_upstream().await;
    let config = format!(
        r#"
integrations:
  provider:
    name: Provider
    auth:
      type: api_key
      fields: [{{id: apiKey, title: Key, secret: true}}]
      inject: {{header: X-Api-Key, value: "{{{{ credentials.apiKey }}}}"}}
    api:
      baseUrl: {base_url}
"#
    );
    let project = TestProject::with_config(&server, &config).await;
    let (token, _) = project.connect_api_key("ada", "provider", "k").await;
    let ada = project.user_with_token(token);

    let missing = ada
        .proxy("provider", Method::GET, "/missing")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["x-provider"], "yes");
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(
        (body["code"].as_str(), body["requestId"].as_str()),
        (Some("not_found"), Some("r-1"))
    );

    let huge = ada
        .proxy("provider", Method::GET, "/huge")
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 422);
    let expected: Vec<u8> = (0..64).flat_map(huge_piece).collect();
    assert!(
        huge.bytes().await.unwrap() == expected.as_slice(),
        "every byte, in order"
    );
    upstream.abort();
}
