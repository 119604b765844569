//! Valid documents load, and load into what they say.

use patchbay_config::{
    AuthType, DocumentSecret, HttpMethod, IntegrationConfig, ProjectConfig, ProviderAuth,
    ProviderSource, SettingType, Step, Trigger, WorkflowConfig, load,
};
use secrecy::ExposeSecret as _;

use crate::support::{INTEGRATIONS, list, with_workflows};

/// docs/configuration.md's example, with real values for the client id and secret.
const EXAMPLE_YAML: &str = r#"
settings:
  allowedOrigins: ["http://localhost:3000"]
  requireExplicitCredential: false
integrations:
  acme:
    name: Acme CRM
    auth:                       # or `provider: slack` plus clientId/clientSecret/scopes
      type: oauth2              # oauth2 | api_key | basic
      authorizationUrl: https://acme.example/oauth/authorize
      tokenUrl: https://acme.example/oauth/token
      clientId: acme-client-id
      clientSecret: acme-client-secret
      scopes: [contacts.read, offline_access]
      pkce: true
    api:
      baseUrl: https://api.acme.example
    account:                    # how to tell which external account this is
      request: {method: GET, path: /me}
      id: "{{ response.body.id }}"
      data: {name: "{{ response.body.name }}", email: "{{ response.body.email }}"}
    userSettings:
      - {id: pipeline, type: text, title: Pipeline, required: true}
workflows:
  - id: create-contact
    integration: acme
    trigger: {type: request}
    steps:
      - {id: create, type: request, method: POST, path: /contacts, body: {name: "{{ trigger.body.name }}"}}
      - {id: reply, type: response, status: 200, body: {id: "{{ steps.create.output.body.id }}"}}
"#;

/// The same document written as JSON by hand.
const EXAMPLE_JSON: &str = r#"{
  "settings": {"allowedOrigins": ["http://localhost:3000"], "requireExplicitCredential": false},
  "integrations": {
    "acme": {
      "name": "Acme CRM",
      "auth": {
        "type": "oauth2",
        "authorizationUrl": "https://acme.example/oauth/authorize",
        "tokenUrl": "https://acme.example/oauth/token",
        "clientId": "acme-client-id",
        "clientSecret": "acme-client-secret",
        "scopes": ["contacts.read", "offline_access"],
        "pkce": true
      },
      "api": {"baseUrl": "https://api.acme.example"},
      "account": {
        "request": {"method": "GET", "path": "/me"},
        "id": "{{ response.body.id }}",
        "data": {"name": "{{ response.body.name }}", "email": "{{ response.body.email }}"}
      },
      "userSettings": [{"id": "pipeline", "type": "text", "title": "Pipeline", "required": true}]
    }
  },
  "workflows": [
    {
      "id": "create-contact",
      "integration": "acme",
      "trigger": {"type": "request"},
      "steps": [
        {"id": "create", "type": "request", "method": "POST", "path": "/contacts",
         "body": {"name": "{{ trigger.body.name }}"}},
        {"id": "reply", "type": "response", "status": 200,
         "body": {"id": "{{ steps.create.output.body.id }}"}}
      ]
    }
  ]
}"#;

fn load_ok(text: &str) -> ProjectConfig {
    load(text).unwrap_or_else(|errors| panic!("expected a valid document, got:\n{}", list(&errors)))
}

fn assert_example(config: &ProjectConfig) {
    assert_eq!(config.settings.allowed_origins, ["http://localhost:3000"]);
    assert!(!config.settings.require_explicit_credential);

    assert_eq!(config.integrations.len(), 1);
    let acme = &config.integrations[0];
    assert_eq!(acme.type_name, "acme");
    assert_eq!(acme.name, "Acme CRM");
    assert_eq!(acme.source, ProviderSource::Inline);
    assert_eq!(acme.provider.id, "acme");
    assert_eq!(acme.client_id.as_deref(), Some("acme-client-id"));
    let DocumentSecret::Set(secret) = &acme.client_secret else {
        panic!("the secret is set: {:?}", acme.client_secret)
    };
    assert_eq!(secret.expose_secret(), "acme-client-secret");
    let ProviderAuth::OAuth2(oauth2) = &acme.provider.auth else {
        panic!("acme is oauth2")
    };
    assert_eq!(oauth2.scopes, ["contacts.read", "offline_access"]);
    assert!(oauth2.pkce);
    assert_eq!(oauth2.scope_separator, " ", "the default separator");
    assert_eq!(acme.provider.api.base_url, "https://api.acme.example");
    let account = acme.provider.account.as_ref().unwrap();
    assert_eq!(account.request.as_ref().unwrap().method, HttpMethod::Get);
    assert_eq!(account.data["email"], "{{ response.body.email }}");
    assert_eq!(acme.user_settings.len(), 1);
    assert_eq!(acme.user_settings[0].kind, SettingType::Text);
    assert!(acme.user_settings[0].required);

    assert_eq!(config.workflows.len(), 1);
    let workflow = &config.workflows[0];
    assert_eq!(workflow.id, "create-contact");
    assert_eq!(workflow.integration, "acme");
    assert!(!workflow.default_enabled);
    assert_eq!(workflow.trigger, Trigger::Request);
    assert!(workflow.has_response_step());
    let [Step::Request(create), Step::Response(reply)] = workflow.steps.as_slice() else {
        panic!("a request step then a response step: {:?}", workflow.steps)
    };
    assert_eq!(create.method, HttpMethod::Post);
    assert_eq!(create.path, "/contacts");
    assert_eq!(
        create.body,
        Some(serde_json::json!({"name": "{{ trigger.body.name }}"}))
    );
    assert_eq!(reply.status, 200);
}

#[test]
fn the_spec_example_loads_as_yaml() {
    assert_example(&load_ok(EXAMPLE_YAML));
}

#[test]
fn the_spec_example_loads_as_json() {
    assert_example(&load_ok(EXAMPLE_JSON));
}

#[test]
fn a_catalogue_provider_resolves_with_the_projects_scopes_and_name() {
    let config = load_ok(
        "integrations:\n  chat:\n    provider: slack\n    clientId: '123.456'\n    clientSecret: shh\n    scopes: [chat:write, users:read.email]\n",
    );
    let chat = &config.integrations[0];
    assert_eq!(chat.type_name, "chat");
    assert_eq!(
        chat.name, "Slack",
        "the catalogue's name when none is given"
    );
    assert_eq!(chat.provider.id, "slack");
    let ProviderAuth::OAuth2(oauth2) = &chat.provider.auth else {
        panic!("slack is oauth2")
    };
    assert_eq!(oauth2.scopes, ["chat:write", "users:read.email"]);
    assert_eq!(
        oauth2.scope_separator, ",",
        "everything else comes from the catalogue"
    );
    assert_eq!(
        chat.source,
        ProviderSource::Catalogue {
            provider: "slack".into(),
            name: None,
            scopes: Some(vec!["chat:write".into(), "users:read.email".into()]),
        }
    );

    let named = load_ok(
        "integrations:\n  slack:\n    provider: slack\n    name: Team chat\n    clientId: a\n    clientSecret: b\n",
    );
    let slack = &named.integrations[0];
    assert_eq!(slack.name, "Team chat");
    let ProviderAuth::OAuth2(oauth2) = &slack.provider.auth else {
        panic!("slack is oauth2")
    };
    let ProviderAuth::OAuth2(catalogue_auth) =
        &patchbay_config::catalogue().get("slack").unwrap().auth
    else {
        panic!("slack is oauth2")
    };
    assert_eq!(
        oauth2.scopes, catalogue_auth.scopes,
        "the default scopes without an override"
    );
}

#[test]
fn an_api_key_catalogue_provider_needs_no_client() {
    let config = load_ok("integrations:\n  payments:\n    provider: stripe\n");
    assert_eq!(
        config.integrations[0].provider.auth_type(),
        AuthType::ApiKey
    );
    assert!(matches!(
        config.integrations[0].client_secret,
        DocumentSecret::None
    ));
}

#[test]
fn integrations_keep_document_order() {
    let config = load_ok(&format!(
        "{INTEGRATIONS}  aardvark:\n    provider: stripe\n"
    ));
    let order: Vec<&str> = config
        .integrations
        .iter()
        .map(|i| i.type_name.as_str())
        .collect();
    assert_eq!(order, ["acme", "keyed", "aardvark"]);
}

#[test]
fn empty_sections_and_an_empty_mapping_are_valid() {
    let config = load_ok("{}");
    assert!(config.integrations.is_empty() && config.workflows.is_empty());
    let config = load_ok("settings:\nintegrations:\nworkflows: []\n");
    assert!(config.settings.allowed_origins.is_empty());
}

#[test]
fn urls_may_be_templates() {
    let config = load_ok(
        r#"
integrations:
  sf:
    name: Org
    auth: {type: oauth2, authorizationUrl: "https://{{ connection.domain }}.my.example.com/authorize", tokenUrl: https://login.example.com/token}
    clientId: a
    clientSecret: b
    connectionFields: [{id: domain, title: My Domain, pattern: "[a-z0-9-]+"}]
    api: {baseUrl: "{{ token.instance_url }}/services/data"}
    account: {request: {method: GET, url: "{{ token.id }}"}, id: "{{ response.body.organization_id }}"}
"#,
    );
    assert_eq!(
        config.integrations[0].provider.api.base_url,
        "{{ token.instance_url }}/services/data"
    );
}

/// Every trigger and step type, nested steps reading earlier outputs, and a step after a
/// condition reading a step from one of its branches (it may have run).
#[test]
fn every_trigger_and_step_type_loads() {
    let config = load_ok(&with_workflows(
        r#"
  - id: sync
    integration: acme
    description: Copies contacts
    defaultEnabled: true
    trigger: {type: schedule, cron: "*/15 * * * *", timezone: Europe/Paris}
    inputs:
      - {id: limit, type: number, title: Limit, default: 10}
      - {id: region, type: select, title: Region, options: [eu, us], default: eu}
    steps:
      - {id: list, type: request, method: get, path: /contacts, query: {limit: "{{ settings.limit }}"}}
      - id: each
        type: foreach
        items: steps.list.output.body.items
        concurrency: 4
        steps:
          - {id: shape, type: function, code: "return {name: item.name};", timeoutMs: 1000}
          - id: known
            type: condition
            if: steps.shape.output.name and settings.region == "eu"
            then:
              - {id: push, type: http, method: POST, url: "https://hooks.example.com/{{ steps.shape.output.name }}", headers: {X-Source: patchbay}, body: ["{{ steps.list.output.status }}"]}
            else:
              - {id: skip, type: function, code: "return null;"}
      - {id: after, type: http, method: POST, url: https://hooks.example.com/done, body: {last: "{{ steps.push.output.status }}"}}
  - id: on-event
    integration: keyed
    trigger: {type: app_event, event: Contact Created}
    steps:
      - {id: note, type: request, method: POST, path: "/notes", body: {text: "{{ trigger.payload.name }}"}}
  - id: welcome
    integration: keyed
    trigger: {type: integration_enabled}
    steps:
      - {id: hello, type: function, code: "return 1;"}
  - id: six-fields
    integration: keyed
    trigger: {type: schedule, cron: "0 0 9 * * MON-FRI"}
    steps:
      - {id: ping, type: request, method: GET, path: /ping}
"#,
    ));
    assert_eq!(config.workflows.len(), 4);
    let sync = config.workflow("sync").unwrap();
    assert!(sync.default_enabled);
    assert!(!sync.has_response_step());
    let Trigger::Schedule(schedule) = &sync.trigger else {
        panic!("a schedule")
    };
    assert_eq!(schedule.timezone.as_deref(), Some("Europe/Paris"));
    let Step::Foreach(each) = &sync.steps[1] else {
        panic!("a foreach")
    };
    assert_eq!(each.concurrency, 4);
    let Step::Condition(known) = &each.steps[1] else {
        panic!("a condition")
    };
    assert_eq!(known.then[0].id(), "push");
    assert_eq!(known.otherwise[0].id(), "skip");
    let Trigger::AppEvent(event) = &config.workflow("on-event").unwrap().trigger else {
        panic!("an app event")
    };
    assert_eq!(event.event, "Contact Created");
    assert_eq!(
        config.workflow("welcome").unwrap().trigger,
        Trigger::IntegrationEnabled
    );
}

/// The server stores integrations and workflows as JSON and reads them back, possibly with
/// keys reordered (`type` no longer first).
#[test]
fn integrations_and_workflows_round_trip_through_stored_json() {
    let config = load_ok(EXAMPLE_YAML);
    for workflow in &config.workflows {
        let stored = type_last(serde_json::to_value(workflow).unwrap());
        let text = serde_json::to_string(&stored).unwrap();
        assert!(
            text.contains(r#""path":"/contacts","type":"request"}"#),
            "{text}"
        );
        let back: WorkflowConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, workflow);
    }
    for integration in &config.integrations {
        let text = serde_json::to_string(integration).unwrap();
        assert!(!text.contains("acme-client-secret"), "{text}");
        let back: IntegrationConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(back.provider, integration.provider);
        assert_eq!(back.source, integration.source);
        assert_eq!(back.client_id, integration.client_id);
        assert!(
            matches!(back.client_secret, DocumentSecret::None),
            "the secret is stored apart"
        );
    }
}

/// Moves every `type` key to the end of its object, as a store that does not keep key order may.
fn type_last(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut kind = None;
            let mut reordered = serde_json::Map::new();
            for (key, item) in map {
                if key == "type" {
                    kind = Some(type_last(item));
                } else {
                    reordered.insert(key, type_last(item));
                }
            }
            if let Some(kind) = kind {
                reordered.insert("type".to_owned(), kind);
            }
            serde_json::Value::Object(reordered)
        }
        serde_json::Value::Array(items) => items.into_iter().map(type_last).collect(),
        other => other,
    }
}

#[test]
fn a_yaml_flow_mapping_is_not_mistaken_for_json() {
    let config = load_ok("{settings: {requireExplicitCredential: true}}");
    assert!(config.settings.require_explicit_credential);
}

#[test]
fn paragons_integration_types_and_workflow_ids_load() {
    let config = load_ok(
        r#"
integrations:
  googleCalendar:
    clientId: calendar-client
    clientSecret: calendar-secret
  crm:
    provider: hubspot
    clientId: hubspot-client
    clientSecret: hubspot-secret
  custom.billing:
    name: Billing
    auth: {type: api_key, fields: [{id: key, title: Key}], inject: {header: X-Key, value: "{{ credentials.key }}"}}
    api: {baseUrl: https://billing.example}
  monday.com:
    provider: monday
    clientId: monday-client
    clientSecret: monday-secret
  drive:
    provider: googledrive
    clientId: drive-client
    clientSecret: drive-secret
workflows:
  - id: 3f6c1a52-8a0d-4d8e-9d55-0c7e2b1f4a10
    integration: custom.billing
    trigger: {type: request}
    steps: [{id: reply, type: response, status: 200}]
"#,
    );
    let providers: Vec<(&str, Option<&str>)> = config
        .integrations
        .iter()
        .map(|integration| {
            let provider = match &integration.source {
                ProviderSource::Catalogue { provider, .. } => Some(provider.as_str()),
                ProviderSource::Inline => None,
            };
            (integration.type_name.as_str(), provider)
        })
        .collect();
    assert_eq!(
        providers,
        [
            ("googleCalendar", Some("google-calendar")),
            ("crm", Some("hubspot")),
            ("custom.billing", None),
            ("monday.com", Some("monday")),
            ("drive", Some("google-drive")),
        ]
    );
    assert_eq!(
        config.workflows[0].id,
        "3f6c1a52-8a0d-4d8e-9d55-0c7e2b1f4a10"
    );
}

#[test]
fn a_type_that_is_no_catalogue_name_still_needs_a_definition() {
    let errors =
        load("integrations:\n  acmeCrm:\n    clientId: c\n    clientSecret: s\n").unwrap_err();
    assert!(
        errors
            .iter()
            .any(|error| error.path == "integrations.acmeCrm.auth"),
        "{}",
        list(&errors)
    );
    // A provider's name with inline keys beside it is an inline definition, not the provider.
    let errors =
        load("integrations:\n  slack:\n    api: {baseUrl: https://slack.example}\n").unwrap_err();
    assert!(
        errors
            .iter()
            .any(|error| error.path == "integrations.slack.auth"),
        "{}",
        list(&errors)
    );
}

#[test]
fn templates_may_read_the_run_context_globals_and_their_own_variables() {
    load_ok(&with_workflows(
        r#"  - id: sync
    integration: keyed
    trigger: {type: request}
    steps:
      - {id: list, type: request, method: GET, path: "/x/{{ user.id }}/{{ credential.id }}/{{ settings.page }}"}
      - id: each
        type: foreach
        items: "steps.list.output.body"
        steps:
          - {id: one, type: request, method: GET, path: "/y/{{ item.id }}/{{ index }}/{% set n = 2 %}{{ range(n) | length }}/{% for c in trigger.body.cs %}{{ c }}{% endfor %}"}
"#,
    ));
}

const CLIENT_CREDENTIALS: &str = r#"
integrations:
  service:
    name: Service
    auth:
      type: oauth2_client_credentials
      tokenUrl: "https://{{ connection.domain }}/oauth/token"
      scopes: [read:jobs, write:jobs]
      scopeSeparator: ","
      clientAuth: client_secret_basic
      tokenParams: {audience: "https://api.example"}
    connectionFields: [{id: domain, title: Domain}]
    api:
      baseUrl: https://api.example
"#;

#[test]
fn client_credentials_load_with_default_fields_and_a_projects_scopes() {
    let config = load_ok(CLIENT_CREDENTIALS);
    let provider = &config.integrations[0].provider;
    assert_eq!(provider.auth_type(), AuthType::OAuth2ClientCredentials);
    let ProviderAuth::OAuth2ClientCredentials(auth) = &provider.auth else {
        panic!("{:?}", provider.auth);
    };
    assert_eq!(auth.field_ids(), ("clientId", "clientSecret"));
    assert!(auth.fields[1].secret && !auth.fields[0].secret);
    assert_eq!(auth.scopes, ["read:jobs", "write:jobs"]);
    assert_eq!(
        auth.token_endpoint().token_params["audience"],
        "https://api.example"
    );

    let replaced =
        load_ok(&CLIENT_CREDENTIALS.replace("    api:\n", "    scopes: [admin]\n    api:\n"));
    let ProviderAuth::OAuth2ClientCredentials(auth) = &replaced.integrations[0].provider.auth
    else {
        panic!();
    };
    assert_eq!(auth.scopes, ["admin"]);
}

#[test]
fn client_credentials_refuse_a_project_client_and_odd_fields() {
    let with_client = CLIENT_CREDENTIALS.replace(
        "      clientAuth:",
        "      clientId: ours\n      clientSecret: ours\n      clientAuth:",
    );
    let errors = list(&load(&with_client).unwrap_err());
    assert!(errors.contains("clientId"), "{errors}");
    assert!(errors.contains("end user"), "{errors}");

    let one_field = CLIENT_CREDENTIALS.replace(
        "      clientAuth:",
        "      fields: [{id: key, title: Key, secret: true}]\n      clientAuth:",
    );
    let errors = list(&load(&one_field).unwrap_err());
    assert!(errors.contains("exactly two fields"), "{errors}");

    let open_secret = CLIENT_CREDENTIALS.replace(
        "      clientAuth:",
        "      fields: [{id: a, title: A}, {id: b, title: B}]\n      clientAuth:",
    );
    let errors = list(&load(&open_secret).unwrap_err());
    assert!(errors.contains("secret: true"), "{errors}");

    let verified = CLIENT_CREDENTIALS.replace(
        "    api:\n",
        "    verify: {request: {method: GET, path: /me}}\n    api:\n",
    );
    let errors = list(&load(&verified).unwrap_err());
    assert!(errors.contains("verify"), "{errors}");

    // Templates read the declared fields (Twitch wants the client id on every call), and
    // only those.
    let templated = CLIENT_CREDENTIALS.replace(
        "      baseUrl: https://api.example",
        "      baseUrl: https://api.example\n      headers: {Client-Id: \"{{ credentials.clientId }}\"}",
    );
    assert_ne!(templated, CLIENT_CREDENTIALS);
    load_ok(&templated);
    let errors =
        list(&load(&templated.replace("credentials.clientId", "credentials.appId")).unwrap_err());
    assert!(errors.contains("appId"), "{errors}");
}
