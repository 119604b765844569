//! The masked document: no secret in it, and applying it again keeps the stored secrets.

use patchbay_config::{DocumentSecret, MASK, ProjectConfig, load, masked};

use crate::support::list;

const SECRET: &str = "s3cr3t-value-never-shown";

fn config() -> ProjectConfig {
    let document = format!(
        r##"
settings:
  allowedOrigins: ["https://app.example.com"]
  requireExplicitCredential: true
  portal: {{accentColor: "#3B5BDB"}}
integrations:
  acme:
    name: Acme CRM
    description: The CRM
    icon: https://acme.example/icon.svg
    auth:
      type: oauth2
      authorizationUrl: https://acme.example/oauth/authorize
      tokenUrl: https://acme.example/oauth/token
      clientId: acme-id
      clientSecret: {SECRET}
      scopes: [contacts.read]
      tokenParams: {{audience: api}}
    api:
      baseUrl: https://api.acme.example
    account:
      id: "{{{{ token.account_id }}}}"
    userSettings:
      - {{id: pipeline, type: select, title: Pipeline, options: [a, b], default: a}}
      - {{id: token, type: password, title: Token}}
      - id: owner
        type: dynamic_select
        title: Owner
        source: {{path: /users, query: {{q: "{{{{ search }}}}"}}, items: body.users, value: "{{{{ item.id }}}}", label: "{{{{ item.name }}}}", nextCursor: body.next}}
    portal:
      accentColor: "#0B7285"
      overview: "**Acme** keeps your contacts."
      workflowOrder: [sync]
  chat:
    provider: slack
    name: Team chat
    clientId: slack-id
    clientSecret: {SECRET}-2
    scopes: [chat:write]
  pay:
    provider: stripe
workflows:
  - id: sync
    integration: acme
    trigger: {{type: request}}
    portal: {{hidden: false, help: Copies contacts, showWhen: [{{meta: plan, in: [pro, team]}}, {{meta: beta, equals: null}}]}}
    steps:
      - {{id: list, type: request, method: GET, path: /contacts}}
  - id: notify
    integration: chat
    defaultEnabled: true
    trigger: {{type: app_event, event: Deal Won}}
    steps:
      - {{id: post, type: request, method: POST, path: /chat.postMessage, body: {{text: "{{{{ trigger.payload.name }}}}"}}}}
"##
    );
    load(&document).unwrap_or_else(|errors| panic!("{}", list(&errors)))
}

#[test]
fn the_masked_document_never_contains_a_secret() {
    let config = config();
    let shown = masked(&config);
    let text = serde_json::to_string(&shown).unwrap();
    assert!(!text.contains(SECRET), "{text}");
    assert_eq!(shown["integrations"]["acme"]["clientSecret"], MASK);
    assert_eq!(shown["integrations"]["chat"]["clientSecret"], MASK);
    assert!(
        shown["integrations"]["pay"].get("clientSecret").is_none(),
        "no secret, no mask"
    );
    assert_eq!(
        shown["integrations"]["acme"]["clientId"], "acme-id",
        "the client id is not a secret"
    );
    assert_eq!(shown["integrations"]["chat"]["provider"], "slack");
    assert!(
        shown["integrations"]["chat"].get("auth").is_none(),
        "a catalogue provider is not inlined"
    );
}

#[test]
fn applying_the_masked_document_keeps_the_secrets_and_everything_else() {
    let original = config();
    let text = serde_json::to_string_pretty(&masked(&original)).unwrap();
    let again = load(&text).unwrap_or_else(|errors| panic!("{}\n{text}", list(&errors)));
    assert_eq!(again.settings, original.settings);
    assert_eq!(again.workflows, original.workflows);
    assert_eq!(again.integrations.len(), original.integrations.len());
    for before in &original.integrations {
        let after = again.integration(&before.type_name).unwrap();
        assert_eq!(after.name, before.name);
        assert_eq!(after.provider, before.provider);
        assert_eq!(after.source, before.source);
        assert_eq!(after.client_id, before.client_id);
        assert_eq!(after.user_settings, before.user_settings);
        assert_eq!(after.description, before.description);
        assert_eq!(after.icon, before.icon);
        assert_eq!(after.portal, before.portal);
        match (&before.client_secret, &after.client_secret) {
            (DocumentSecret::Set(_), DocumentSecret::Keep)
            | (DocumentSecret::None, DocumentSecret::None) => {}
            (secret_before, secret_after) => {
                panic!(
                    "integration `{}`: {secret_before:?} became {secret_after:?}",
                    before.type_name
                )
            }
        }
    }
    // Masking again is stable.
    assert_eq!(masked(&again), masked(&original));
}

#[test]
fn debug_output_never_shows_a_secret() {
    let config = config();
    let debug = format!("{config:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains("Set([REDACTED])"), "{debug}");
    assert_eq!(format!("{:?}", DocumentSecret::Keep), "Keep");
}
