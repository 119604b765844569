//! What one client may hold of a server: a deadline for a request's head
//! and for each piece of its body, a cap on open connections and on one
//! user's event streams, and limits on a request's head answered in JSON.

use std::time::{Duration, Instant};

use patchbay_server::ConnectionLimits;
use patchbay_test_support::{EchoUpstream, TestDb, TestProject, TestServer, backend_tests};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::http::reply;

async fn server_with(db: &TestDb, limits: ConnectionLimits) -> TestServer {
    TestServer::configured(db, |config| config.connections = limits).await
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.base_url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection; how long that took.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the server kept the connection open for {within:?}"),
        }
    }
}

async fn half_sent_heads_and_stalled_bodies_are_cut_off(db: TestDb) {
    let server = server_with(
        &db,
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(1),
            body_idle_timeout: Duration::from_secs(1),
            ..ConnectionLimits::default()
        },
    )
    .await;
    let mut head = connect(&server).await;
    head.write_all(b"GET /healthz HTTP/1.1\r\nHost: patchbay\r\n")
        .await
        .unwrap();
    let held = until_closed(&mut head, Duration::from_secs(5)).await;
    assert!(held < Duration::from_secs(4), "{held:?}");

    // A body that stops coming: the request fails with a JSON error instead
    // of holding its connection.
    let mut body = connect(&server).await;
    body.write_all(
        b"POST /api/v1/projects HTTP/1.1\r\nHost: patchbay\r\ncontent-type: application/json\r\n\
          content-length: 100\r\n\r\n{\"name\": ",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), body.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "no answer within 5 s");
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(answer.contains("\"code\""), "{answer}");
}

/// A kept-alive connection that sends nothing after its answer is closed at
/// the same deadline: an idle client holds no connection for long (nor,
/// with it, the provider connection its proxied calls went on).
async fn idle_kept_alive_connections_are_closed(db: TestDb) {
    let server = server_with(
        &db,
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(1),
            ..ConnectionLimits::default()
        },
    )
    .await;
    let mut idle = connect(&server).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: patchbay\r\n\r\n")
        .await
        .unwrap();
    let held = until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(held >= Duration::from_millis(900), "{held:?}");
    assert!(held < Duration::from_secs(4), "{held:?}");
}

/// A body dripping a byte at a time is never idle, yet must not hold its
/// connection, nor the provider's, for as long as it likes.
async fn a_dripping_upload_through_the_proxy_is_cut_off(db: TestDb) {
    let server = server_with(
        &db,
        ConnectionLimits {
            body_idle_timeout: Duration::from_secs(1),
            ..ConnectionLimits::default()
        },
    )
    .await;
    let upstream = EchoUpstream::start().await;
    let project = TestProject::with_config(&server, &upstream.config_document()).await;
    let (token, _) = project.connect_api_key("ada", "echo", "key-1").await;
    // One byte every 300 ms for 30 s, unless cut off.
    let drip = futures_util::stream::unfold(0u32, |sent| async move {
        (sent < 100).then_some(())?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        Some((Ok::<_, std::io::Error>(vec![b'x']), sent + 1))
    });
    let started = Instant::now();
    let sent = reqwest::Client::new()
        .post(server.url(&format!(
            "/projects/{}/sdk/proxy/echo/echo/drip",
            project.id
        )))
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(drip))
        .send()
        .await;
    // The echo answers at once and echoes what arrives, so the cut shows as
    // an echo that ends early (or a failed exchange), not as a status.
    let echoed = match sent {
        Ok(response) => response.bytes().await.map(|body| body.len()).unwrap_or(0),
        Err(_) => 0,
    };
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "held for {took:?}");
    assert!(echoed < 100, "the whole drip went through");
}

async fn connections_beyond_the_cap_wait_for_one_to_close(db: TestDb) {
    let server = server_with(
        &db,
        ConnectionLimits {
            max_connections: 2,
            ..ConnectionLimits::default()
        },
    )
    .await;
    let held = [connect(&server).await, connect(&server).await];
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(800))
        .build()
        .unwrap();
    let waiting = client.get(server.url("/healthz")).send().await;
    assert!(
        waiting.is_err(),
        "a third connection was served: {waiting:?}"
    );
    drop(held);
    let served = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(served.status(), 200);
}

async fn one_user_may_hold_only_so_many_event_streams(db: TestDb) {
    let server = server_with(
        &db,
        ConnectionLimits {
            max_streams_per_user: 2,
            ..ConnectionLimits::default()
        },
    )
    .await;
    let project = TestProject::create(&server).await;
    let (ada, grace) = (project.user("ada"), project.user("grace"));
    let first = ada.events(None).await.unwrap();
    let _second = ada.events(None).await.unwrap();
    match ada.events(None).await {
        Err(patchbay_sdk::Error::Api { body }) => {
            assert_eq!(body.status, 429);
            assert_eq!(body.code, "too_many_streams");
        }
        other => panic!("a third stream: {:?}", other.map(|_| ())),
    }
    // Another user is not affected, and a closed stream gives its slot back.
    let _grace = grace.events(None).await.unwrap();
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    while ada.events(None).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the closed stream's slot never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn oversized_request_heads_get_json_errors(db: TestDb) {
    let server = TestServer::start(&db).await;
    let client = reqwest::Client::new();
    let long = format!("/healthz?pad={}", "a".repeat(9 * 1024));
    reply(client.get(server.url(&long)).send().await.unwrap())
        .await
        .assert_error(414, "uri_too_long");
    let mut request = client.get(server.url("/healthz"));
    for n in 0..120 {
        request = request.header(format!("x-pad-{n}"), "1");
    }
    reply(request.send().await.unwrap())
        .await
        .assert_error(431, "headers_too_large");
    let big = client
        .get(server.url("/healthz"))
        .header("x-pad", "b".repeat(70 * 1024));
    reply(big.send().await.unwrap())
        .await
        .assert_error(431, "headers_too_large");
}

backend_tests!(
    half_sent_heads_and_stalled_bodies_are_cut_off,
    idle_kept_alive_connections_are_closed,
    a_dripping_upload_through_the_proxy_is_cut_off,
    connections_beyond_the_cap_wait_for_one_to_close,
    one_user_may_hold_only_so_many_event_streams,
    oversized_request_heads_get_json_errors,
);
