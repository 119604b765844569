//! One caller connection, many proxied calls: the upstream connections
//! beneath them are reused, replaced when the provider closes them, and
//! never mix up two providers.

use patchbay_test_support::{EchoUpstream, TestDb, TestProject, TestServer, backend_tests};

struct Setup {
    server: TestServer,
    echo: EchoUpstream,
    mirror: EchoUpstream,
    project: TestProject,
    token: String,
    /// One client: its calls share one kept-alive connection to Patchbay.
    client: reqwest::Client,
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
    Setup {
        server,
        echo,
        mirror,
        project,
        token,
        client: reqwest::Client::new(),
    }
}

impl Setup {
    /// A raw proxied GET of `path` below `integration`'s API: its status and body.
    async fn get(&self, integration: &str, path: &str) -> (u16, String) {
        let url = self.server.url(&format!(
            "/projects/{}/sdk/proxy/{integration}/{path}",
            self.project.id
        ));
        let response = self
            .client
            .get(url)
            .bearer_auth(&self.token)
            .header("x-paragon-use-raw-response", "1")
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
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
}

backend_tests!(
    calls_on_one_caller_connection_reuse_one_upstream_connection,
    a_connection_the_provider_closes_is_replaced,
    alternating_providers_each_get_their_own_calls,
);
