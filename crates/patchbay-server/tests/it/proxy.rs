//! The Proxy API: the integration's API as exactly the selected account.

use std::time::Duration;

use patchbay_api::InstallRequest;
use patchbay_server::sandbox::{FailureKind, FailureMode, FailureTarget, SandboxConfig};
use patchbay_test_support::{
    FakeProvider, TestDb, TestServer, backend_tests, connect_crm, install_fields,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::ProviderSetup;

type Setup = ProviderSetup;

async fn connect(setup: &Setup, account: &str, multiple: bool) -> Uuid {
    let ada = setup.project.user_with_token(setup.token.clone());
    let request = InstallRequest {
        allow_multiple_credentials: multiple,
        ..Default::default()
    };
    connect_crm(&ada, &request, account).await
}

async fn setup(server: TestServer, config: SandboxConfig) -> Setup {
    let provider = FakeProvider::start(config).await;
    let document = provider.config_document();
    ProviderSetup::new(server, provider, &document).await
}

impl Setup {
    fn url(&self, path: &str) -> String {
        self.server
            .url(&format!("/projects/{}/sdk/proxy/{path}", self.project.id))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        selection: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(selection) = selection {
            request = request.header("X-Paragon-Credential", selection);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            unwrapped(serde_json::from_str(&text).unwrap_or(Value::String(text))),
        )
    }
}

/// The provider's body out of Paragon's `{"output": …}`; Patchbay's own
/// errors come as they are.
fn unwrapped(body: Value) -> Value {
    match body {
        Value::Object(mut wrapper) if wrapper.len() == 1 && wrapper.contains_key("output") => {
            wrapper.remove("output").unwrap_or(Value::Null)
        }
        other => other,
    }
}

async fn each_account_calls_the_api_as_itself(db: TestDb) {
    let server = TestServer::start(&db).await;
    let setup = setup(server, SandboxConfig::default()).await;
    let a = connect(&setup, "acct_ada", false).await;
    let b = connect(&setup, "acct_grace", true).await;
    let get = reqwest::Method::GET;
    assert_eq!(
        setup.call(get.clone(), "crm/me", None, None).await.1["id"],
        "acct_ada",
        "default account"
    );
    assert_eq!(
        setup
            .call(get.clone(), "crm/me", Some(&a.to_string()), None)
            .await
            .1["id"],
        "acct_ada"
    );
    assert_eq!(
        setup
            .call(get.clone(), "crm/me", Some(&b.to_string()), None)
            .await
            .1["id"],
        "acct_grace"
    );

    // Writes go to the selected account only, with the provider's status.
    let (status, created) = setup
        .call(
            reqwest::Method::POST,
            "crm/contacts",
            Some(&b.to_string()),
            Some(json!({"name": "Via proxy"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let names = |contacts: Value| {
        contacts
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(
        names(
            setup
                .call(get.clone(), "crm/contacts", Some(&b.to_string()), None)
                .await
                .1
        )
        .contains(&"Via proxy".to_owned())
    );
    assert!(
        !names(
            setup
                .call(get.clone(), "crm/contacts", Some(&a.to_string()), None)
                .await
                .1
        )
        .contains(&"Via proxy".to_owned())
    );
    let stats = setup.provider.sandbox.stats();
    assert!(stats.api_requests.get("acct_grace").copied().unwrap_or(0) >= 3);

    // Provider errors pass through untouched; Patchbay's own are JSON with a code.
    let (status, body) = setup
        .call(
            get.clone(),
            "crm/contacts/ct_nope",
            Some(&a.to_string()),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert!(
        body.get("code").is_none(),
        "the provider's body, not Patchbay's: {body}"
    );
    let (status, body) = setup
        .call(
            get.clone(),
            "crm/me",
            Some(&Uuid::new_v4().to_string()),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("credential_not_found"))
    );
}

async fn api_key_accounts_are_authenticated_by_the_provider_definition(db: TestDb) {
    let server = TestServer::start(&db).await;
    let setup = setup(server, SandboxConfig::default()).await;
    let ada = setup.project.user_with_token(setup.token.clone());
    let request = install_fields(json!({"apiKey": "sbx_key_katherine_5b7e0c93a6f1"}));
    ada.install_with_credentials("keys", &request)
        .await
        .unwrap();
    let (status, me) = setup
        .call(reqwest::Method::GET, "keys/me", None, None)
        .await;
    assert_eq!((status, me["id"].as_str()), (200, Some("acct_katherine")));

    // The rendered authentication follows the definition: a document that
    // sends the key differently is obeyed on the very next call.
    let document = setup.provider.config_document();
    let garbled = document.replace(
        r#"value: "{{ credentials.apiKey }}""#,
        r#"value: "x{{ credentials.apiKey }}""#,
    );
    assert_ne!(garbled, document);
    setup
        .project
        .admin
        .apply_config(&garbled, false)
        .await
        .unwrap();
    let (status, _) = setup
        .call(reqwest::Method::GET, "keys/me", None, None)
        .await;
    assert_eq!(status, 401);
    // A replay after the provider's `401` renders again for the refreshed
    // token: `an_upstream_401_is_answered_by_one_refresh_and_one_replay`.
}

async fn paths_cannot_leave_the_api(db: TestDb) {
    let server = TestServer::start(&db).await;
    let setup = setup(server, SandboxConfig::default()).await;
    connect(&setup, "acct_ada", false).await;
    let before = setup
        .provider
        .sandbox
        .stats()
        .api_requests
        .values()
        .sum::<u64>();
    // Sent raw: an HTTP client library would normalise these paths itself.
    for hostile in [
        "crm/%2e%2e/oauth/token",
        "crm/../../control/reset",
        "crm/..%2f..%2fcontrol/reset",
        "crm/http://127.0.0.1:9/x",
        "crm/%0d%0aX-Injected:1",
        "crm/https:%2f%2fevil.example/x",
        "crm//evil.example/x",
        "crm/%252e%252e/oauth/token",
    ] {
        let reply = raw_get(&setup, hostile).await;
        assert!(reply.starts_with("HTTP/1.1 400"), "{hostile}: {reply}");
        assert!(
            reply.contains("proxy_url_not_allowed"),
            "{hostile}: {reply}"
        );
    }
    assert_eq!(
        setup
            .provider
            .sandbox
            .stats()
            .api_requests
            .values()
            .sum::<u64>(),
        before,
        "nothing reached the provider"
    );
}

/// A GET with the path exactly as written, over a plain socket.
async fn raw_get(setup: &Setup, path: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = setup.server.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET /projects/{}/sdk/proxy/{path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {}\r\nconnection: close\r\n\r\n",
        setup.project.id, setup.token
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    reply
}

/// 200 requests at once for an account whose token has expired: one refresh
/// at the provider, and every request gets through with the new token.
async fn concurrent_requests_share_one_refresh(db: TestDb) {
    let server = TestServer::without_refresher(&db).await;
    // Tokens live 6 s: the first has expired when the burst starts, and the
    // renewed one is not due again (a quarter of its life before expiry)
    // for 4.5 s, long after the 200 requests are answered on a loaded machine.
    let config = SandboxConfig {
        access_token_ttl: Duration::from_secs(6),
        ..SandboxConfig::default()
    };
    let setup = setup(server, config).await;
    connect(&setup, "acct_ada", false).await;
    tokio::time::sleep(Duration::from_millis(6300)).await;
    let before = setup.provider.sandbox.stats().refreshes_succeeded;
    let calls = (0..200).map(|_| setup.call(reqwest::Method::GET, "crm/me", None, None));
    let results = futures_util::future::join_all(calls).await;
    assert!(
        results
            .iter()
            .all(|(status, me)| *status == 200 && me["id"] == "acct_ada"),
        "{:?}",
        results.iter().find(|(s, _)| *s != 200)
    );
    assert_eq!(
        setup.provider.sandbox.stats().refreshes_succeeded - before,
        1
    );
}

/// A provider that refuses a token before its expiry: one forced refresh,
/// one replay, and the caller never sees the 401.
async fn an_upstream_401_is_answered_by_one_refresh_and_one_replay(db: TestDb) {
    let server = TestServer::without_refresher(&db).await;
    let setup = setup(server, SandboxConfig::default()).await;
    connect(&setup, "acct_ada", false).await;
    let before = setup.provider.sandbox.stats();
    setup.provider.sandbox.set_failure(
        FailureMode::new(FailureKind::Unauthorized)
            .target(FailureTarget::Api)
            .times(1),
    );
    let (status, me) = setup.call(reqwest::Method::GET, "crm/me", None, None).await;
    assert_eq!((status, me["id"].as_str()), (200, Some("acct_ada")));
    let after = setup.provider.sandbox.stats();
    assert_eq!(after.refreshes_succeeded - before.refreshes_succeeded, 1);
    assert_eq!(after.failures_injected - before.failures_injected, 1);

    // A provider that keeps refusing: one replay only, then its answer.
    setup.provider.sandbox.set_failure(
        FailureMode::new(FailureKind::Unauthorized)
            .target(FailureTarget::Api)
            .times(5),
    );
    let (status, _) = setup.call(reqwest::Method::GET, "crm/me", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(
        setup.provider.sandbox.stats().failures_injected - after.failures_injected,
        2
    );
}

/// A provider that invalidates each refresh token the moment it is used,
/// hammered with forced refreshes from 8 concurrent callers: over 1000
/// refreshes, not one is refused, and the account stays valid.
async fn the_refresh_chain_survives_a_thousand_concurrent_cycles(db: TestDb) {
    let server = TestServer::without_refresher(&db).await;
    let setup = setup(server, SandboxConfig::default()).await;
    let id = connect(&setup, "acct_ada", false).await;
    setup
        .provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::Unauthorized).target(FailureTarget::Api));
    while setup.provider.sandbox.stats().refreshes_succeeded < 1000 {
        let burst = (0..8).map(|_| setup.call(reqwest::Method::GET, "crm/me", None, None));
        for (status, body) in futures_util::future::join_all(burst).await {
            assert_eq!(
                status, 401,
                "the provider's own answer passes through: {body}"
            );
        }
    }
    setup.provider.sandbox.set_failure(FailureMode::NONE);
    let (status, me) = setup.call(reqwest::Method::GET, "crm/me", None, None).await;
    assert_eq!((status, me["id"].as_str()), (200, Some("acct_ada")));
    let stats = setup.provider.sandbox.stats();
    assert_eq!(
        stats.token_requests.get("refresh_token").copied(),
        Some(stats.refreshes_succeeded),
        "no refresh was refused"
    );
    let credential = setup
        .project
        .user_with_token(setup.token.clone())
        .credential(&id.to_string())
        .await
        .unwrap();
    assert_eq!(credential.status, patchbay_api::CredentialStatus::Valid);
    assert_eq!(credential.refresh_failure_count, 0);
}

/// A provider that hangs is `504 upstream_timeout` within the provider
/// timeout (3 s in tests); one that is gone is `502 upstream_unreachable`.
async fn a_hanging_or_missing_upstream_gets_a_clear_error(db: TestDb) {
    let server = TestServer::without_refresher(&db).await;
    let setup = setup(server, SandboxConfig::default()).await;
    connect(&setup, "acct_ada", false).await;
    let slow = FailureMode::new(FailureKind::Slow)
        .target(FailureTarget::Api)
        .delay(Duration::from_secs(10));
    setup.provider.sandbox.set_failure(slow);
    let started = std::time::Instant::now();
    let (status, body) = setup.call(reqwest::Method::GET, "crm/me", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (504, Some("upstream_timeout")),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "answered within the timeout: {:?}",
        started.elapsed()
    );

    let Setup {
        server,
        provider,
        project,
        token,
    } = setup;
    drop(provider);
    let response = reqwest::Client::new()
        .get(server.url(&format!("/projects/{}/sdk/proxy/crm/me", project.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "upstream_unreachable", "{body}");
}

/// Proxy API calls skip the router, but not what its layers give every
/// request: a request id (the caller's own, or a new UUID), the route's
/// metrics under its template, and JSON errors.
async fn proxied_calls_carry_request_ids_and_route_metrics(db: TestDb) {
    let server = TestServer::start(&db).await;
    let setup = setup(server, SandboxConfig::default()).await;
    connect(&setup, "acct_ada", false).await;
    let client = reqwest::Client::new();
    let get = |id: Option<&str>| {
        let mut request = client.get(setup.url("crm/me")).bearer_auth(&setup.token);
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        request.send()
    };
    let request_id = |response: &reqwest::Response| {
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };

    let echoed = get(Some("from-the-caller")).await.unwrap();
    assert_eq!(echoed.status(), 200);
    assert_eq!(request_id(&echoed), "from-the-caller");
    let first = get(None).await.unwrap();
    let second = get(None).await.unwrap();
    assert_eq!(first.status(), 200);
    let (first, second) = (request_id(&first), request_id(&second));
    assert!(Uuid::parse_str(&first).is_ok(), "{first}");
    assert_ne!(first, second);

    let anonymous = client.get(setup.url("crm/me")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("x-request-id"));
    let body: Value = anonymous.json().await.unwrap();
    assert!(
        body["code"]
            .as_str()
            .is_some_and(|code| code.starts_with("unauthorized")),
        "{body}"
    );

    let metrics = setup.server.metrics().await;
    let route = "/projects/{projectId}/sdk/proxy/{integration}/{*path}";
    for line in [
        format!(r#"patchbay_http_requests_total{{method="GET",route="{route}",status="200"}} 3"#),
        format!(r#"patchbay_http_requests_total{{method="GET",route="{route}",status="401"}} 1"#),
        r#"patchbay_proxy_request_duration_seconds_count{integration="crm",status="200"} 3"#
            .to_owned(),
    ] {
        assert!(metrics.contains(&line), "{line} missing from\n{metrics}");
    }
    assert!(
        !metrics.contains(&setup.project.id.to_string()),
        "raw ids must not become labels"
    );
}

backend_tests!(
    proxied_calls_carry_request_ids_and_route_metrics,
    a_hanging_or_missing_upstream_gets_a_clear_error,
    an_upstream_401_is_answered_by_one_refresh_and_one_replay,
    the_refresh_chain_survives_a_thousand_concurrent_cycles,
    each_account_calls_the_api_as_itself,
    api_key_accounts_are_authenticated_by_the_provider_definition,
    paths_cannot_leave_the_api,
    concurrent_requests_share_one_refresh,
);
