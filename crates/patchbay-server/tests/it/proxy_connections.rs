//! One caller connection, many proxied calls: the upstream connections
//! beneath them are reused, replaced when the provider closes them, and
//! never mix up two providers nor churn between them.

use axum::body::Bytes;
use axum::http::{Request, header};
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use patchbay_test_support::{EchoUpstream, TestDb, TestProject, TestServer, backend_tests};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

struct Setup {
    server: TestServer,
    echo: EchoUpstream,
    mirror: EchoUpstream,
    project: TestProject,
    token: String,
    /// One HTTP/1.1 connection to Patchbay that every call goes on, as a
    /// keep-alive client's would.
    caller: Mutex<http1::SendRequest<Empty<Bytes>>>,
}

async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::start(db).await;
    let echo = EchoUpstream::start().await;
    let mirror = EchoUpstream::start().await;
    let document = format!(
        "\nintegrations:\n{}{}",
        echo.integration("echo"),
        mirror.integration("mirror")
    );
    let project = TestProject::with_config(&server, &document).await;
    let (token, _) = project.connect_api_key("ada", "echo", "echo-key").await;
    project.connect_api_key("ada", "mirror", "mirror-key").await;
    let socket = TcpStream::connect(server.base_url.trim_start_matches("http://"))
        .await
        .unwrap();
    let (caller, connection) = http1::handshake(TokioIo::new(socket)).await.unwrap();
    tokio::spawn(connection);
    Setup {
        server,
        echo,
        mirror,
        project,
        token,
        caller: Mutex::new(caller),
    }
}

impl Setup {
    /// A raw proxied GET of `path` below `integration`'s API, on the one
    /// caller connection: its status and body.
    async fn get(&self, integration: &str, path: &str) -> (u16, String) {
        let request = Request::get(format!(
            "/projects/{}/sdk/proxy/{integration}/{path}",
            self.project.id
        ))
        .header(
            header::HOST,
            self.server.base_url.trim_start_matches("http://"),
        )
        .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
        .header("x-paragon-use-raw-response", "1")
        .body(Empty::new())
        .unwrap();
        let mut caller = self.caller.lock().await;
        caller.ready().await.unwrap();
        let response = caller.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }
}

async fn calls_on_one_caller_connection_reuse_one_upstream_connection(db: TestDb) {
    let setup = setup(&db).await;
    for call in 0..20 {
        let path = format!("echo/call-{call}");
        assert_eq!(setup.get("echo", &path).await.0, 200, "call {call}");
        let (seen, headers) = setup.echo.last_request().unwrap();
        assert_eq!(seen, format!("/{path}"));
        assert_eq!(headers["x-api-key"], "echo-key");
    }
    assert_eq!(setup.echo.connections_accepted(), 1);
}

async fn a_connection_the_provider_closes_is_replaced(db: TestDb) {
    let setup = setup(&db).await;
    for round in 0..5 {
        assert_eq!(
            setup.get("echo", "close").await,
            (200, "closing".to_owned()),
            "round {round}"
        );
        assert_eq!(
            setup.get("echo", "echo/after").await.0,
            200,
            "round {round}"
        );
    }
    // The first connection, and one more after each answer that closed one.
    assert_eq!(setup.echo.connections_accepted(), 6);
    assert_eq!(setup.echo.requests_received(), 10);
}

async fn alternating_providers_each_get_their_own_calls(db: TestDb) {
    let setup = setup(&db).await;
    for call in 0..10 {
        let (integration, upstream, other, key) = if call % 2 == 0 {
            ("echo", &setup.echo, &setup.mirror, "echo-key")
        } else {
            ("mirror", &setup.mirror, &setup.echo, "mirror-key")
        };
        let before = other.requests_received();
        let path = format!("echo/call-{call}");
        assert_eq!(setup.get(integration, &path).await.0, 200, "call {call}");
        let (seen, headers) = upstream.last_request().unwrap();
        assert_eq!(seen, format!("/{path}"), "call {call}");
        assert_eq!(headers["x-api-key"], key, "call {call}");
        assert_eq!(other.requests_received(), before, "call {call}");
    }
    assert_eq!(
        setup.echo.requests_received() + setup.mirror.requests_received(),
        10
    );
    // No new connection per change of provider: the first provider's is
    // kept, the other's calls reuse pooled ones.
    assert_eq!(setup.echo.connections_accepted(), 1);
    assert!(
        setup.mirror.connections_accepted() <= 2,
        "{}",
        setup.mirror.connections_accepted()
    );
}

backend_tests!(
    calls_on_one_caller_connection_reuse_one_upstream_connection,
    a_connection_the_provider_closes_is_replaced,
    alternating_providers_each_get_their_own_calls,
);
