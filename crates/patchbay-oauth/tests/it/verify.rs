//! `verify` for API-key and basic providers: accepted, rejected, or unknown.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use patchbay_config::ProviderDefinition;
use patchbay_oauth::{AccountAuth, OAuthError, TemplateContext};
use serde_json::json;

use crate::support::{FakeProvider, Reply, catalogue, client, keyed_provider, with_credentials};

/// An API-key provider on the fake, injecting as `inject` says, calling `api` and checking
/// credentials with a GET of `check`.
fn keyed(fake: &FakeProvider, inject: &str, api: &str, check: &str) -> ProviderDefinition {
    fake.provider(&keyed_provider(
        inject,
        &format!("api: {api}\nverify:\n  request: {{method: GET, path: {check:?}}}\n"),
    ))
}

async fn verify(
    provider: &ProviderDefinition,
    auth: &AccountAuth<'_>,
    ctx: &TemplateContext,
) -> Result<(), OAuthError> {
    client().verify_credentials(provider, auth, ctx).await
}

#[tokio::test]
async fn an_api_key_in_a_header() {
    let fake = FakeProvider::start().await;
    let provider = keyed(
        &fake,
        r#"{header: X-Api-Key, value: "{{ credentials.apiKey }}"}"#,
        r#"{baseUrl: "{fake}/v3", headers: {X-Version: "7"}}"#,
        "/scopes",
    );
    let ctx = with_credentials(json!({"apiKey": "SG.good"}));

    fake.reply("/v3/scopes", Reply::json(200, json!({"scopes": []})));
    verify(&provider, &AccountAuth::ApiKey, &ctx).await.unwrap();
    let request = fake.only();
    assert_eq!(request.header("x-api-key"), Some("SG.good"));
    assert_eq!(request.header("x-version"), Some("7"));
    assert_eq!(request.header("authorization"), None);

    fake.reply(
        "/v3/scopes",
        Reply::json(401, json!({"errors": [{"message": "bad key"}]})),
    );
    let error = verify(&provider, &AccountAuth::ApiKey, &ctx)
        .await
        .unwrap_err();
    assert_eq!(error, OAuthError::Rejected { status: 401 });
    assert!(error.is_definitive());
}

#[tokio::test]
async fn an_api_key_in_the_query() {
    let fake = FakeProvider::start().await;
    let provider = keyed(
        &fake,
        r#"{query: api_key, value: "{{ credentials.apiKey }}"}"#,
        r#"{baseUrl: "{fake}"}"#,
        "/check?format=json",
    );
    let ctx = with_credentials(json!({"apiKey": "k&y=1"}));
    fake.reply("/check", Reply::json(200, json!({})));
    verify(&provider, &AccountAuth::ApiKey, &ctx).await.unwrap();
    assert_eq!(
        fake.only().query,
        vec![
            ("format".into(), "json".into()),
            ("api_key".into(), "k&y=1".into())
        ]
    );

    fake.reply("/check", Reply::json(403, json!({})));
    let error = verify(&provider, &AccountAuth::ApiKey, &ctx)
        .await
        .unwrap_err();
    assert_eq!(error, OAuthError::Rejected { status: 403 });
    assert!(!error.to_string().contains("k&y=1"));
}

#[tokio::test]
async fn basic_credentials_twilio_style() {
    let fake = FakeProvider::start().await;
    let provider = fake.provider(
        r#"
id: twilio
name: Twilio
auth:
  type: basic
  fields:
    - {id: accountSid, title: Account SID}
    - {id: authToken, title: Auth token, secret: true}
  username: "{{ credentials.accountSid }}"
  password: "{{ credentials.authToken }}"
api: {baseUrl: "{fake}/2010-04-01"}
verify:
  request: {method: GET, path: "/Accounts/{{ credentials.accountSid }}.json"}
"#,
    );
    let ctx = with_credentials(json!({"accountSid": "AC1", "authToken": "tok:en"}));
    fake.reply(
        "/2010-04-01/Accounts/AC1.json",
        Reply::json(200, json!({"sid": "AC1"})),
    );
    verify(&provider, &AccountAuth::Basic, &ctx).await.unwrap();
    let expected = format!("Basic {}", STANDARD.encode("AC1:tok:en"));
    assert_eq!(fake.only().header("authorization"), Some(expected.as_str()));

    // An unknown account SID is a 404: the credentials are wrong all the same.
    let ctx = with_credentials(json!({"accountSid": "AC2", "authToken": "tok"}));
    let error = verify(&provider, &AccountAuth::Basic, &ctx)
        .await
        .unwrap_err();
    assert_eq!(error, OAuthError::Rejected { status: 404 });
}

#[tokio::test]
async fn a_failing_provider_is_not_a_rejection() {
    let fake = FakeProvider::start().await;
    let provider = keyed(
        &fake,
        r#"{header: Authorization, value: "Bearer {{ credentials.apiKey }}"}"#,
        r#"{baseUrl: "{fake}"}"#,
        "/check",
    );
    let ctx = with_credentials(json!({"apiKey": "k"}));
    for status in [500, 429] {
        fake.reply(
            "/check",
            Reply::raw(status, "text/plain", "").header("retry-after", "2"),
        );
        let error = verify(&provider, &AccountAuth::ApiKey, &ctx)
            .await
            .unwrap_err();
        assert_eq!(
            error,
            OAuthError::UnexpectedStatus {
                status,
                retry_after: Some(std::time::Duration::from_secs(2))
            }
        );
        assert!(!error.is_definitive());
    }
}

#[tokio::test]
async fn a_provider_without_verify_accepts_without_a_request() {
    // Stripe's catalogue entry has one; a copy without it has nothing to check.
    let mut provider = catalogue("stripe").clone();
    provider.verify = None;
    client()
        .verify_credentials(
            &provider,
            &AccountAuth::ApiKey,
            &with_credentials(json!({"apiKey": "sk_test"})),
        )
        .await
        .unwrap();
}
