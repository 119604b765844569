//! Which failures are definitive (the account must be reconnected) and which are transient
//! (try again later, maybe after `Retry-After`).

use std::time::Duration;

use patchbay_config::ProviderDefinition;
use patchbay_oauth::{Client, OAuthError, Timeouts};
use serde_json::json;

use crate::support::{FakeProvider, Reply, client, refresh};

fn provider(fake: &FakeProvider) -> ProviderDefinition {
    fake.custom_oauth2(
        r#"
api: {baseUrl: "{fake}/api"}
account: {id: "{{ token.user }}"}
"#,
    )
}

async fn refresh_with(client: &Client, provider: &ProviderDefinition) -> OAuthError {
    refresh(client, provider, "rt-1").await.unwrap_err()
}

/// What the token endpoint answers, and whether the refresh failure is definitive.
#[tokio::test]
async fn token_endpoint_answers_are_classified() {
    let cases: Vec<(&str, Reply, bool)> = vec![
        (
            "invalid_grant",
            Reply::json(400, json!({"error": "invalid_grant"})),
            true,
        ),
        (
            "invalid_client",
            Reply::json(401, json!({"error": "invalid_client"})),
            true,
        ),
        (
            "unauthorized_client",
            Reply::json(400, json!({"error": "unauthorized_client"})),
            true,
        ),
        (
            "an unknown code on a 400",
            Reply::json(400, json!({"error": "something_new"})),
            true,
        ),
        ("a bare 401", Reply::raw(401, "text/plain", "no"), true),
        (
            "GitHub's 200 bad_refresh_token",
            Reply::json(200, json!({"error": "bad_refresh_token"})),
            true,
        ),
        (
            "GitHub's form-encoded 200 error",
            Reply::raw(
                200,
                "application/x-www-form-urlencoded",
                "error=bad_refresh_token&error_description=The+refresh+token+passed+is+incorrect",
            ),
            true,
        ),
        (
            "Slack's token_revoked",
            Reply::json(200, json!({"ok": false, "error": "token_revoked"})),
            true,
        ),
        (
            "Slack's ratelimited",
            Reply::json(200, json!({"ok": false, "error": "ratelimited"})),
            false,
        ),
        (
            "server_error",
            Reply::json(500, json!({"error": "server_error"})),
            false,
        ),
        (
            "invalid_grant on a 500",
            Reply::json(500, json!({"error": "invalid_grant"})),
            false,
        ),
        (
            "temporarily_unavailable on a 400",
            Reply::json(400, json!({"error": "temporarily_unavailable"})),
            false,
        ),
        (
            "a gateway's HTML 502",
            Reply::raw(502, "text/html", "<html>Bad gateway</html>"),
            false,
        ),
        ("a bare 429", Reply::raw(429, "text/plain", ""), false),
        (
            "a 403 without a known code",
            Reply::raw(403, "text/html", "<html>blocked</html>"),
            false,
        ),
    ];
    let fake = FakeProvider::start().await;
    let provider = provider(&fake);
    let client = client();
    for (name, reply, definitive) in cases {
        fake.reply("/token", reply);
        let error = refresh_with(&client, &provider).await;
        assert_eq!(
            error.is_definitive(),
            definitive,
            "{name}: {error:?} should be definitive: {definitive}"
        );
    }
}

#[tokio::test]
async fn a_form_encoded_error_keeps_its_code_and_description() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::raw(
            200,
            "application/x-www-form-urlencoded",
            "error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired.",
        ),
    ).await;
    let error = refresh_with(&client(), &provider(&fake)).await;
    assert_eq!(
        error,
        OAuthError::Provider {
            status: 200,
            error: "bad_verification_code".into(),
            description: Some("The code passed is incorrect or expired.".into()),
            retry_after: None,
        }
    );
}

#[tokio::test]
async fn retry_after_is_read_as_seconds_or_as_a_date() {
    let fake = FakeProvider::start().await;
    let provider = provider(&fake);
    let client = client();

    fake.reply(
        "/token",
        Reply::json(429, json!({"error": "rate_limited"})).header("retry-after", "7"),
    );
    let error = refresh_with(&client, &provider).await;
    assert!(!error.is_definitive());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));

    let at = chrono::Utc::now() + chrono::Duration::seconds(120);
    fake.reply(
        "/token",
        Reply::raw(503, "text/html", "down").header(
            "retry-after",
            &at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ),
    );
    let error = refresh_with(&client, &provider).await;
    assert!(!error.is_definitive());
    let wait = error.retry_after().unwrap();
    assert!(
        (Duration::from_secs(100)..=Duration::from_secs(121)).contains(&wait),
        "{wait:?}"
    );

    fake.reply("/token", Reply::raw(503, "text/html", "down"));
    assert_eq!(refresh_with(&client, &provider).await.retry_after(), None);
}

#[tokio::test]
async fn a_slow_provider_times_out() {
    let fake = FakeProvider::answering(
        "/token",
        Reply::json(200, json!({"access_token": "at"})).delayed(Duration::from_secs(5)),
    )
    .await;
    let client = Client::new(Timeouts {
        connect: Duration::from_secs(1),
        total: Duration::from_millis(200),
    });
    let error = refresh_with(&client, &provider(&fake)).await;
    assert_eq!(error, OAuthError::Timeout);
    assert!(!error.is_definitive());
}

#[tokio::test]
async fn a_refused_connection_is_unreachable_and_transient() {
    // A port that was just free: nothing listens on it any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let provider = patchbay_config::parse_provider(&format!(
        r#"
id: custom
name: Custom
auth: {{type: oauth2, authorizationUrl: "http://{address}/authorize", tokenUrl: "http://{address}/token?key=query-secret"}}
api: {{baseUrl: "http://{address}/api"}}
account: {{id: "{{{{ token.user }}}}"}}
"#
    ))
    .unwrap();
    let error = refresh_with(&client(), &provider).await;
    assert!(matches!(error, OAuthError::Unreachable(_)), "{error:?}");
    assert!(!error.is_definitive());
    let message = error.to_string();
    assert!(message.contains("127.0.0.1"), "{message}");
    assert!(!message.contains("query-secret"), "{message}");
}

#[test]
fn every_kind_of_error_has_a_classification() {
    let table = [
        (
            OAuthError::Provider {
                status: 400,
                error: "access_denied".into(),
                description: None,
                retry_after: None,
            },
            true,
        ),
        (OAuthError::Rejected { status: 401 }, true),
        (OAuthError::AccountNotIdentified("empty".into()), true),
        (
            OAuthError::UnexpectedStatus {
                status: 500,
                retry_after: None,
            },
            false,
        ),
        (OAuthError::Unreachable("refused".into()), false),
        (OAuthError::Timeout, false),
        (OAuthError::InvalidResponse("not json".into()), false),
        (OAuthError::Template("bad".into()), false),
    ];
    for (error, definitive) in table {
        assert_eq!(error.is_definitive(), definitive, "{error:?}");
    }
}
