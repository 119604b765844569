//! The Proxy API against httpbin (from PyPI), an upstream Patchbay's code
//! had no hand in: methods, queries, bodies, statuses, headers both ways,
//! streaming, redirects, and each account's own credentials.

use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use patchbay_api::InstallRequest;
use patchbay_test_support::{TestDb, TestProject, TestServer, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::python::PythonProcess;

/// httpbin in a child process on a free loopback port, killed when dropped.
pub(crate) struct Httpbin {
    pub(crate) base_url: String,
    _process: PythonProcess,
}

impl Httpbin {
    pub(crate) async fn start() -> Self {
        // httpbin cannot bind port 0 and report it: take a free port and
        // hand it over.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let port_text = port.to_string();
        let process = PythonProcess::spawn(
            &[
                "-m",
                "httpbin.core",
                "--host",
                "127.0.0.1",
                "--port",
                &port_text,
            ],
            Stdio::null(),
        );
        let httpbin = Self {
            base_url: format!("http://127.0.0.1:{port}"),
            _process: process,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = reqwest::get(format!("{}/get", httpbin.base_url)).await
                && response.status() == 200
            {
                return httpbin;
            }
            assert!(
                Instant::now() < deadline,
                "httpbin did not start (is it installed? scripts/test installs it)"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) fn config_document(&self) -> String {
        format!(
            r#"
integrations:
  bin:
    name: httpbin
    auth:
      type: api_key
      fields: [{{id: apiKey, title: API key, secret: true}}]
      inject: {{header: Authorization, value: "Bearer {{{{ credentials.apiKey }}}}"}}
    api:
      baseUrl: {}
"#,
            self.base_url
        )
    }
}

struct Setup {
    server: TestServer,
    project: TestProject,
    token: String,
    _httpbin: Httpbin,
    /// Accounts A and B and the API keys they were connected with.
    accounts: [(Uuid, &'static str); 2],
}

async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::start(db).await;
    let httpbin = Httpbin::start().await;
    let project = TestProject::with_config(&server, &httpbin.config_document()).await;
    let token = project.signer.mint("ada").unwrap();
    let ada = project.user_with_token(token.clone());
    let mut accounts = Vec::new();
    for key in ["key-of-account-a", "key-of-account-b"] {
        let request = InstallRequest {
            credentials: Some(json!({"apiKey": key}).as_object().unwrap().clone()),
            allow_multiple_credentials: true,
            ..Default::default()
        };
        let installed = ada.install_with_credentials("bin", &request).await.unwrap();
        accounts.push((installed.credential.id, key));
    }
    Setup {
        server,
        project,
        token,
        _httpbin: httpbin,
        accounts: [accounts[0], accounts[1]],
    }
}

impl Setup {
    /// A request as account A.
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request_as(self.accounts[0].0, method, path)
    }

    fn request_as(&self, account: Uuid, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = self.server.url(&format!(
            "/projects/{}/sdk/proxy/bin{path}",
            self.project.id
        ));
        // Redirects reach the test as they reach any caller.
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .request(method, url)
            .bearer_auth(&self.token)
            .header("x-paragon-credential", account.to_string())
            // What arrives at httpbin and what it answers, as they are.
            .header("x-paragon-use-raw-response", "1")
    }
}

async fn each_account_calls_httpbin_with_its_own_credentials(db: TestDb) {
    let setup = setup(&db).await;
    for (id, key) in setup.accounts {
        let response = setup
            .request_as(id, Method::GET, "/bearer")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token"], key, "account {id}");
    }
    // Two selections are refused rather than one of them guessed.
    let response = setup
        .request_as(setup.accounts[0].0, Method::GET, "/bearer")
        .header("x-paragon-credential", setup.accounts[1].0.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_parameter");
}

async fn every_method_query_and_body_arrive_as_sent(db: TestDb) {
    let setup = setup(&db).await;
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = setup
            .request(method.clone(), "/anything?a=1&a=2&b=hello%20world&c=%2F&d=")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{method}");
        let echoed: Value = response.json().await.unwrap();
        assert_eq!(echoed["method"], method.as_str());
        assert_eq!(
            echoed["args"],
            json!({"a": ["1", "2"], "b": "hello world", "c": "/", "d": ""}),
            "{method}"
        );
    }
    let head = setup.request(Method::HEAD, "/get").send().await.unwrap();
    assert_eq!(head.status(), 200);
    // httpbin answers OPTIONS itself, with the methods the route allows.
    let options = setup
        .request(Method::OPTIONS, "/anything")
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 200);
    let allow = options.headers()["allow"].to_str().unwrap();
    assert!(allow.contains("PATCH"), "{allow}");

    // 10 MB of noise, far beyond what the proxy keeps for a replay, so it
    // streams; httpbin answers with it base64-encoded in ~13 MB of JSON.
    let body = patchbay_test_support::noise(10 * 1024 * 1024);
    let response = setup
        .request(Method::POST, "/anything")
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let echoed: Value = response.json().await.unwrap();
    let data = echoed["data"].as_str().unwrap();
    let encoded = data
        .strip_prefix("data:application/octet-stream;base64,")
        .unwrap_or_else(|| panic!("{}", &data[..data.len().min(80)]));
    assert_eq!(
        Sha256::digest(STANDARD.decode(encoded).unwrap()),
        Sha256::digest(&body),
        "byte for byte"
    );

    let json_body = json!({"name": "Ada", "tags": ["x", "y"]});
    let echoed: Value = setup
        .request(Method::PUT, "/anything")
        .json(&json_body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echoed["json"], json_body);
}

async fn statuses_and_headers_pass_both_ways(db: TestDb) {
    let setup = setup(&db).await;
    for status in [201, 204, 404, 418] {
        let response = setup
            .request(Method::GET, &format!("/status/{status}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
    }
    let response = setup
        .request(
            Method::GET,
            "/response-headers?X-Upstream-Flavour=plain&Cache-Control=no-store",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-upstream-flavour"], "plain");
    assert_eq!(response.headers()["cache-control"], "no-store");

    let echoed: Value = setup
        .request(Method::GET, "/headers")
        .header("x-trace-id", "trace-123")
        .header("cookie", "session=the-developers")
        .header("x-paragon-use-raw-response", "1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let headers = echoed["headers"].as_object().unwrap();
    assert_eq!(headers["X-Trace-Id"], "trace-123");
    assert_eq!(headers["Authorization"], "Bearer key-of-account-a");
    assert!(!headers.contains_key("Cookie"), "{headers:?}");
    assert!(
        headers
            .keys()
            .all(|name| !name.to_ascii_lowercase().starts_with("x-paragon")),
        "{headers:?}"
    );

    // Redirects are the caller's to follow, not Patchbay's.
    let response = setup
        .request(Method::GET, "/redirect-to?url=https%3A%2F%2Fexample.com%2F")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "https://example.com/");
}

async fn a_dripping_response_is_relayed_as_it_comes(db: TestDb) {
    let setup = setup(&db).await;
    let started = Instant::now();
    let mut response = setup
        .request(Method::GET, "/drip?duration=2&numbytes=4&delay=0&code=200")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let first = response.chunk().await.unwrap().unwrap();
    let first_at = started.elapsed();
    let mut total = first.len();
    while let Some(chunk) = response.chunk().await.unwrap() {
        total += chunk.len();
    }
    let done_at = started.elapsed();
    assert_eq!(total, 4);
    assert!(
        done_at >= Duration::from_millis(1400),
        "httpbin drips for 2 s: {done_at:?}"
    );
    assert!(
        first_at + Duration::from_millis(800) < done_at,
        "the first byte arrived with the last: {first_at:?} vs {done_at:?}"
    );
}

backend_tests!(
    each_account_calls_httpbin_with_its_own_credentials,
    every_method_query_and_body_arrive_as_sent,
    statuses_and_headers_pass_both_ways,
    a_dripping_response_is_relayed_as_it_comes,
);
