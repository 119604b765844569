//! Code exchange and refresh against the fake provider: client authentication, body formats,
//! the shapes of token responses.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use patchbay_config::ProviderDefinition;
use patchbay_oauth::{ClientCredentials, OAuthError, TemplateContext, TokenSet};
use secrecy::ExposeSecret as _;
use serde_json::json;

use crate::support::{FakeProvider, Reply, client, connection, credentials, oauth2, refresh};

const REDIRECT: &str = "https://patchbay.example/oauth/callback";

/// An oauth2 definition whose token endpoint is the fake's `/token`; `auth_extra` is added
/// under `auth` (indented by four spaces).
fn provider(fake: &FakeProvider, auth_extra: &str) -> ProviderDefinition {
    fake.custom(&format!(
        r#"
auth:
    type: oauth2
    authorizationUrl: "{{fake}}/authorize"
    tokenUrl: "{{fake}}/token"
{auth_extra}
connectionFields:
  - {{id: tenant, title: Tenant}}
api: {{baseUrl: "{{fake}}/api"}}
account: {{id: "{{{{ token.user }}}}"}}
"#
    ))
}

/// Exchanges `code-1` with the usual client, without PKCE.
async fn exchange(
    provider: &ProviderDefinition,
    ctx: &TemplateContext,
) -> Result<TokenSet, OAuthError> {
    client()
        .exchange_code(
            oauth2(provider),
            &credentials(),
            "code-1",
            REDIRECT,
            None,
            ctx,
        )
        .await
}

/// The refresh token in the clear, to compare.
fn refresh_token(tokens: &TokenSet) -> Option<&str> {
    tokens.refresh_token.as_ref().map(|t| t.expose_secret())
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

#[tokio::test]
async fn client_secret_post_sends_the_client_in_a_form_body() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::json(
            200,
            json!({
                "access_token": "at-1", "refresh_token": "rt-1", "id_token": "idt",
                "expires_in": 3600, "token_type": "Bearer", "scope": "a b",
                "instance_url": "https://na1.example", "id": "https://login.example/id/1"
            }),
        ),
    )
    .await;
    let provider = provider(
        &fake,
        "    tokenParams: {audience: \"{{ connection.tenant }}\"}",
    );
    let tokens = exchange(&provider, &connection(json!({"tenant": "t-1"})))
        .await
        .unwrap();

    let request = fake.only();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/token");
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(request.header("authorization"), None);
    assert_eq!(
        request.form(),
        pairs(&[
            ("audience", "t-1"),
            ("grant_type", "authorization_code"),
            ("code", "code-1"),
            ("redirect_uri", REDIRECT),
            ("client_id", "client-1"),
            ("client_secret", "secret-1"),
        ])
    );

    assert_eq!(tokens.access_token.expose_secret(), "at-1");
    assert_eq!(refresh_token(&tokens), Some("rt-1"));
    assert_eq!(tokens.expires_in, Some(3600));
    assert_eq!(tokens.token_type.as_deref(), Some("Bearer"));
    assert_eq!(tokens.scope.as_deref(), Some("a b"));
    assert_eq!(
        serde_json::Value::Object(tokens.public_fields.clone()),
        json!({
            "expires_in": 3600, "token_type": "Bearer", "scope": "a b",
            "instance_url": "https://na1.example", "id": "https://login.example/id/1"
        })
    );
    let debug = format!("{tokens:?}");
    assert!(
        !debug.contains("at-1") && !debug.contains("rt-1"),
        "{debug}"
    );
}

#[tokio::test]
async fn client_secret_basic_form_encodes_the_client_before_base64() {
    let fake =
        FakeProvider::answering("/token", Reply::json(200, json!({"access_token": "at"}))).await;
    let provider = provider(&fake, "    clientAuth: client_secret_basic");
    let client_credentials = ClientCredentials::new("my client", "s3cr:t/é".to_owned());
    client()
        .exchange_code(
            oauth2(&provider),
            &client_credentials,
            "code-1",
            REDIRECT,
            None,
            &TemplateContext::default(),
        )
        .await
        .unwrap();

    let request = fake.only();
    let expected = format!("Basic {}", STANDARD.encode("my+client:s3cr%3At%2F%C3%A9"));
    assert_eq!(request.header("authorization"), Some(expected.as_str()));
    assert_eq!(
        request.form(),
        pairs(&[
            ("grant_type", "authorization_code"),
            ("code", "code-1"),
            ("redirect_uri", REDIRECT),
        ])
    );
    assert!(!format!("{client_credentials:?}").contains("s3cr"));
}

#[tokio::test]
async fn a_json_token_request_notion_style() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::json(
            200,
            json!({
                "access_token": "secret_abc", "token_type": "bearer", "bot_id": "b-1",
                "workspace_id": "w-1", "workspace_name": "Acme",
                "owner": {"type": "user", "user": {"id": "u-1"}}
            }),
        ),
    )
    .await;
    let provider = provider(
        &fake,
        "    clientAuth: client_secret_basic\n    tokenRequestFormat: json",
    );
    let tokens = exchange(&provider, &TemplateContext::default())
        .await
        .unwrap();

    let request = fake.only();
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.json(),
        json!({"grant_type": "authorization_code", "code": "code-1", "redirect_uri": REDIRECT})
    );
    assert!(
        request
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    assert_eq!(tokens.access_token.expose_secret(), "secret_abc");
    assert!(tokens.refresh_token.is_none());
    assert_eq!(tokens.public_fields["workspace_id"], "w-1");
    assert_eq!(tokens.public_fields["owner"]["user"]["id"], "u-1");
}

#[tokio::test]
async fn a_form_encoded_answer_github_style() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::raw(
            200,
            "application/x-www-form-urlencoded; charset=utf-8",
            "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cuser%3Aemail&token_type=bearer",
        ),
    ).await;
    let provider = provider(
        &fake,
        "    tokenHeaders: {Accept: application/json}\n    pkce: true",
    );
    let tokens = client()
        .exchange_code(
            oauth2(&provider),
            &credentials(),
            "code-1",
            REDIRECT,
            Some("verifier-1"),
            &TemplateContext::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        tokens.access_token.expose_secret(),
        "gho_16C7e42F292c6912E7710c838347Ae178B4a"
    );
    assert_eq!(tokens.scope.as_deref(), Some("repo,user:email"));
    assert_eq!(tokens.token_type.as_deref(), Some("bearer"));
    assert!(!tokens.public_fields.contains_key("access_token"));

    let request = fake.only();
    assert_eq!(request.header("accept"), Some("application/json"));
    assert!(
        request
            .form()
            .contains(&("code_verifier".into(), "verifier-1".into())),
        "{:?}",
        request.form()
    );
}

#[tokio::test]
async fn slack_ok_false_is_a_provider_error() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::json(200, json!({"ok": false, "error": "invalid_code"})),
    )
    .await;
    let provider = provider(&fake, "    scopeSeparator: \",\"");
    let error = exchange(&provider, &TemplateContext::default())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        OAuthError::Provider {
            status: 200,
            error: "invalid_code".into(),
            description: None,
            retry_after: None
        }
    );
    assert!(error.is_definitive());
}

#[tokio::test]
async fn token_path_reads_a_nested_user_token_and_its_siblings() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::json(
            200,
            json!({
                "ok": true, "access_token": "xoxb-bot", "token_type": "bot",
                "team": {"id": "T1", "name": "Acme"},
                "authed_user": {
                    "id": "U1", "access_token": "xoxp-user", "refresh_token": "xoxe-1",
                    "expires_in": "43200", "scope": "search:read", "token_type": "user"
                }
            }),
        ),
    )
    .await;
    let provider = provider(&fake, "    tokenPath: authed_user.access_token");
    let tokens = exchange(&provider, &TemplateContext::default())
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "xoxp-user");
    assert_eq!(refresh_token(&tokens), Some("xoxe-1"));
    assert_eq!(
        tokens.expires_in,
        Some(43200),
        "a string is read as seconds"
    );
    assert_eq!(tokens.scope.as_deref(), Some("search:read"));
    assert_eq!(tokens.token_type.as_deref(), Some("user"));
    // No token survives anywhere in what becomes `token.*`.
    assert_eq!(
        serde_json::Value::Object(tokens.public_fields),
        json!({
            "ok": true, "token_type": "bot", "team": {"id": "T1", "name": "Acme"},
            "authed_user": {
                "id": "U1", "expires_in": "43200", "scope": "search:read", "token_type": "user"
            }
        })
    );
}

#[tokio::test]
async fn a_templated_token_url_and_params_that_cannot_replace_the_grant() {
    let fake = FakeProvider::answering(
        "/t-1/token",
        Reply::json(200, json!({"access_token": "at"})),
    )
    .await;
    let provider = fake.custom(
        r#"
auth:
  type: oauth2
  authorizationUrl: "{fake}/authorize"
  tokenUrl: "{fake}/{{ connection.tenant }}/token"
  tokenParams: {grant_type: password, client_secret: evil, resource: "r-{{ connection.tenant }}"}
  tokenHeaders: {X-Tenant: "{{ connection.tenant }}"}
connectionFields: [{id: tenant, title: Tenant}]
api: {baseUrl: "{fake}/api"}
account: {id: "{{ token.user }}"}
"#,
    );
    exchange(&provider, &connection(json!({"tenant": "t-1"})))
        .await
        .unwrap();
    let request = fake.only();
    assert_eq!(request.path, "/t-1/token");
    assert_eq!(request.header("x-tenant"), Some("t-1"));
    assert_eq!(
        request.form(),
        pairs(&[
            ("resource", "r-t-1"),
            ("grant_type", "authorization_code"),
            ("code", "code-1"),
            ("redirect_uri", REDIRECT),
            ("client_id", "client-1"),
            ("client_secret", "secret-1"),
        ])
    );
}

#[tokio::test]
async fn refresh_sends_the_refresh_token_and_reads_a_rotated_one() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::json(
            200,
            json!({"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 7200.0}),
        ),
    )
    .await;
    let provider = provider(&fake, "");
    let tokens = refresh(&client(), &provider, "rt-1").await.unwrap();
    assert_eq!(
        fake.only().form(),
        pairs(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt-1"),
            ("client_id", "client-1"),
            ("client_secret", "secret-1"),
        ])
    );
    assert_eq!(tokens.access_token.expose_secret(), "at-2");
    assert_eq!(refresh_token(&tokens), Some("rt-2"));
    assert_eq!(tokens.expires_in, Some(7200));
}

#[tokio::test]
async fn a_refresh_without_a_new_refresh_token_says_so() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::json(200, json!({"access_token": "at-2", "expires_in": "3599"})),
    )
    .await;
    let provider = provider(&fake, "");
    let tokens = refresh(&client(), &provider, "rt-1").await.unwrap();
    assert!(tokens.refresh_token.is_none());
    assert_eq!(tokens.expires_in, Some(3599));
}

#[tokio::test]
async fn a_success_without_an_access_token_is_an_invalid_response() {
    let fake = FakeProvider::start().await;
    let provider = provider(&fake, "");
    for reply in [
        Reply::json(200, json!({"token_type": "bearer"})),
        Reply::json(200, json!(["not", "an", "object"])),
        Reply::raw(200, "text/html", "<html>hello</html>"),
        Reply::raw(200, "application/json", ""),
    ] {
        fake.reply("/token", reply);
        let error = exchange(&provider, &TemplateContext::default())
            .await
            .unwrap_err();
        assert!(matches!(error, OAuthError::InvalidResponse(_)), "{error:?}");
        assert!(!error.is_definitive());
    }
}

#[tokio::test]
async fn redirects_from_the_token_endpoint_are_not_followed() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::raw(302, "text/plain", "").header("location", "/elsewhere"),
    )
    .await;
    fake.reply(
        "/elsewhere",
        Reply::json(200, json!({"access_token": "at"})),
    );
    let provider = provider(&fake, "");
    let error = exchange(&provider, &TemplateContext::default())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        OAuthError::UnexpectedStatus {
            status: 302,
            retry_after: None
        }
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn an_oversized_answer_is_refused() {
    let fake = FakeProvider::start().await;
    let huge = format!(
        "{{\"access_token\": \"at\", \"padding\": \"{}\"}}",
        "x".repeat(patchbay_oauth::MAX_RESPONSE_BYTES)
    );
    fake.reply("/token", Reply::raw(200, "application/json", huge));
    let provider = provider(&fake, "");
    let error = exchange(&provider, &TemplateContext::default())
        .await
        .unwrap_err();
    assert!(matches!(error, OAuthError::InvalidResponse(_)), "{error:?}");
}

#[tokio::test]
async fn an_error_description_never_echoes_what_was_sent() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::json(
            400,
            json!({
                "error": "invalid_grant",
                "error_description": "refresh token rt-very-secret-1 was revoked (client secret-1)"
            }),
        ),
    )
    .await;
    let provider = provider(&fake, "");
    let error = refresh(&client(), &provider, "rt-very-secret-1")
        .await
        .unwrap_err();
    let OAuthError::Provider {
        status,
        error: code,
        description,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!((*status, code.as_str()), (400, "invalid_grant"));
    assert_eq!(
        description.as_deref(),
        Some("refresh token [REDACTED] was revoked (client [REDACTED])")
    );
    let shown = format!("{error} {error:?}");
    assert!(
        !shown.contains("rt-very-secret-1") && !shown.contains("secret-1"),
        "{shown}"
    );
    assert!(error.is_definitive());
}

/// A client-credentials definition on the fake's `/token`; `auth_extra` is added under `auth`.
fn client_credentials_provider(
    fake: &FakeProvider,
    auth_extra: &str,
) -> patchbay_config::ClientCredentialsAuth {
    let definition = fake.custom(&format!(
        r#"
auth:
    type: oauth2_client_credentials
    tokenUrl: "{{fake}}/token"
    scopes: [read, write]
{auth_extra}
api: {{baseUrl: "{{fake}}/api"}}
"#
    ));
    match definition.auth {
        patchbay_config::ProviderAuth::OAuth2ClientCredentials(auth) => auth,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn client_credentials_grant_sends_the_scopes_and_the_client_per_client_auth() {
    let answer = json!({"access_token": "at-cc", "expires_in": 60, "token_type": "Bearer"});
    let fake = FakeProvider::answering("/token", Reply::json(200, answer.clone())).await;
    let auth = client_credentials_provider(&fake, "    scopeSeparator: \",\"");
    let tokens = client()
        .client_credentials(&auth, &credentials(), &TemplateContext::default())
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "at-cc");
    assert_eq!(tokens.expires_in, Some(60));
    assert!(tokens.refresh_token.is_none());
    assert_eq!(
        fake.only().form(),
        pairs(&[
            ("grant_type", "client_credentials"),
            ("scope", "read,write"),
            ("client_id", "client-1"),
            ("client_secret", "secret-1"),
        ])
    );

    let fake = FakeProvider::answering("/token", Reply::json(200, answer)).await;
    let auth = client_credentials_provider(&fake, "    clientAuth: client_secret_basic");
    client()
        .client_credentials(&auth, &credentials(), &TemplateContext::default())
        .await
        .unwrap();
    let request = fake.only();
    assert_eq!(
        request.header("authorization"),
        Some(format!("Basic {}", STANDARD.encode("client-1:secret-1")).as_str())
    );
    assert_eq!(
        request.form(),
        pairs(&[
            ("grant_type", "client_credentials"),
            ("scope", "read write")
        ])
    );
}

#[tokio::test]
async fn a_refused_client_is_definitive_and_never_echoed() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::json(
            401,
            json!({"error": "invalid_client", "error_description": "bad secret secret-1"}),
        ),
    )
    .await;
    let auth = client_credentials_provider(&fake, "");
    let error = client()
        .client_credentials(&auth, &credentials(), &TemplateContext::default())
        .await
        .unwrap_err();
    assert!(error.is_definitive(), "{error:?}");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("secret-1"), "{shown}");
}
