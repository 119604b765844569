//! `render` and `TemplateContext`: the template rules of providers/README.md.

use patchbay_oauth::{TemplateContext, render};
use serde_json::json;

use crate::support::map;

#[test]
fn null_and_missing_values_render_empty() {
    let ctx = json!({"token": {"team": null, "name": "Acme"}});
    assert_eq!(render("[{{ token.team }}]", &ctx).unwrap(), "[]");
    assert_eq!(render("[{{ token.missing }}]", &ctx).unwrap(), "[]");
    // A chain through a missing or null value is empty too, not an error.
    assert_eq!(render("[{{ token.team.id }}]", &ctx).unwrap(), "[]");
    assert_eq!(render("[{{ vars.cloudId.deep.er }}]", &ctx).unwrap(), "[]");
    assert_eq!(render("[{{ response.body[0].id }}]", &ctx).unwrap(), "[]");
}

#[test]
fn or_falls_back_over_null_and_missing() {
    let ctx = json!({"response": {"body": {"name": null, "login": "octocat"}}});
    assert_eq!(
        render("{{ response.body.name or response.body.login }}", &ctx).unwrap(),
        "octocat"
    );
}

#[test]
fn values_render_as_text() {
    let ctx = json!({"response": {"body": [{"id": 12345678901_i64, "ok": true, "ratio": 1.5}]}});
    assert_eq!(
        render("{{ response.body[0].id }}", &ctx).unwrap(),
        "12345678901"
    );
    assert_eq!(render("{{ response.body[0].ok }}", &ctx).unwrap(), "true");
    assert_eq!(render("{{ response.body[0].ratio }}", &ctx).unwrap(), "1.5");
}

#[test]
fn text_without_templates_is_returned_as_is() {
    assert_eq!(
        render("https://slack.com/api", &json!({})).unwrap(),
        "https://slack.com/api"
    );
    // No HTML escaping: these are URLs and header values.
    assert_eq!(
        render(
            "{{ connection.q }}",
            &json!({"connection": {"q": "a&b<c>\"d\""}})
        )
        .unwrap(),
        "a&b<c>\"d\""
    );
}

#[test]
fn a_syntax_error_names_the_template() {
    let error = render("{{ token.id", &json!({})).unwrap_err();
    assert_eq!(error.template, "{{ token.id");
    assert!(error.to_string().contains("{{ token.id"), "{error}");
}

#[test]
fn the_context_exposes_its_roots_and_hides_credentials_from_debug() {
    let ctx = TemplateContext {
        connection: map(json!({"subdomain": "acme"})),
        token: map(json!({"instance_url": "https://na1.example"})),
        callback: map(json!({"realmId": "123"})),
        vars: map(json!({"cloudId": "c-1"})),
        credentials: map(json!({"apiKey": "sk_live_very_secret"})),
    };
    assert_eq!(
        ctx.render(
            "{{ connection.subdomain }} {{ token.instance_url }} {{ callback.realmId }} \
             {{ vars.cloudId }} {{ credentials.apiKey }}"
        )
        .unwrap(),
        "acme https://na1.example 123 c-1 sk_live_very_secret"
    );
    let debug = format!("{ctx:?}");
    assert!(!debug.contains("sk_live_very_secret"), "{debug}");
    assert!(debug.contains("apiKey"), "{debug}");
}

#[test]
fn base64_filters_encode_and_decode_text() {
    let ctx =
        json!({"input": {"text": "Héllo?>", "encoded": "SMOpbGxvPz4", "url": "SMOpbGxvPz4="}});
    assert_eq!(
        render("{{ input.text | b64encode }}", &ctx).unwrap(),
        "SMOpbGxvPz4="
    );
    // `+` and `/` of the standard alphabet become `-` and `_`.
    assert_eq!(
        render(
            "{{ '???>>>' | b64encode }}|{{ '???>>>' | b64urlencode }}",
            &ctx
        )
        .unwrap(),
        "Pz8/Pj4+|Pz8_Pj4-"
    );
    assert_eq!(
        render("{{ input.encoded | b64decode }}", &ctx).unwrap(),
        "Héllo?>"
    );
    assert_eq!(
        render("{{ input.url | b64decode }}", &ctx).unwrap(),
        "Héllo?>"
    );
    assert_eq!(
        render("{{ 'Pz8_Pj4-' | b64decode }}", &ctx).unwrap(),
        "???>>>"
    );
    assert!(render("{{ '*not*' | b64decode }}", &ctx).is_err());
    // Escapes in string literals, which a mail message's line ends need.
    assert_eq!(
        render(r#"{{ "a\r\nb" | b64encode }}"#, &ctx).unwrap(),
        "YQ0KYg=="
    );
}
