//! `auth.type: oauth2_client_credentials`: the end user gives a client id
//! and secret, Patchbay fetches tokens with them from the sandbox's token
//! endpoint and fetches a new one, exactly once, when it expires.

use std::time::Duration;

use patchbay_api::{CredentialStatus, InstallRequest};
use patchbay_server::sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FailureKind, FailureMode, FailureTarget,
    SandboxConfig,
};
use patchbay_test_support::{FakeProvider, TestDb, TestServer, backend_tests, install_fields};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::{ProviderSetup, api_error, invalidation_recorded};

/// A client of the sandbox besides the default one, for revoking.
const OTHER_CLIENT: (&str, &str) = ("cc-other", "cc-other-secret-7d1f");

/// An inline client-credentials integration on the sandbox: `service`
/// identified by `GET /me` with the fetched token, and `anonymous` without
/// an account step. A workflow calls the API, for Task History.
const CONFIG: &str = r#"
integrations:
  service:
    name: Sandbox service
    auth:
      type: oauth2_client_credentials
      tokenUrl: {PROVIDER}/oauth/token
      scopes: [contacts]
      clientAuth: client_secret_basic
    api:
      baseUrl: {PROVIDER}/api
    account:
      request: {method: GET, path: /me}
      id: "{{ response.body.id }}"
      data: {name: "{{ response.body.name }}"}
  anonymous:
    name: Sandbox without an account step
    auth:
      type: oauth2_client_credentials
      tokenUrl: {PROVIDER}/oauth/token
      fields:
        - {id: appId, title: App ID}
        - {id: appSecret, title: App secret, secret: true}
    api:
      baseUrl: {PROVIDER}/api
workflows:
  - id: whoami
    integration: service
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: me, type: request, method: GET, path: /me}
      - {id: reply, type: response, status: 200, body: {account: "{{ steps.me.output.body.id }}"}}
"#;

type Setup = ProviderSetup;

async fn setup(server: TestServer, ttl: Duration) -> Setup {
    let provider = FakeProvider::start(SandboxConfig {
        access_token_ttl: ttl,
        clients: vec![
            (
                DEFAULT_CLIENT_ID.to_owned(),
                DEFAULT_CLIENT_SECRET.to_owned(),
            ),
            (OTHER_CLIENT.0.to_owned(), OTHER_CLIENT.1.to_owned()),
        ],
        ..SandboxConfig::default()
    })
    .await;
    let document = CONFIG.replace("{PROVIDER}", &provider.base_url);
    ProviderSetup::new(server, provider, &document).await
}

fn credentials(id: &str, secret: &str) -> InstallRequest {
    install_fields(json!({"clientId": id, "clientSecret": secret}))
}

impl Setup {
    fn grants(&self) -> u64 {
        self.provider
            .sandbox
            .stats()
            .token_requests
            .get("client_credentials")
            .copied()
            .unwrap_or_default()
    }

    async fn install(&self, id: &str, secret: &str) -> Uuid {
        let ada = self.project.user_with_token(self.token.clone());
        let completed = ada
            .install_with_credentials("service", &credentials(id, secret))
            .await
            .unwrap();
        let text = serde_json::to_string(&completed).unwrap();
        assert!(!text.contains("sbx_at_"), "no token in the answer: {text}");
        assert!(!text.contains(secret), "no secret in the answer: {text}");
        completed.credential.id
    }

    /// A raw proxied call (the raw-response header, so the upstream's body
    /// comes back as it is).
    async fn call_raw(&self, path: &str) -> (u16, Value) {
        let url = self
            .server
            .url(&format!("/projects/{}/sdk/proxy/{path}", self.project.id));
        let response = reqwest::Client::new()
            .get(url)
            .bearer_auth(&self.token)
            .header("X-Paragon-Use-Raw-Response", "1")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(!text.contains("sbx_at_"), "no token in a proxied answer");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// Installing fetches a token at once, identifies the account with it, and
/// proxied calls carry it; the metadata shows the type and the fields.
async fn client_credentials_connect_and_call_through_the_proxy(db: TestDb) {
    let server = TestServer::without_refresher(&db).await;
    let setup = setup(server, Duration::from_secs(3600)).await;
    let ada = setup.project.user_with_token(setup.token.clone());

    let metadata = ada.integrations().await.unwrap();
    let service = metadata.iter().find(|i| i.type_name == "service").unwrap();
    assert_eq!(service.auth_type, "oauth2_client_credentials");
    let ids: Vec<&str> = service
        .credential_fields
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(ids, ["clientId", "clientSecret"]);
    assert_eq!(service.credential_fields[1]["secret"], true);

    let id = setup
        .install(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        .await;
    assert_eq!(setup.grants(), 1, "one grant at install");
    let credential = ada.credential(&id.to_string()).await.unwrap();
    assert_eq!(credential.provider_id.as_deref(), Some("acct_ada"));
    assert_eq!(credential.status, CredentialStatus::Valid);

    let (status, me) = setup.call_raw("service/me").await;
    let me = me.get("output").cloned().unwrap_or(me);
    assert_eq!((status, me["id"].as_str()), (200, Some("acct_ada")));
    assert_eq!(setup.grants(), 1, "the token of the install is used");
    assert_eq!(setup.provider.sandbox.stats().api_unauthorized, 0);

    // Without an account step the client id identifies the account: the same
    // id twice is the same account, whatever the secret field is called.
    let fields =
        install_fields(json!({"appId": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET}));
    let anonymous = ada
        .install_with_credentials("anonymous", &fields)
        .await
        .unwrap();
    let provider_id = anonymous.credential.provider_id.unwrap();
    assert!(provider_id.starts_with("key-"), "{provider_id}");
    assert!(!provider_id.contains(DEFAULT_CLIENT_ID));
}

/// A wrong secret is refused at install with 422, and nothing is stored.
async fn client_credentials_wrong_secret_stores_nothing(db: TestDb) {
    let server = TestServer::without_refresher(&db).await;
    let setup = setup(server, Duration::from_secs(3600)).await;
    let ada = setup.project.user_with_token(setup.token.clone());
    let err = ada
        .install_with_credentials(
            "service",
            &credentials(DEFAULT_CLIENT_ID, "wrong-secret-91"),
        )
        .await
        .unwrap_err();
    let body = api_error(&err, 422, "credentials_rejected");
    assert!(!body.message.contains("wrong-secret-91"));
    let stored = setup
        .server
        .state
        .store()
        .credentials()
        .list_credentials(setup.project.id, &Default::default())
        .await
        .unwrap();
    assert!(stored.is_empty(), "nothing stored");

    let missing = install_fields(json!({"clientId": DEFAULT_CLIENT_ID}));
    assert_eq!(
        ada.install_with_credentials("service", &missing)
            .await
            .unwrap_err()
            .code(),
        Some("validation_failed")
    );
}

/// After the token expires, many concurrent proxied calls share exactly one
/// new grant, and none of them sends the expired token.
async fn client_credentials_expiry_gets_exactly_one_new_grant(db: TestDb) {
    let server = TestServer::without_refresher(&db).await;
    let setup = setup(server, Duration::from_secs(3)).await;
    setup
        .install(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        .await;
    assert_eq!(setup.grants(), 1);
    tokio::time::sleep(Duration::from_millis(3300)).await;
    let calls = (0..50).map(|_| setup.call_raw("service/me"));
    let results = futures_util::future::join_all(calls).await;
    for (status, me) in &results {
        let me = me.get("output").unwrap_or(me);
        assert_eq!((*status, me["id"].as_str()), (200, Some("acct_ada")));
    }
    assert_eq!(setup.grants(), 2, "exactly one new grant for 50 callers");
    assert_eq!(
        setup.provider.sandbox.stats().api_unauthorized,
        0,
        "the expired token was never sent"
    );
}

/// A secret revoked at the provider: the next grant is refused with
/// invalid_client, the account becomes INVALID and the change is recorded;
/// no token shows in Task History.
async fn client_credentials_revoked_secret_invalidates_the_account(db: TestDb) {
    let server = TestServer::without_refresher(&db).await;
    let setup = setup(server, Duration::from_secs(2)).await;
    let id = setup.install(OTHER_CLIENT.0, OTHER_CLIENT.1).await;
    let ada = setup.project.user_with_token(setup.token.clone());
    let run = ada
        .trigger_workflow("whoami", &json!({}), None)
        .await
        .unwrap();
    assert_eq!(
        (run.status, run.body["account"].as_str()),
        (200, Some("acct_ada"))
    );
    assert!(!run.body.to_string().contains("sbx_at_"));

    setup.provider.sandbox.revoke_client(OTHER_CLIENT.0);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let (status, _) = setup.call_raw("service/me").await;
    assert!(status >= 400, "refused after revocation: {status}");
    let credential = ada.credential(&id.to_string()).await.unwrap();
    assert_eq!(credential.status, CredentialStatus::Invalid);
    let changed = invalidation_recorded(&setup.server, setup.project.id, id).await;
    let recorded = changed.payload.to_string();
    assert!(!recorded.contains("sbx_at_") && !recorded.contains(OTHER_CLIENT.1));

    let history = reqwest::Client::new()
        .get(setup.server.url(&format!(
            "/api/v1/projects/{}/task-history/workflow-executions",
            setup.project.id
        )))
        .bearer_auth(&setup.project.secret_key)
        .send()
        .await
        .unwrap();
    assert_eq!(history.status().as_u16(), 200);
    let history = history.text().await.unwrap();
    assert!(history.contains("whoami"), "{history}");
    assert!(!history.contains("sbx_at_") && !history.contains(OTHER_CLIENT.1));
}

/// The API refuses a token before its expiry: one new grant, one replay,
/// and the caller never sees the 401.
async fn client_credentials_upstream_401_gets_one_new_grant(db: TestDb) {
    let server = TestServer::without_refresher(&db).await;
    let setup = setup(server, Duration::from_secs(3600)).await;
    setup
        .install(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        .await;
    setup.provider.sandbox.set_failure(
        FailureMode::new(FailureKind::Unauthorized)
            .target(FailureTarget::Api)
            .times(1),
    );
    let (status, me) = setup.call_raw("service/me").await;
    let me = me.get("output").cloned().unwrap_or(me);
    assert_eq!((status, me["id"].as_str()), (200, Some("acct_ada")));
    assert_eq!(setup.grants(), 2, "one new grant after the 401");
    assert_eq!(setup.provider.sandbox.stats().failures_injected, 1);
}

backend_tests!(
    client_credentials_connect_and_call_through_the_proxy,
    client_credentials_upstream_401_gets_one_new_grant,
    client_credentials_wrong_secret_stores_nothing,
    client_credentials_expiry_gets_exactly_one_new_grant,
    client_credentials_revoked_secret_invalidates_the_account,
);
