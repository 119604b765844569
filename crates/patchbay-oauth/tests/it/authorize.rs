//! Authorization URLs for real catalogue providers, with exact query parameters.

use patchbay_oauth::{OAuthError, Pkce, TemplateContext, authorization_url};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use url::Url;

use crate::support::{FakeProvider, catalogue, connection, oauth2};

const REDIRECT: &str = "https://patchbay.example/oauth/callback";

fn pairs(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

fn expected(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// The protocol parameters every catalogue URL here carries, in order (`scope` only where
/// there are scopes), then the provider's own `extra` ones.
fn protocol_then(scope: Option<&str>, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = vec![
        ("response_type", "code"),
        ("client_id", "client-1"),
        ("redirect_uri", REDIRECT),
    ];
    all.extend(scope.map(|scope| ("scope", scope)));
    all.push(("state", "state-1"));
    all.extend_from_slice(extra);
    expected(&all)
}

fn catalogue_url(id: &str, pkce: Option<&Pkce>, ctx: &TemplateContext) -> Url {
    let auth = oauth2(catalogue(id));
    authorization_url(
        auth,
        &auth.scopes,
        "client-1",
        REDIRECT,
        "state-1",
        pkce,
        ctx,
    )
    .unwrap()
}

#[test]
fn slack_joins_scopes_with_commas() {
    let url = catalogue_url("slack", None, &TemplateContext::default());
    assert_eq!(url.origin().ascii_serialization(), "https://slack.com");
    assert_eq!(url.path(), "/oauth/v2/authorize");
    assert_eq!(
        pairs(&url),
        protocol_then(Some("channels:read,chat:write,team:read,users:read"), &[])
    );
}

#[test]
fn google_asks_for_offline_access_with_pkce() {
    let pkce = Pkce::generate();
    let url = catalogue_url("google-drive", Some(&pkce), &TemplateContext::default());
    assert_eq!(
        url.as_str().split('?').next().unwrap(),
        "https://accounts.google.com/o/oauth2/v2/auth"
    );
    assert_eq!(
        pairs(&url),
        protocol_then(
            Some("openid email profile https://www.googleapis.com/auth/drive.readonly"),
            &[
                ("code_challenge", &pkce.challenge),
                ("code_challenge_method", "S256"),
                ("access_type", "offline"),
                ("prompt", "consent"),
            ],
        )
    );
}

#[test]
fn atlassian_names_its_audience() {
    let url = catalogue_url("jira", None, &TemplateContext::default());
    assert_eq!(
        pairs(&url),
        protocol_then(
            Some("read:jira-user read:jira-work write:jira-work offline_access"),
            &[("audience", "api.atlassian.com"), ("prompt", "consent")],
        )
    );
}

#[test]
fn airtable_sends_an_s256_challenge_of_the_verifier() {
    let pkce = Pkce::generate();
    let url = catalogue_url("airtable", Some(&pkce), &TemplateContext::default());
    let query = pairs(&url);
    let get = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    assert_eq!(
        get("code_challenge"),
        Some(Pkce::challenge_of(pkce.verifier.expose_secret()).as_str())
    );
    assert_eq!(get("code_challenge_method"), Some("S256"));
    assert_eq!(
        get("scope"),
        Some("data.records:read data.records:write schema.bases:read user.email:read")
    );
    assert_eq!(
        get("code_verifier"),
        None,
        "the verifier never leaves Patchbay"
    );
}

#[test]
fn pkce_verifiers_are_fresh_and_well_formed() {
    let first = Pkce::generate();
    let second = Pkce::generate();
    let verifier = first.verifier.expose_secret();
    assert_ne!(verifier, second.verifier.expose_secret());
    assert!((43..=128).contains(&verifier.len()), "{}", verifier.len());
    assert!(
        verifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)),
        "{verifier}"
    );
    // RFC 7636 appendix B.
    let known = Pkce::from_verifier(SecretString::from(
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    ));
    assert_eq!(
        known.challenge,
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    assert!(!format!("{first:?}").contains(verifier));
}

#[test]
fn shopify_renders_the_shop_into_the_host() {
    let url = catalogue_url("shopify", None, &connection(json!({"shop": "acme-store"})));
    assert_eq!(url.host_str(), Some("acme-store.myshopify.com"));
    assert_eq!(url.path(), "/admin/oauth/authorize");
    assert!(pairs(&url).contains(&("scope".into(), "read_products,read_orders".into())));
}

#[test]
fn a_provider_without_scopes_gets_no_scope_parameter() {
    let url = catalogue_url("notion", None, &TemplateContext::default());
    assert_eq!(pairs(&url), protocol_then(None, &[("owner", "user")]));
}

#[tokio::test]
async fn an_existing_query_is_kept_and_protocol_parameters_cannot_be_replaced() {
    let fake = FakeProvider::start().await;
    let provider = fake.custom(
        r#"
auth:
  type: oauth2
  authorizationUrl: "{fake}/authorize?tenant={{ connection.tenant }}&client_id=evil&prompt=login"
  tokenUrl: "{fake}/token"
  scopes: [a, b]
  authorizationParams:
    state: evil
    redirect_uri: https://evil.example/
    prompt: consent
    region: "{{ connection.region }}"
connectionFields:
  - {id: tenant, title: Tenant}
  - {id: region, title: Region}
api: {baseUrl: "{fake}/api"}
account: {id: "{{ token.user }}"}
"#,
    );
    let auth = oauth2(&provider);
    let ctx = connection(json!({"tenant": "t-1", "region": "eu"}));
    let url = authorization_url(
        auth,
        &["x".to_owned()],
        "client-1",
        REDIRECT,
        "s",
        None,
        &ctx,
    )
    .unwrap();
    assert_eq!(
        pairs(&url),
        expected(&[
            ("tenant", "t-1"),
            ("response_type", "code"),
            ("client_id", "client-1"),
            ("redirect_uri", REDIRECT),
            ("scope", "x"),
            ("state", "s"),
            ("prompt", "consent"),
            ("region", "eu"),
        ])
    );
}

#[test]
fn a_url_template_that_renders_no_url_is_a_template_error() {
    let auth = oauth2(catalogue("salesforce"));
    let mut broken = auth.clone();
    broken.authorization_url = "{{ connection.base }}/authorize".into();
    let error = authorization_url(
        &broken,
        &[],
        "client-1",
        REDIRECT,
        "s",
        None,
        &TemplateContext::default(),
    )
    .unwrap_err();
    assert!(matches!(error, OAuthError::Template(_)), "{error:?}");
    assert!(
        error.to_string().contains("auth.authorizationUrl"),
        "{error}"
    );
}
