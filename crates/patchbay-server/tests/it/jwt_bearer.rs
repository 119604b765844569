//! `auth.type: jwt_bearer`: the end user gives a service account's key file,
//! Patchbay signs assertions with it and exchanges them at a token endpoint
//! built on Authlib's RFC 7523 grant (from PyPI,
//! `tests/python/jwt_bearer_server.py`), and signs a new one, exactly once,
//! when the token expires.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::Duration;

use patchbay_api::{CredentialStatus, InstallRequest};
use patchbay_sdk::admin::CredentialQuery;
use patchbay_test_support::{TestDb, TestProject, TestServer, backend_tests};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::fixtures::api_error;
use crate::python::PythonProcess;

/// The peer's service account that may act for `ada@example.com`.
const REPORTING: &str = "reporting@patchbay-tests.iam.example";
/// The peer's service account that acts only as itself.
const BILLING: &str = "billing@patchbay-tests.iam.example";

/// `reports` acts for a user when one is named and is identified by the
/// peer's `/api/me`; `plain` has no account step and no subject.
const CONFIG: &str = r#"
integrations:
  reports:
    name: Reports
    auth:
      type: jwt_bearer
      tokenUrl: {PEER}/token
      scopes: [reports.read, reports.export]
      subject: optional
    api:
      baseUrl: {PEER}/api
    account:
      request: {method: GET, path: /me}
      id: "{{ response.body.id }}"
      data:
        name: "{{ response.body.id }}"
        serviceAccount: "{{ credentials.client_email }}"
        project: "{{ credentials.project_id }}"
  plain:
    name: Plain
    auth:
      type: jwt_bearer
      tokenUrl: {PEER}/token
    api:
      baseUrl: {PEER}/api
"#;

/// The token endpoint in a child process, killed when dropped.
struct Peer {
    url: String,
    key_files: Map<String, Value>,
    _process: PythonProcess,
}

impl Peer {
    fn start(token_ttl: Duration) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/jwt_bearer_server.py"
        );
        let ttl = token_ttl.as_secs().to_string();
        let mut process = PythonProcess::spawn(&[script, "--token-ttl", &ttl], Stdio::piped());
        // Its first line says where it listens and gives the key files.
        let mut line = String::new();
        BufReader::new(process.stdout())
            .read_line(&mut line)
            .unwrap();
        let started: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            panic!("the JWT bearer peer did not start (scripts/test installs Authlib)")
        });
        Self {
            url: started["url"].as_str().unwrap().to_owned(),
            key_files: started["keyFiles"].as_object().unwrap().clone(),
            _process: process,
        }
    }

    fn key_file(&self, account: &str) -> &Value {
        &self.key_files[account]
    }

    /// The key file's text, as a user pastes it.
    fn key_text(&self, account: &str) -> String {
        serde_json::to_string_pretty(self.key_file(account)).unwrap()
    }

    async fn grants(&self, account: &str) -> u64 {
        let stats: Value = reqwest::get(format!("{}/stats", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["grants"][account].as_u64().unwrap()
    }

    async fn disable(&self, account: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/accounts/{account}/disable", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

struct Setup {
    server: TestServer,
    peer: Peer,
    project: TestProject,
    token: String,
}

async fn setup(db: &TestDb, token_ttl: Duration) -> Setup {
    let server = TestServer::without_refresher(db).await;
    let peer = Peer::start(token_ttl);
    let project = TestProject::with_config(&server, &CONFIG.replace("{PEER}", &peer.url)).await;
    let token = project.signer.mint("ada").unwrap();
    Setup {
        server,
        peer,
        project,
        token,
    }
}

fn install_request(credentials: Value) -> InstallRequest {
    InstallRequest {
        credentials: Some(credentials.as_object().unwrap().clone()),
        allow_multiple_credentials: true,
        ..Default::default()
    }
}

/// Whether `text` holds any of the key file's private key.
fn leaks_key(text: &str, key_file: &Value) -> bool {
    let pem = key_file["private_key"].as_str().unwrap();
    // A line of the key's body, as it would appear in any quoting of it.
    let body_line = pem.lines().nth(3).unwrap();
    text.contains("PRIVATE KEY") || text.contains(body_line)
}

impl Setup {
    async fn install(
        &self,
        integration: &str,
        credentials: Value,
    ) -> Result<Uuid, patchbay_sdk::Error> {
        let ada = self.project.user_with_token(self.token.clone());
        let completed = ada
            .install_with_credentials(integration, &install_request(credentials))
            .await?;
        let text = serde_json::to_string(&completed).unwrap();
        for account in [REPORTING, BILLING] {
            assert!(!leaks_key(&text, self.peer.key_file(account)), "{text}");
        }
        Ok(completed.credential.id)
    }

    /// Connects the reporting service account acting for Ada.
    async fn install_for_ada(&self) -> Uuid {
        let key_file = self.peer.key_text(REPORTING);
        self.install(
            "reports",
            json!({"keyFile": key_file, "subject": "ada@example.com"}),
        )
        .await
        .unwrap()
    }

    /// The peer's `/api/me` through the proxy, as the selected account.
    async fn me(&self, credential: Uuid) -> (u16, Value) {
        let url = self.server.url(&format!(
            "/projects/{}/sdk/proxy/reports/me",
            self.project.id
        ));
        let response = reqwest::Client::new()
            .get(url)
            .bearer_auth(&self.token)
            .header("X-Paragon-Credential", credential.to_string())
            .header("X-Paragon-Use-Raw-Response", "1")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// A key file connects an account acting for the user it names: one grant at
/// install, the account identified with the token, and proxied calls carry
/// that token. The metadata offers the key file and an optional subject.
async fn jwt_bearer_connect_and_call_through_the_proxy(db: TestDb) {
    let setup = setup(&db, Duration::from_secs(3600)).await;
    let ada = setup.project.user_with_token(setup.token.clone());

    let metadata = ada.integrations().await.unwrap();
    let reports = metadata.iter().find(|i| i.type_name == "reports").unwrap();
    assert_eq!(reports.auth_type, "jwt_bearer");
    let fields: Vec<(&str, bool, bool)> = reports
        .credential_fields
        .iter()
        .map(|f| {
            let id = f["id"].as_str().unwrap();
            (id, f["secret"] == true, f["required"] != false)
        })
        .collect();
    assert_eq!(fields, [("keyFile", true, true), ("subject", false, false)]);
    let plain = metadata.iter().find(|i| i.type_name == "plain").unwrap();
    assert_eq!(
        plain.credential_fields.len(),
        1,
        "no subject without `subject`"
    );

    let id = setup.install_for_ada().await;
    assert_eq!(
        setup.peer.grants(REPORTING).await,
        1,
        "one grant at install"
    );
    let credential = ada.credential(&id.to_string()).await.unwrap();
    assert_eq!(credential.status, CredentialStatus::Valid);
    assert_eq!(credential.provider_id.as_deref(), Some("ada@example.com"));
    let data = &credential.provider_data;
    assert_eq!(data["serviceAccount"], REPORTING);
    assert_eq!(data["project"], "patchbay-tests");

    let (status, me) = setup.me(id).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["client"], REPORTING);
    assert_eq!(me["subject"], "ada@example.com");
    assert_eq!(me["scope"], "reports.read reports.export");
    assert_eq!(me["token"], 1, "the token of the install is used");
    assert_eq!(setup.peer.grants(REPORTING).await, 1);

    // The key file as a JSON object, without a subject, on an integration
    // without an account step: the service account is the account.
    let plain_id = setup
        .install("plain", json!({"keyFile": setup.peer.key_file(BILLING)}))
        .await
        .unwrap();
    let plain = ada.credential(&plain_id.to_string()).await.unwrap();
    assert_eq!(plain.provider_id.as_deref(), Some(BILLING));
    assert_eq!(setup.peer.grants(BILLING).await, 1);

    let user = serde_json::to_string(&ada.me().await.unwrap()).unwrap();
    assert!(!leaks_key(&user, setup.peer.key_file(REPORTING)), "{user}");
}

/// After the token expires, concurrent calls share exactly one new assertion
/// and grant, and none of them sends the expired token.
async fn jwt_bearer_expiry_gets_exactly_one_new_grant(db: TestDb) {
    let setup = setup(&db, Duration::from_secs(2)).await;
    let id = setup.install_for_ada().await;
    let (status, me) = setup.me(id).await;
    assert_eq!((status, me["token"].as_u64()), (200, Some(1)));

    tokio::time::sleep(Duration::from_millis(2300)).await;
    let calls = (0..20).map(|_| setup.me(id));
    for (status, me) in futures_util::future::join_all(calls).await {
        assert_eq!((status, me["token"].as_u64()), (200, Some(2)), "{me}");
        assert_eq!(me["subject"], "ada@example.com");
    }
    assert_eq!(
        setup.peer.grants(REPORTING).await,
        2,
        "exactly one new grant for 20 callers"
    );
}

/// A service account the provider no longer accepts: the next assertion is
/// refused, and the account becomes INVALID instead of failing on every call.
async fn jwt_bearer_refused_assertion_invalidates_the_account(db: TestDb) {
    let setup = setup(&db, Duration::from_secs(2)).await;
    let id = setup
        .install(
            "reports",
            json!({"keyFile": setup.peer.key_text(REPORTING)}),
        )
        .await
        .unwrap();
    setup.peer.disable(REPORTING).await;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let (status, _) = setup.me(id).await;
    assert_eq!(status, 409, "refused after the account was disabled");
    let ada = setup.project.user_with_token(setup.token.clone());
    let credential = ada.credential(&id.to_string()).await.unwrap();
    assert_eq!(credential.status, CredentialStatus::Invalid);
}

/// Unusable key files are refused at install with `invalid_key_file`, a
/// subject the account may not act for with `credentials_rejected`; nothing
/// is stored and no message quotes the key.
async fn jwt_bearer_bad_key_files_are_refused(db: TestDb) {
    let setup = setup(&db, Duration::from_secs(3600)).await;
    // Each way a key file can be unusable is checked in patchbay-oauth; here, one of each
    // kind reaches the HTTP API's answer.
    let good = setup.peer.key_file(REPORTING).clone();
    let changed = |name: &str, value: Option<Value>| {
        let mut key_file = good.as_object().unwrap().clone();
        match value {
            Some(value) => key_file.insert(name.to_owned(), value),
            None => key_file.remove(name),
        };
        Value::Object(key_file)
    };
    let pem = good["private_key"].as_str().unwrap();
    let truncated = format!("{}\n-----END PRIVATE KEY-----\n", &pem[..200]);
    let other_endpoint = format!("{}/other-token", setup.peer.url);
    let cases: Vec<(Value, &str)> = vec![
        (json!("{\"client_email\": "), "line 1, column"),
        (json!("[1, 2]"), "not a JSON object"),
        (changed("client_email", None), "no `client_email`"),
        (
            changed("private_key", Some(json!(truncated))),
            "not an RSA private key",
        ),
        (
            changed("token_uri", Some(json!(other_endpoint))),
            "other-token",
        ),
    ];
    for (key_file, says) in cases {
        let err = setup
            .install("reports", json!({"keyFile": key_file}))
            .await
            .unwrap_err();
        let body = api_error(&err, 422, "invalid_key_file");
        assert!(body.message.contains(says), "{} lacks {says}", body.message);
        assert_eq!(body.meta.as_ref().unwrap()["field"], "credentials.keyFile");
        assert!(!leaks_key(&body.message, &good), "{}", body.message);
    }

    let err = setup
        .install(
            "reports",
            json!({"keyFile": setup.peer.key_text(REPORTING), "subject": "eve@example.com"}),
        )
        .await
        .unwrap_err();
    api_error(&err, 422, "credentials_rejected");
    let err = setup
        .install("reports", json!({"subject": "ada@example.com"}))
        .await
        .unwrap_err();
    let body = api_error(&err, 422, "validation_failed");
    assert_eq!(body.meta.as_ref().unwrap()["field"], "credentials.keyFile");

    let stored = setup
        .project
        .admin
        .credentials(&CredentialQuery::default())
        .await
        .unwrap();
    assert!(stored.data.is_empty(), "nothing stored");
    assert_eq!(
        setup.peer.grants(REPORTING).await,
        0,
        "no bad key reached the provider"
    );
}

backend_tests!(
    jwt_bearer_connect_and_call_through_the_proxy,
    jwt_bearer_expiry_gets_exactly_one_new_grant,
    jwt_bearer_refused_assertion_invalidates_the_account,
    jwt_bearer_bad_key_files_are_refused,
);
