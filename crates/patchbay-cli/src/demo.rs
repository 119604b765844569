//! `patchbay serve --demo`: a project wired to the built-in sandbox provider,
//! ready to click through.

use anyhow::Context as _;
use chrono::Utc;
use patchbay_core::secret_key::NewSecretKey;
use patchbay_core::user_token::{self, SigningAlgorithm, TokenClaims};
use patchbay_store::{NewProject, NewSecretKeyRecord, Store};
use serde_json::{Map, json};
use uuid::Uuid;

use patchbay_core::crypto::Keyring;

/// The demo project keeps its id across restarts, so accounts connected in
/// one session are still there in the next.
const DEMO_PROJECT_ID: Uuid = Uuid::from_u128(0x5a7c_6b00_de30_4000_8000_0000_0000_0001);
const DEMO_USER: &str = "demo-user";
const TOKEN_TTL_SECONDS: i64 = 24 * 3600;

/// The demo's configuration: the sandbox over OAuth and over API keys, and
/// a workflow.
const DEMO_CONFIG: &str = r#"
settings:
  allowedOrigins: ["{ORIGIN}"]
integrations:
  sandbox:
    name: Sandbox CRM
    description: The built-in sandbox provider, three fake accounts, offline.
    auth:
      type: oauth2
      authorizationUrl: {PUBLIC}/sandbox/oauth/authorize
      tokenUrl: {PUBLIC}/sandbox/oauth/token
      clientId: patchbay-sandbox
      clientSecret: sandbox-secret
      scopes: [contacts, offline_access]
      pkce: true
    api:
      baseUrl: {PUBLIC}/sandbox/api
    account:
      request: {method: GET, path: /me}
      id: "{{ response.body.id }}"
      data: {name: "{{ response.body.name }}", email: "{{ response.body.email }}"}
    userSettings:
      - {id: pipeline, type: select, title: Pipeline, options: [Sales, Support]}
  sandbox-keys:
    name: Sandbox (API key)
    auth:
      type: api_key
      fields: [{id: apiKey, title: API key, secret: true}]
      inject: {header: X-Api-Key, value: "{{ credentials.apiKey }}"}
    api:
      baseUrl: {PUBLIC}/sandbox/api
    account:
      request: {method: GET, path: /me}
      id: "{{ response.body.id }}"
      data: {name: "{{ response.body.name }}"}
    verify:
      request: {method: GET, path: /me}
workflows:
  - id: list-contacts
    integration: sandbox
    description: Returns the selected account's contacts.
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: contacts, type: request, method: GET, path: /contacts}
      - {id: reply, type: response, status: 200, body: {contacts: "{{ steps.contacts.output.body }}"}}
  - id: contact-summary
    integration: sandbox
    description: Summarizes the selected account's contacts in JavaScript.
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: contacts, type: request, method: GET, path: /contacts}
      - id: summarize
        type: function
        code: |
          const list = steps.contacts.output.body;
          return {
            account: credential.providerData.name,
            count: list.length,
            names: list.map((contact) => contact.name),
          };
      - {id: reply, type: response, status: 200, body: "{{ steps.summarize.output }}"}
"#;

/// What the demo prints once the server listens.
#[derive(Debug)]
pub struct Demo {
    pub project_id: Uuid,
    pub secret_key: String,
    pub user_token: String,
}

impl Demo {
    pub fn announce(&self, public_url: &str) {
        println!();
        println!("Patchbay demo is ready. Open this in your browser:");
        println!();
        println!(
            "  {public_url}/demo#project={}&token={}",
            self.project_id, self.user_token
        );
        println!();
        println!("  project id   {}", self.project_id);
        println!(
            "  secret key   {}   (admin API: Authorization: Bearer …)",
            self.secret_key
        );
        println!("  user token   for \"{DEMO_USER}\", valid 24 h (end-user API)");
        println!();
    }
}

/// Creates the demo project on first use and brings its configuration, keys
/// and token up to date with this run's public URL.
pub async fn seed(store: &dyn Store, keyring: &Keyring, public_url: &str) -> anyhow::Result<Demo> {
    let secret = NewSecretKey::generate();
    let key_record = NewSecretKeyRecord {
        id: Uuid::new_v4(),
        project_id: DEMO_PROJECT_ID,
        hash: secret.hash(),
        display_prefix: secret.display_prefix(),
    };
    if store.get_project(DEMO_PROJECT_ID).await?.is_none() {
        let project = NewProject {
            id: DEMO_PROJECT_ID,
            name: "Patchbay demo".to_owned(),
        };
        store
            .create_project(&project, &key_record)
            .await
            .context("creating the demo project")?;
    } else {
        store.insert_secret_key(&key_record).await?;
    }

    let origin = url_origin(public_url)?;
    let document = DEMO_CONFIG
        .replace("{PUBLIC}", public_url)
        .replace("{ORIGIN}", &origin);
    patchbay_server::apply_config(store, keyring, DEMO_PROJECT_ID, &document, true)
        .await
        .map_err(|err| anyhow::anyhow!("applying the demo configuration: {}", err.message))?;

    let pair = user_token::generate_key_pair(SigningAlgorithm::Es256)?;
    let kid = format!("demo-{}", Uuid::new_v4().simple());
    patchbay_server::add_signing_key(
        store,
        DEMO_PROJECT_ID,
        &pair.public_key_pem,
        Some(kid.clone()),
    )
    .await
    .map_err(|err| anyhow::anyhow!("registering the demo signing key: {}", err.message))?;
    let now = Utc::now().timestamp();
    let claims = TokenClaims {
        user_id: DEMO_USER.to_owned(),
        project_id: Some(DEMO_PROJECT_ID),
        issued_at: now,
        expires_at: now + TOKEN_TTL_SECONDS,
        not_before: None,
        meta: json!({"Name": "Demo User", "Email": "demo@patchbay.example"})
            .as_object()
            .cloned()
            .unwrap_or_else(Map::new),
        permissions: None,
    };
    let user_token = user_token::mint(
        &pair.private_key_pem,
        SigningAlgorithm::Es256,
        Some(&kid),
        &claims,
    )?;
    Ok(Demo {
        project_id: DEMO_PROJECT_ID,
        secret_key: secret.reveal().to_owned(),
        user_token,
    })
}

fn url_origin(public_url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = public_url
        .split_once("://")
        .context("the public URL has no scheme")?;
    let host = rest.split('/').next().unwrap_or(rest);
    Ok(format!("{scheme}://{host}"))
}
