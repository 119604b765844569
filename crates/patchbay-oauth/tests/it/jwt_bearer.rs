//! The JWT bearer grant against the fake provider: the assertion's header and claims checked
//! with the service account's public key, the token request, and key files that cannot sign.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use patchbay_config::{JwtBearerAuth, ProviderAuth, ProviderDefinition};
use patchbay_oauth::{KeyFileError, OAuthError, ServiceAccountKey, TemplateContext, TokenSet};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::support::{
    FakeProvider, Reply, SERVICE_ACCOUNT_KEY, SERVICE_ACCOUNT_KEY_ID, SERVICE_ACCOUNT_PUBLIC_KEY,
    client, service_account_key_file,
};

const EMAIL: &str = "sync@acme-prod.iam.gserviceaccount.com";

fn provider(fake: &FakeProvider) -> ProviderDefinition {
    fake.custom(
        r#"
auth:
  type: jwt_bearer
  tokenUrl: "{fake}/token"
  scopes: [drive, calendar]
  subject: optional
api: {baseUrl: "{fake}/api"}
"#,
    )
}

fn auth(provider: &ProviderDefinition) -> &JwtBearerAuth {
    match &provider.auth {
        ProviderAuth::JwtBearer(auth) => auth,
        other => panic!("not jwt_bearer: {other:?}"),
    }
}

fn key(token_uri: &str) -> ServiceAccountKey {
    ServiceAccountKey::parse(&service_account_key_file(EMAIL, "acme-prod", token_uri)).unwrap()
}

/// The grant for `provider` with the test key, its key file naming `token_uri`.
async fn grant(
    provider: &ProviderDefinition,
    token_uri: &str,
    subject: Option<&str>,
) -> Result<TokenSet, OAuthError> {
    client()
        .jwt_bearer(
            auth(provider),
            &key(token_uri),
            subject,
            &TemplateContext::default(),
        )
        .await
}

/// An assertion's header and claims, once its signature, `aud` and `exp` are verified with the
/// test key's public half.
fn verified(assertion: &str, audience: &str) -> jsonwebtoken::TokenData<Value> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    let public = DecodingKey::from_rsa_pem(SERVICE_ACCOUNT_PUBLIC_KEY.as_bytes()).unwrap();
    jsonwebtoken::decode::<Value>(assertion, &public, &validation).unwrap()
}

#[tokio::test]
async fn the_assertion_names_the_account_the_endpoint_and_the_user_for_an_hour() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::json(
            200,
            json!({"access_token": "ya29.sample", "expires_in": 3599, "token_type": "Bearer"}),
        ),
    )
    .await;
    let provider = provider(&fake);
    let token_url = format!("{}/token", fake.url);
    let before = chrono::Utc::now().timestamp();
    let tokens = grant(&provider, &token_url, Some("ada@acme.example"))
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "ya29.sample");
    assert_eq!(tokens.expires_in, Some(3599));

    let request = fake.only();
    assert_eq!(
        request.header("authorization"),
        None,
        "no client authentication"
    );
    let form = request.form();
    let names: Vec<&str> = form.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["grant_type", "assertion", "scope"]);
    assert_eq!(form[0].1, "urn:ietf:params:oauth:grant-type:jwt-bearer");
    assert_eq!(form[2].1, "drive calendar");

    let decoded = verified(&form[1].1, &token_url);
    assert_eq!(decoded.header.kid.as_deref(), Some(SERVICE_ACCOUNT_KEY_ID));
    let claims = decoded.claims;
    assert_eq!(claims["iss"], EMAIL);
    assert_eq!(claims["sub"], "ada@acme.example");
    assert_eq!(claims["scope"], "drive calendar");
    let issued = claims["iat"].as_i64().unwrap();
    assert!(issued >= before && issued <= chrono::Utc::now().timestamp());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - issued,
        3600,
        "an hour, Google's most"
    );
}

#[tokio::test]
async fn without_a_subject_or_scopes_the_assertion_has_neither() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::json(200, json!({"access_token": "at", "expires_in": 60})),
    )
    .await;
    let provider = fake.custom(
        r#"
auth: {type: jwt_bearer, tokenUrl: "{fake}/token"}
api: {baseUrl: "{fake}/api"}
"#,
    );
    let token_url = format!("{}/token", fake.url);
    grant(&provider, &token_url, None).await.unwrap();
    let form = fake.only().form();
    assert_eq!(form.len(), 2, "grant_type and assertion only: {form:?}");
    let claims = verified(&form[1].1, &token_url).claims;
    assert!(
        claims.get("sub").is_none() && claims.get("scope").is_none(),
        "{claims}"
    );
}

#[tokio::test]
async fn a_key_file_for_another_endpoint_is_refused_before_any_request() {
    let fake = FakeProvider::start().await;
    let provider = provider(&fake);
    let err = grant(&provider, "https://oauth2.googleapis.com/token", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OAuthError::KeyFile(KeyFileError::OtherTokenEndpoint { given, .. })
            if given == "https://oauth2.googleapis.com/token"),
        "{err:?}"
    );
    assert!(err.is_definitive());
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_refused_assertion_is_definitive() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::json(
            400,
            json!({"error": "invalid_grant", "error_description": "Invalid JWT"}),
        ),
    )
    .await;
    let provider = provider(&fake);
    let token_url = format!("{}/token", fake.url);
    let err = grant(&provider, &token_url, None).await.unwrap_err();
    assert!(
        matches!(&err, OAuthError::Provider { error, .. } if error == "invalid_grant"),
        "{err:?}"
    );
    assert!(err.is_definitive());
}

#[test]
fn key_files_that_cannot_sign_are_refused_without_quoting_the_key() {
    let good = service_account_key_file(EMAIL, "acme-prod", "https://oauth2.googleapis.com/token");
    let with = |name: &str, value: Value| {
        let mut key_file = good.clone();
        key_file[name] = value;
        key_file
    };
    let without = |name: &str| {
        let mut key_file = good.clone();
        key_file.as_object_mut().unwrap().remove(name);
        key_file
    };
    let cases = [
        (json!("{\"client_email\": "), "not JSON (line 1, column"),
        (json!("[]"), "not a JSON object"),
        (json!(42), "not a JSON object"),
        (without("client_email"), "no `client_email`"),
        (without("private_key"), "no `private_key`"),
        (with("client_email", json!("  ")), "`client_email` is not"),
        (with("private_key_id", json!(7)), "`private_key_id` is not"),
        (
            with("private_key", json!("not a key")),
            "not an RSA private key",
        ),
        (
            with("private_key", json!(SERVICE_ACCOUNT_PUBLIC_KEY)),
            "not an RSA private key",
        ),
        (
            with("private_key", json!(&SERVICE_ACCOUNT_KEY[..400])),
            "not an RSA private key",
        ),
    ];
    for (key_file, says) in cases {
        let err = ServiceAccountKey::parse(&key_file).unwrap_err().to_string();
        assert!(err.contains(says), "`{err}` lacks `{says}`");
        assert!(!err.contains("PRIVATE KEY"), "{err}");
    }

    // The file's text reads as its object; Debug shows the account, never the key.
    let key = ServiceAccountKey::parse(&Value::String(good.to_string())).unwrap();
    assert_eq!(key.client_email(), EMAIL);
    let debug = format!("{key:?}");
    assert!(
        debug.contains(EMAIL) && !debug.contains("PRIVATE KEY"),
        "{debug}"
    );
    let values = key.template_values(Some("ada@acme.example"));
    assert_eq!(values["project_id"], "acme-prod");
    assert_eq!(values["subject"], "ada@acme.example");
    assert!(values.get("private_key").is_none());
}
