//! Documents shared by the tests.

use patchbay_config::{ConfigError, ConfigErrors};

/// An inline OAuth2 integration (`acme`) and an inline API-key one (`keyed`), both valid.
pub const INTEGRATIONS: &str = r#"
integrations:
  acme:
    name: Acme CRM
    auth:
      type: oauth2
      authorizationUrl: https://acme.example/oauth/authorize
      tokenUrl: https://acme.example/oauth/token
    clientId: acme-client
    clientSecret: acme-secret
    api:
      baseUrl: https://api.acme.example
    account:
      request: {method: GET, path: /me}
      id: "{{ response.body.id }}"
    userSettings:
      - {id: pipeline, type: text, title: Pipeline}
  keyed:
    name: Keyed
    auth:
      type: api_key
      fields: [{id: apiKey, title: API key, secret: true}]
      inject: {header: Authorization, value: "Bearer {{ credentials.apiKey }}"}
    api:
      baseUrl: https://api.keyed.example
"#;

/// [`INTEGRATIONS`] followed by `workflows` (indented as list items under `workflows:`).
pub fn with_workflows(workflows: &str) -> String {
    format!("{INTEGRATIONS}workflows:\n{workflows}")
}

/// Formats errors one per line, for assertion messages.
pub fn list(errors: &ConfigErrors) -> String {
    errors
        .iter()
        .map(ConfigError::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
