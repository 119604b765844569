//! A project set up the way a developer sets one up: created with the admin
//! token, a signing key registered, a configuration document applied — all
//! through the public API, with the Rust SDK.

use patchbay_sdk::{AdminClient, Patchbay, SigningAlgorithm, TokenSigner, UserClient};
use uuid::Uuid;

use crate::{ADMIN_TOKEN, TestServer};

/// Two integrations (an OAuth2 CRM with user settings, an API-key chat) and
/// two CRM workflows, one enabled by default.
pub const TEST_CONFIG: &str = r#"
settings:
  allowedOrigins: ["http://localhost:3000"]
integrations:
  crm:
    name: Acme CRM
    auth:
      type: oauth2
      authorizationUrl: https://acme.example/oauth/authorize
      tokenUrl: https://acme.example/oauth/token
      clientId: crm-client-id
      clientSecret: crm-client-secret-value
      scopes: [contacts.read, offline_access]
    api:
      baseUrl: https://api.acme.example
    account:
      request: {method: GET, path: /me}
      id: "{{ response.body.id }}"
      data: {name: "{{ response.body.name }}"}
    userSettings:
      - {id: pipeline, type: text, title: Pipeline, required: true}
      - {id: limit, type: number, title: Limit}
      - {id: region, type: select, title: Region, options: [eu, us]}
  chat:
    name: Chat
    auth:
      type: api_key
      fields: [{id: apiKey, title: API key, secret: true}]
      inject: {header: Authorization, value: "Bearer {{ credentials.apiKey }}"}
    api:
      baseUrl: https://chat.example/api
workflows:
  - id: sync-contacts
    integration: crm
    description: Copy new contacts into the CRM
    defaultEnabled: false
    trigger: {type: app_event, event: Contact Created}
    inputs:
      - {id: folder, type: text, title: Folder}
    steps:
      - {id: create, type: request, method: POST, path: /contacts, body: {name: "{{ trigger.body.name }}"}}
  - id: notify
    integration: crm
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: reply, type: response, status: 200, body: {ok: true}}
"#;

#[derive(Debug)]
pub struct TestProject {
    pub id: Uuid,
    pub secret_key: String,
    pub admin: AdminClient,
    pub signer: TokenSigner,
    pub kid: String,
    pub private_key_pem: String,
    patchbay: Patchbay,
}

impl TestProject {
    /// A new project on `server` with [`TEST_CONFIG`] applied.
    pub async fn create(server: &TestServer) -> Self {
        Self::with_config(server, TEST_CONFIG).await
    }

    pub async fn with_config(server: &TestServer, config: &str) -> Self {
        Self::at(&server.base_url, config).await
    }

    /// A project on any running server that accepts [`ADMIN_TOKEN`] (a
    /// `patchbay serve` process, say).
    pub async fn at(base_url: &str, config: &str) -> Self {
        let patchbay = Patchbay::new(base_url.to_owned());
        let created = patchbay
            .create_project(ADMIN_TOKEN, "Test project")
            .await
            .unwrap();
        let admin = patchbay.admin(created.project_id, created.secret_key.clone());
        let pair = patchbay_sdk::generate_key_pair(SigningAlgorithm::Es256).unwrap();
        let key = admin
            .add_signing_key(&pair.public_key_pem, None)
            .await
            .unwrap();
        admin.apply_config(config, false).await.unwrap();
        let signer = TokenSigner::new(
            created.project_id,
            &pair.private_key_pem,
            SigningAlgorithm::Es256,
        )
        .unwrap()
        .with_kid(key.kid.clone());
        Self {
            id: created.project_id,
            secret_key: created.secret_key,
            admin,
            signer,
            kid: key.kid,
            private_key_pem: pair.private_key_pem.to_string(),
            patchbay,
        }
    }

    /// The end-user API as `user_id`, with a fresh token.
    pub fn user(&self, user_id: &str) -> UserClient {
        self.patchbay
            .user(self.id, self.signer.mint(user_id).unwrap())
    }

    pub fn user_with_token(&self, token: String) -> UserClient {
        self.patchbay.user(self.id, token)
    }

    /// Connects an account of the API-key integration `integration` for
    /// `user_id`, with `api_key` as its `apiKey` field; returns the user's
    /// token and the connected account.
    pub async fn connect_api_key(
        &self,
        user_id: &str,
        integration: &str,
        api_key: &str,
    ) -> (String, patchbay_sdk::api::Credential) {
        let token = self.signer.mint(user_id).unwrap();
        let request = install_fields(serde_json::json!({ "apiKey": api_key }));
        let installed = self
            .user_with_token(token.clone())
            .install_with_credentials(integration, &request)
            .await
            .unwrap();
        (token, installed.credential)
    }
}

/// An install request carrying `fields` (a JSON object) as the account's
/// credentials: an API key, a client id and secret, a key file.
pub fn install_fields(fields: serde_json::Value) -> patchbay_sdk::api::InstallRequest {
    patchbay_sdk::api::InstallRequest {
        credentials: fields.as_object().cloned(),
        ..Default::default()
    }
}
