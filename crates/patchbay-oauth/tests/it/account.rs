//! The `account` step: a request with the new credentials, or the token response alone.

use patchbay_oauth::{OAuthError, TemplateContext};
use serde_json::{Value, json};

use crate::support::{FakeProvider, Reply, catalogue, identify, map, with_token};

#[tokio::test]
async fn a_request_under_the_base_url_with_the_access_token() {
    let fake = FakeProvider::answering(
        "/api/v1/me",
        Reply::json(
            200,
            json!({"org": {"id": 42, "name": "Acme"}, "user": {"name": null, "login": "ada"}}),
        )
        .header("x-region", "eu-1"),
    )
    .await;
    let provider = fake.custom_oauth2(
        r#"
api:
  baseUrl: "{fake}/api/v1/"
  headers:
    Notion-Version: "2025-09-03"
    X-Access-Token: "{{ accessToken }}"
account:
  request: {method: GET, path: "/me", query: {fields: "org,user"}, headers: {X-Extra: "yes"}}
  id: "{{ response.body.org.id }}"
  data:
    name: "{{ response.body.org.name }}"
    user: "{{ response.body.user.name or response.body.user.login }}"
    email: "{{ response.body.user.email }}"
    region: "{{ response.headers['x-region'] }}"
  vars:
    orgId: "{{ response.body.org.id }}"
    missing: "{{ response.body.nothing }}"
"#,
    );
    let identity = identify(&provider, "at-1", &TemplateContext::default())
        .await
        .unwrap();

    assert_eq!(identity.provider_id, "42");
    assert_eq!(
        Value::Object(identity.provider_data),
        json!({"name": "Acme", "user": "ada", "region": "eu-1"}),
        "values that render empty are left out"
    );
    assert_eq!(Value::Object(identity.vars), json!({"orgId": "42"}));

    let request = fake.only();
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/api/v1/me");
    assert_eq!(request.query, vec![("fields".into(), "org,user".into())]);
    assert_eq!(request.header("authorization"), Some("Bearer at-1"));
    assert_eq!(request.header("notion-version"), Some("2025-09-03"));
    assert_eq!(request.header("x-access-token"), Some("at-1"));
    assert_eq!(request.header("x-extra"), Some("yes"));
    assert_eq!(request.header("accept"), Some("application/json"));
}

#[tokio::test]
async fn a_graphql_post_with_a_rendered_body_linear_style() {
    let fake = FakeProvider::answering(
        "/graphql",
        Reply::json(
            200,
            json!({"data": {"viewer": {"id": "u1", "name": "Ada", "organization": {"id": "o1", "name": "Acme", "urlKey": "acme"}}}}),
        ),
    ).await;
    let provider = fake.custom_oauth2(
        r#"
api: {baseUrl: "{fake}", authHeaderFormat: "token {{ accessToken }}"}
account:
  request:
    method: POST
    path: /graphql
    body: {query: "{ viewer { id } }", variables: {team: "{{ token.team }}", first: 1}}
  id: "{{ response.body.data.viewer.organization.id }}"
  data: {name: "{{ response.body.data.viewer.organization.name }}"}
"#,
    );
    let ctx = with_token(json!({"team": "t-9"}));
    let identity = identify(&provider, "lin_oauth_1", &ctx).await.unwrap();
    assert_eq!(identity.provider_id, "o1");
    let request = fake.only();
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("authorization"), Some("token lin_oauth_1"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.json(),
        json!({"query": "{ viewer { id } }", "variables": {"team": "t-9", "first": 1}})
    );
}

#[tokio::test]
async fn an_absolute_url_from_the_token_response_salesforce_style() {
    let fake = FakeProvider::answering(
        "/id/00D1/0051",
        Reply::json(
            200,
            json!({"organization_id": "00D1", "display_name": "Ada", "email": "ada@example.com"}),
        ),
    )
    .await;
    let provider = catalogue("salesforce");
    let ctx = with_token(json!({
        "id": format!("{}/id/00D1/0051", fake.url),
        "instance_url": "https://na1.example"
    }));
    let identity = identify(provider, "00D!tok", &ctx).await.unwrap();
    assert_eq!(identity.provider_id, "00D1");
    assert_eq!(identity.provider_data["name"], "Ada");
    assert_eq!(identity.provider_data["email"], "ada@example.com");
    assert_eq!(fake.only().header("authorization"), Some("Bearer 00D!tok"));
}

#[tokio::test]
async fn a_base_url_with_vars_and_a_path_with_a_query_jira_style() {
    let fake = FakeProvider::answering(
        "/ex/jira/c-1/rest/api/3/myself",
        Reply::json(200, json!({"accountId": "a-1"})),
    )
    .await;
    let provider = fake.custom_oauth2(
        r#"
api: {baseUrl: "{fake}/ex/jira/{{ vars.cloudId }}"}
account:
  request: {method: GET, path: "/rest/api/3/myself?expand=groups"}
  id: "{{ response.body.accountId }}"
  vars: {cloudId: "{{ vars.cloudId }}"}
"#,
    );
    let ctx = TemplateContext {
        vars: map(json!({"cloudId": "c-1"})),
        ..TemplateContext::default()
    };
    let identity = identify(&provider, "at", &ctx).await.unwrap();
    assert_eq!(identity.provider_id, "a-1");
    let request = fake.only();
    assert_eq!(request.path, "/ex/jira/c-1/rest/api/3/myself");
    assert_eq!(request.query, vec![("expand".into(), "groups".into())]);
}

#[tokio::test]
async fn the_token_response_alone_slack_and_notion() {
    let ctx = with_token(json!({"team": {"id": "T1", "name": "Acme"}, "bot_user_id": "B1"}));
    let identity = identify(catalogue("slack"), "xoxb", &ctx).await.unwrap();
    assert_eq!(identity.provider_id, "T1");
    assert_eq!(
        Value::Object(identity.provider_data),
        json!({"name": "Acme", "botUserId": "B1"})
    );

    let ctx = with_token(json!({"workspace_id": "w-1", "workspace_name": "Docs", "bot_id": "b-1"}));
    let identity = identify(catalogue("notion"), "secret_x", &ctx)
        .await
        .unwrap();
    assert_eq!(identity.provider_id, "w-1");
}

#[tokio::test]
async fn an_id_that_renders_empty_is_an_error_mailchimp_style() {
    let fake = FakeProvider::start().await;
    // Mailchimp's metadata endpoint answers 200 for a bad token.
    fake.reply(
        "/metadata",
        Reply::json(200, json!({"error": "invalid_token"})),
    );
    let provider = fake.custom_oauth2(
        r#"
api: {baseUrl: "{{ vars.apiEndpoint }}/3.0"}
account:
  request: {method: GET, url: "{fake}/metadata"}
  id: "{{ response.body.user_id }}"
  vars: {apiEndpoint: "{{ response.body.api_endpoint }}"}
"#,
    );
    let error = identify(&provider, "at", &TemplateContext::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, OAuthError::AccountNotIdentified(_)),
        "{error:?}"
    );

    // Without a token response there is nothing to read either.
    let error = identify(catalogue("slack"), "xoxb", &TemplateContext::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, OAuthError::AccountNotIdentified(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_refused_token_is_rejected_and_other_failures_keep_their_status() {
    let fake = FakeProvider::start().await;
    let provider = fake.custom_oauth2(
        r#"
api: {baseUrl: "{fake}/api"}
account:
  request: {method: GET, path: /me}
  id: "{{ response.body.id }}"
"#,
    );
    fake.reply("/api/me", Reply::json(401, json!({"message": "bad token"})));
    let error = identify(&provider, "at", &TemplateContext::default())
        .await
        .unwrap_err();
    assert_eq!(error, OAuthError::Rejected { status: 401 });

    fake.reply(
        "/api/me",
        Reply::raw(503, "text/plain", "busy").header("retry-after", "3"),
    );
    let error = identify(&provider, "at", &TemplateContext::default())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        OAuthError::UnexpectedStatus {
            status: 503,
            retry_after: Some(std::time::Duration::from_secs(3))
        }
    );
    assert!(!error.is_definitive());
}

#[tokio::test]
async fn a_redirect_is_followed_within_the_origin_only() {
    let fake = FakeProvider::start().await;
    let other = FakeProvider::start().await;
    fake.reply(
        "/api/me",
        Reply::raw(302, "text/plain", "").header("location", "/api/v2/me"),
    );
    fake.reply("/api/v2/me", Reply::json(200, json!({"id": "u-1"})));
    let provider = fake.custom_oauth2(
        r#"
api: {baseUrl: "{fake}/api", headers: {X-Token: "{{ accessToken }}"}}
account:
  request: {method: GET, path: /me}
  id: "{{ response.body.id }}"
"#,
    );
    let identity = identify(&provider, "at", &TemplateContext::default())
        .await
        .unwrap();
    assert_eq!(identity.provider_id, "u-1");
    assert_eq!(fake.requests().len(), 2);

    fake.reply(
        "/api/me",
        Reply::raw(302, "text/plain", "").header("location", &format!("{}/steal", other.url)),
    );
    let error = identify(&provider, "at", &TemplateContext::default())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        OAuthError::UnexpectedStatus {
            status: 302,
            retry_after: None
        }
    );
    assert!(
        other.requests().is_empty(),
        "the token went to another origin"
    );
}

#[tokio::test]
async fn credentials_of_the_wrong_kind_are_refused() {
    let error = identify(catalogue("stripe"), "at", &TemplateContext::default())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        OAuthError::AuthMismatch {
            expected: "api_key",
            given: "oauth2"
        }
    );
}
