//! The sandbox provider on its own socket, standing in for a real OAuth
//! provider, and the browser's part of an OAuth install.

use patchbay_server::sandbox::{Sandbox, SandboxConfig, definition};
use reqwest::redirect::Policy;

/// A fake provider on `127.0.0.1:0`, stopped when dropped.
#[derive(Debug)]
pub struct FakeProvider {
    pub sandbox: Sandbox,
    pub base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl FakeProvider {
    pub async fn start(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::new(config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let router = sandbox.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            sandbox,
            base_url,
            task,
        }
    }

    /// A configuration document with an OAuth integration `crm` (PKCE,
    /// client_secret_basic, identified by `GET /me`, receiving the sandbox's
    /// webhooks), an API-key integration `keys` verified against the same
    /// API, and a workflow on `crm`.
    pub fn config_document(&self) -> String {
        CONFIG_TEMPLATE
            .replace("{PROVIDER}", &self.base_url)
            .replace("{WEBHOOKS}", &definition::webhooks().to_string())
            .replace("{ACTIONS}", &definition::actions().to_string())
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const CONFIG_TEMPLATE: &str = r#"
settings:
  allowedOrigins: ["http://localhost:3000"]
integrations:
  crm:
    name: Sandbox CRM
    auth:
      type: oauth2
      authorizationUrl: {PROVIDER}/oauth/authorize
      tokenUrl: {PROVIDER}/oauth/token
      clientId: patchbay-sandbox
      clientSecret: sandbox-secret
      scopes: [contacts, offline_access]
      pkce: true
      # A browser signed in at the sandbox is asked again when adding an account.
      addAccountParams: {prompt: select_account}
      clientAuth: client_secret_basic
    api:
      baseUrl: {PROVIDER}/api
    account:
      request: {method: GET, path: /me}
      id: "{{ response.body.id }}"
      data: {name: "{{ response.body.name }}", email: "{{ response.body.email }}"}
    userSettings:
      - {id: pipeline, type: text, title: Pipeline}
    # The sandbox's webhooks and actions, as the sandbox module declares them.
    webhooks: {WEBHOOKS}
    webhookSecret: sandbox-webhook-secret
    actions: {ACTIONS}
  keys:
    name: Sandbox API keys
    auth:
      type: api_key
      fields: [{id: apiKey, title: API key, secret: true}]
      inject: {header: X-Api-Key, value: "{{ credentials.apiKey }}"}
    api:
      baseUrl: {PROVIDER}/api
    account:
      request: {method: GET, path: /me}
      id: "{{ response.body.id }}"
      data: {name: "{{ response.body.name }}"}
    verify:
      request: {method: GET, path: /me}
workflows:
  - id: sync
    integration: crm
    defaultEnabled: false
    trigger: {type: request}
    steps:
      - {id: reply, type: response, status: 200, body: {ok: true}}
"#;

/// What Patchbay's callback answered.
#[derive(Debug)]
pub struct CallbackReply {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// What the user's browser does with an authorization URL: the provider's
/// consent form (`decision` `allow` or `deny` for `account`), then the
/// redirect to the callback. Returns the provider's redirect target.
pub async fn consent(authorization_url: &str, account: &str, decision: &str) -> String {
    let url = reqwest::Url::parse(authorization_url).unwrap();
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.push(("account".into(), account.into()));
    form.push(("decision".into(), decision.into()));
    let mut action = url.clone();
    action.set_query(None);
    let response = no_redirects()
        .post(action)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        303,
        "the provider redirects after consent"
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// Opens a URL as the browser would, without following redirects.
pub async fn open(url: &str) -> CallbackReply {
    let response = no_redirects().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    CallbackReply {
        status,
        location,
        body,
    }
}

/// Consent and callback in one go.
pub async fn authorize(authorization_url: &str, account: &str) -> CallbackReply {
    open(&consent(authorization_url, account, "allow").await).await
}

/// Connects the sandbox's `account` to the OAuth integration `crm` of the
/// configuration [`FakeProvider::config_document`] gives, through the whole
/// flow (install, consent, callback), and returns the credential it
/// created or replaced.
pub async fn connect_crm(
    user: &patchbay_sdk::UserClient,
    request: &patchbay_sdk::api::InstallRequest,
    account: &str,
) -> uuid::Uuid {
    let started = user.start_install("crm", request).await.unwrap();
    let reply = authorize(&started.authorization_url, account).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let session = user
        .install_session(started.install_session_id)
        .await
        .unwrap();
    assert_eq!(
        session.status,
        patchbay_sdk::api::InstallStatus::Complete,
        "{:?}",
        session.error
    );
    session.credential_id.unwrap()
}

/// Connects another sandbox `account` to `crm` ([`connect_crm`]), allowing
/// the user several accounts of it.
pub async fn connect_another_crm(user: &patchbay_sdk::UserClient, account: &str) -> uuid::Uuid {
    let request = patchbay_sdk::api::InstallRequest {
        allow_multiple_credentials: true,
        ..Default::default()
    };
    connect_crm(user, &request, account).await
}
