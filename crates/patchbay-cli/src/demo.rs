//! `patchbay serve --demo`: a project wired to the built-in sandbox provider,
//! ready to click through.
//!
//! A restart never destroys what earlier runs, or people using the demo,
//! left: the project is created once; its secret key and the private half of
//! its token signing key are kept in a file beside the master key and reused;
//! and the demo's own integrations, workflows and allowed origin are merged
//! into whatever configuration the project has by then, so integrations,
//! accounts and keys added to it stay. Every change is logged.

use std::path::Path;

use anyhow::Context as _;
use chrono::Utc;
use patchbay_core::crypto::Keyring;
use patchbay_core::secret_key::{NewSecretKey, SecretKeyHash};
use patchbay_core::user_token::{self, SigningAlgorithm, TokenClaims};
use patchbay_store::{NewProject, NewSecretKeyRecord, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use patchbay_server::sandbox::{DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_SECRET, definition};

use crate::{master_key, store};

/// The demo project keeps its id across restarts, so accounts connected in
/// one session are still there in the next.
const DEMO_PROJECT_ID: Uuid = Uuid::from_u128(0x5a7c_6b00_de30_4000_8000_0000_0000_0001);
const DEMO_USER: &str = "demo-user";
const TOKEN_TTL_SECONDS: i64 = 24 * 3600;

/// The file, beside the master key file, that keeps the demo's keys.
pub const KEYS_FILE: &str = "demo-keys.json";

/// The demo's configuration: the sandbox over OAuth (with its webhooks, a
/// setting of every kind the portal shows, its customisation) and over API
/// keys, and workflows (one with a setting of its own, reading the run's
/// configuration).
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
      clientSecret: {CLIENT_SECRET}
      scopes: [contacts, offline_access]
      pkce: true
      # A browser signed in at the sandbox is asked again when adding an account.
      addAccountParams: {prompt: select_account}
    api:
      baseUrl: {PUBLIC}/sandbox/api
    account:
      request: {method: GET, path: /me}
      id: "{{ response.body.id }}"
      data: {name: "{{ response.body.name }}", email: "{{ response.body.email }}"}
    userSettings:
      - {id: pipeline, type: select, title: Pipeline, options: [Sales, Support]}
      # Listed from the account's own contacts, two at a time, searched as the user types.
      - id: contact
        type: dynamic_select
        title: Contact to greet
        description: One of this account's contacts; the greet-contact workflow greets them.
        source:
          path: /contacts
          query: {q: "{{ search }}", cursor: "{{ cursor }}", limit: "2"}
          items: body.data
          value: "{{ item.id }}"
          label: "{{ item.name }}"
          nextCursor: body.nextCursor
      - id: fieldMap
        type: field_mapping
        title: Contact fields
        description: Which of the CRM's contact fields holds each of yours.
        fields: [{value: fullName, label: Full name}, {value: emailAddress, label: Email address}]
        source: {path: /fields, items: body, value: "{{ item.key }}", label: "{{ item.label }}"}
      - id: matchOn
        type: combo
        title: Match contacts on
        description: A field of the CRM's contacts, then one of the values they have for it.
        source: {path: /fields, items: body, value: "{{ item.key }}", label: "{{ item.label }}"}
        dependent:
          title: Having the value
          source: {path: "/fields/{{ main }}/values", items: body.values, value: "{{ item }}", label: "{{ item }}"}
      - {id: signingSecret, type: password, title: Signing secret, description: Stored sealed and never shown again.}
      - {id: note, type: textarea, title: Note for new contacts}
      - {id: notifyEmail, type: email, title: Notification address}
      - {id: autoSync, type: switch, title: Sync contacts automatically}
    portal:
      accentColor: '#0f766e'
      workflowOrder: [greet-contact, list-contacts, contact-summary]
      overview: |
        The **built-in sandbox** plays a CRM: three people's accounts, each with its own contacts.

        - Give each account one *configuration* per team, each with its own settings and workflows.
        - *Greet* runs with the configuration it is given.
    # The sandbox sends every contact change to this project's webhook URL for
    # the integration, signed, each naming the account it concerns; its typed
    # actions are what agents call over MCP.
    webhooks: {WEBHOOKS}
    webhookSecret: {WEBHOOK_SECRET}
    actions: {ACTIONS}
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
  - id: greet-contact
    integration: sandbox
    description: Greets the configuration's contact.
    defaultEnabled: false
    portal: {help: "Greets the contact this configuration chose, with this configuration's greeting."}
    trigger: {type: request}
    inputs:
      - {id: greeting, type: text, title: Greeting, description: The words before the contact's name.}
    steps:
      - id: find
        type: condition
        if: settings.contact
        then:
          - {id: contact, type: request, method: GET, path: "/contacts/{{ settings.contact }}"}
      - id: greet
        type: function
        code: |
          const contact = steps.contact ? steps.contact.output.body : null;
          return {
            configuration: configuration.externalId || 'default',
            configurationId: configuration.id,
            greeting: (settings.greeting || 'Hello') + ', ' + (contact ? contact.name : 'nobody') + '!',
            contact: contact ? contact.name : null,
            mapping: settings.fieldMap || {},
            note: settings.note || null,
            signingSecretSet: typeof settings.signingSecret === 'string' && settings.signingSecret !== '********',
          };
      - {id: reply, type: response, status: 200, body: "{{ steps.greet.output }}"}
  - id: welcome-contact
    integration: sandbox
    description: When the sandbox reports a new contact, marks it as welcomed, as the account it belongs to.
    defaultEnabled: true
    trigger: {type: integration, event: contact.created}
    steps:
      - id: mark
        type: request
        method: PATCH
        path: "/contacts/{{ trigger.payload.data.id }}"
        body: {name: "{{ trigger.payload.data.name }} (welcomed)"}
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
        println!("  dashboard    {public_url}/dashboard/   (sign in with the secret key)");
        println!();
    }
}

/// What the demo keeps between runs: the secret key's plaintext (the store
/// has only its hash) and the signing key pair its user tokens are minted
/// with, so a restart prints the same secret key and earlier links keep
/// working until their tokens expire. No `Debug`: it holds secrets.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DemoKeys {
    secret_key: String,
    kid: String,
    public_key_pem: String,
    private_key_pem: String,
}

/// Creates the demo project on first use, brings the demo's part of its
/// configuration up to date with this run's public URL, and reuses the keys
/// saved in `keys_file` while the project still accepts them.
pub async fn seed(
    store: &dyn Store,
    keyring: &Keyring,
    public_url: &str,
    keys_file: &Path,
) -> anyhow::Result<Demo> {
    let saved = read_keys(keys_file)?;
    let secret_key = match store.projects().get_project(DEMO_PROJECT_ID).await? {
        None => create_project(store).await?,
        Some(_) => secret_key(store, saved.as_ref()).await?,
    };
    configure(store, keyring, public_url).await?;
    let (kid, public_key_pem, private_key_pem) = signing_key(store, saved.as_ref()).await?;
    let keys = DemoKeys {
        secret_key,
        kid,
        public_key_pem,
        private_key_pem,
    };
    if saved.as_ref() != Some(&keys) {
        write_keys(keys_file, &keys)?;
        tracing::info!(path = %keys_file.display(), "saved the demo's keys");
    }

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
        &keys.private_key_pem,
        SigningAlgorithm::Es256,
        Some(&keys.kid),
        &claims,
    )
    .with_context(|| {
        format!(
            "minting the demo token with the key in {}",
            keys_file.display()
        )
    })?;
    Ok(Demo {
        project_id: DEMO_PROJECT_ID,
        secret_key: keys.secret_key,
        user_token,
    })
}

/// Creates the project with a new secret key; returns the key.
async fn create_project(store: &dyn Store) -> anyhow::Result<String> {
    let secret = NewSecretKey::generate();
    let project = NewProject {
        id: DEMO_PROJECT_ID,
        name: "Patchbay demo".to_owned(),
    };
    store
        .projects()
        .create_project(&project, &key_record(&secret))
        .await
        .context("creating the demo project")?;
    tracing::info!(project_id = %DEMO_PROJECT_ID, "created the demo project");
    Ok(secret.reveal().to_owned())
}

/// The saved secret key while it is an active key of the project, else a
/// new one, added.
async fn secret_key(store: &dyn Store, saved: Option<&DemoKeys>) -> anyhow::Result<String> {
    if let Some(saved) = saved {
        let active = store
            .secret_keys()
            .find_active_secret_key(&SecretKeyHash::of(&saved.secret_key))
            .await?;
        if active.is_some_and(|key| key.project_id == DEMO_PROJECT_ID) {
            return Ok(saved.secret_key.clone());
        }
    }
    let secret = NewSecretKey::generate();
    store
        .secret_keys()
        .insert_secret_key(&key_record(&secret), patchbay_api::MAX_ACTIVE_SECRET_KEYS)
        .await
        .context("adding a secret key to the demo project")?;
    tracing::info!(
        prefix = %secret.display_prefix(),
        reason = if saved.is_some() { "the saved key is no longer active" } else { "no saved key" },
        "added a secret key to the demo project"
    );
    Ok(secret.reveal().to_owned())
}

fn key_record(secret: &NewSecretKey) -> NewSecretKeyRecord {
    NewSecretKeyRecord {
        id: Uuid::new_v4(),
        project_id: DEMO_PROJECT_ID,
        hash: secret.hash(),
        display_prefix: secret.display_prefix(),
    }
}

/// The saved signing key while the project has it active, else a new one,
/// added. Returns `(kid, public key PEM, private key PEM)`.
async fn signing_key(
    store: &dyn Store,
    saved: Option<&DemoKeys>,
) -> anyhow::Result<(String, String, String)> {
    if let Some(saved) = saved {
        let registered = store.projects().list_signing_keys(DEMO_PROJECT_ID).await?;
        if registered.iter().any(|key| {
            key.kid == saved.kid
                && key.revoked_at.is_none()
                && key.public_key_pem == saved.public_key_pem
        }) {
            return Ok((
                saved.kid.clone(),
                saved.public_key_pem.clone(),
                saved.private_key_pem.clone(),
            ));
        }
    }
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
    tracing::info!(
        %kid,
        reason = if saved.is_some() { "the saved key is no longer active" } else { "no saved key" },
        "added a signing key to the demo project"
    );
    Ok((
        kid,
        pair.public_key_pem,
        pair.private_key_pem.as_str().to_owned(),
    ))
}

fn read_keys(path: &Path) -> anyhow::Result<Option<DemoKeys>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    store::warn_if_open(path);
    // Not replaced when unreadable: it may be the only copy of keys in use.
    serde_json::from_str(&text).map(Some).with_context(|| {
        format!(
            "{} is not a demo key file; move it away to let the demo make new keys",
            path.display()
        )
    })
}

/// Replaces the key file: written whole under another name, then renamed
/// over it, so a crash leaves the old file or the new one.
fn write_keys(path: &Path, keys: &DemoKeys) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(keys).context("encoding the demo's keys")?;
    let partial = path.with_extension("json.partial");
    match std::fs::remove_file(&partial) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            return Err(err).with_context(|| format!("removing {}", partial.display()));
        }
        _ => {}
    }
    master_key::write_private(&partial, &text)?;
    std::fs::rename(&partial, path)
        .with_context(|| format!("replacing {} with {}", path.display(), partial.display()))
}

/// Applies the demo's document to a project without configuration; to one
/// that has one, merges the demo's own integrations, workflows and allowed
/// origin into it where they differ, leaving the rest as it is.
async fn configure(store: &dyn Store, keyring: &Keyring, public_url: &str) -> anyhow::Result<()> {
    let origin = url_origin(public_url)?;
    let document = DEMO_CONFIG
        .replace("{PUBLIC}", public_url)
        .replace("{ORIGIN}", &origin)
        .replace("{CLIENT_SECRET}", DEFAULT_CLIENT_SECRET)
        .replace("{WEBHOOK_SECRET}", DEFAULT_WEBHOOK_SECRET)
        .replace("{WEBHOOKS}", &definition::webhooks().to_string())
        .replace("{ACTIONS}", &definition::actions().to_string());
    let Some(current) = store
        .projects()
        .get_config_document(DEMO_PROJECT_ID)
        .await?
    else {
        apply(store, keyring, &document).await?;
        tracing::info!(%public_url, "applied the demo configuration");
        return Ok(());
    };
    let demo = patchbay_config::load(&document)
        .map(|config| patchbay_config::masked(&config))
        .map_err(|errors| anyhow::anyhow!("the demo configuration is invalid: {errors:?}"))?;
    let (merged, changes) = merge(current, &demo, &origin);
    if changes.is_empty() {
        return Ok(());
    }
    apply(store, keyring, &merged.to_string()).await?;
    tracing::info!(
        changed = %changes.join(", "),
        %public_url,
        "updated the demo's part of the demo project's configuration"
    );
    Ok(())
}

/// Applies without pruning: the document keeps every integration the
/// project has, and should one appear meanwhile the apply fails rather than
/// delete its accounts.
async fn apply(store: &dyn Store, keyring: &Keyring, document: &str) -> anyhow::Result<()> {
    patchbay_server::apply_config(store, keyring, DEMO_PROJECT_ID, document, false)
        .await
        .map_err(|err| anyhow::anyhow!("applying the demo configuration: {}", err.message))?;
    Ok(())
}

/// `current` (the stored document) with the demo's integrations and
/// workflows (from `demo`, in the same masked form) where they differ and
/// `origin` among the allowed origins, and what that changed.
fn merge(mut current: Value, demo: &Value, origin: &str) -> (Value, Vec<String>) {
    let mut changes = Vec::new();
    if let Some(integrations) = demo["integrations"].as_object() {
        for (type_name, entry) in integrations {
            if current["integrations"][type_name] == *entry {
                continue;
            }
            let mut entry = entry.clone();
            // A mask keeps a stored secret, and this entry may be new: give
            // the secrets themselves.
            if entry.get("clientSecret").is_some() {
                entry["clientSecret"] = json!(DEFAULT_CLIENT_SECRET);
            }
            if entry.get("webhookSecret").is_some() {
                entry["webhookSecret"] = json!(DEFAULT_WEBHOOK_SECRET);
            }
            current["integrations"][type_name] = entry;
            changes.push(format!("integration {type_name}"));
        }
    }
    if let Some(workflows) = demo["workflows"].as_array() {
        if !current["workflows"].is_array() {
            current["workflows"] = json!([]);
        }
        if let Some(existing) = current["workflows"].as_array_mut() {
            for workflow in workflows {
                let id = &workflow["id"];
                match existing.iter_mut().find(|w| w["id"] == *id) {
                    Some(same) if same == workflow => continue,
                    Some(other) => *other = workflow.clone(),
                    None => existing.push(workflow.clone()),
                }
                changes.push(format!("workflow {}", id.as_str().unwrap_or_default()));
            }
        }
    }
    let origins = &mut current["settings"]["allowedOrigins"];
    if !origins.is_array() {
        *origins = json!([]);
    }
    if let Some(origins) = origins.as_array_mut()
        && !origins.iter().any(|o| o == origin)
    {
        origins.push(json!(origin));
        changes.push(format!("allowed origin {origin}"));
    }
    (current, changes)
}

fn url_origin(public_url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = public_url
        .split_once("://")
        .context("the public URL has no scheme")?;
    let host = rest.split('/').next().unwrap_or(rest);
    Ok(format!("{scheme}://{host}"))
}
