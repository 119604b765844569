//! `api_base_url` and `auth_injection`: where an account's calls go and what they carry.

use patchbay_oauth::{AccountAuth, OAuthError, TemplateContext, api_base_url, auth_injection};
use serde_json::json;

use crate::support::{catalogue, connection, keyed_provider, with_credentials, with_token};

#[test]
fn salesforce_takes_its_host_from_the_token_response() {
    let ctx = with_token(json!({"instance_url": "https://acme.my.salesforce.com"}));
    let url = api_base_url(catalogue("salesforce"), &ctx).unwrap();
    assert_eq!(url.as_str(), "https://acme.my.salesforce.com/");
}

#[test]
fn zendesk_takes_its_host_from_the_connection() {
    let url = api_base_url(
        catalogue("zendesk"),
        &connection(json!({"subdomain": "acme"})),
    )
    .unwrap();
    assert_eq!(url.as_str(), "https://acme.zendesk.com/api/v2");
}

#[test]
fn a_base_url_that_renders_relative_is_a_template_error() {
    // Mailchimp's data centre is only known after the account step.
    let error = api_base_url(catalogue("mailchimp"), &TemplateContext::default()).unwrap_err();
    assert!(matches!(error, OAuthError::Template(_)), "{error:?}");
    assert!(error.to_string().contains("api.baseUrl"), "{error}");
}

#[test]
fn shopify_puts_the_token_in_its_own_header() {
    let injection = auth_injection(
        catalogue("shopify"),
        &AccountAuth::Bearer("shpat_secret"),
        &connection(json!({"shop": "acme"})),
    )
    .unwrap();
    let header = |name: &str| {
        injection
            .headers
            .iter()
            .find(|(key, _)| key.as_str() == name)
            .map(|(_, value)| value)
            .unwrap()
    };
    assert_eq!(header("x-shopify-access-token"), "shpat_secret");
    assert_eq!(header("authorization"), "Bearer shpat_secret");
    assert!(
        injection
            .headers
            .iter()
            .all(|(_, value)| value.is_sensitive())
    );
    assert!(injection.query.is_empty());
    let debug = format!("{injection:?}");
    assert!(!debug.contains("shpat_secret"), "{debug}");
}

#[test]
fn github_sends_its_api_headers_with_the_token() {
    let injection = auth_injection(
        catalogue("github"),
        &AccountAuth::Bearer("gho_1"),
        &TemplateContext::default(),
    )
    .unwrap();
    let names: Vec<&str> = injection
        .headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "accept",
            "user-agent",
            "x-github-api-version",
            "authorization"
        ]
    );
}

#[test]
fn an_api_key_in_a_query_parameter_is_hidden_from_debug() {
    let provider = patchbay_config::parse_provider(&keyed_provider(
        r#"{query: key, value: "{{ credentials.apiKey }}"}"#,
        r#"api: {baseUrl: "https://api.keyed.example"}"#,
    ))
    .unwrap();
    let ctx = with_credentials(json!({"apiKey": "very-secret-key"}));
    let injection = auth_injection(&provider, &AccountAuth::ApiKey, &ctx).unwrap();
    assert_eq!(
        injection.query,
        vec![("key".into(), "very-secret-key".into())]
    );
    assert!(injection.headers.is_empty());
    assert!(!format!("{injection:?}").contains("very-secret-key"));
}

#[test]
fn a_header_value_with_a_line_break_is_refused_without_quoting_it() {
    let ctx = with_credentials(json!({"apiKey": "abc\r\nX-Evil: 1"}));
    let error = auth_injection(catalogue("sendgrid"), &AccountAuth::ApiKey, &ctx).unwrap_err();
    assert!(matches!(error, OAuthError::Template(_)), "{error:?}");
    assert!(!error.to_string().contains("abc"), "{error}");
}
