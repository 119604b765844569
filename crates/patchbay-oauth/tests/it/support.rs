//! A fake provider on a real socket that answers what a test scripts and records every request
//! it receives, and helpers to build definitions pointing at it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use patchbay_config::{OAuth2Auth, ProviderAuth, ProviderDefinition};
use patchbay_oauth::{
    AccountAuth, AccountIdentity, Client, ClientCredentials, OAuthError, TemplateContext, Timeouts,
    TokenSet,
};
use serde_json::{Map, Value};

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self::raw(status, "application/json", body.to_string())
    }

    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    /// The body as form pairs, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Recorded>>,
    replies: Mutex<HashMap<String, Reply>>,
}

/// The fake provider. Paths without a scripted reply answer `404`.
pub struct FakeProvider {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    shared: Arc<Shared>,
}

impl FakeProvider {
    /// A fake that already answers `path` with `reply`.
    pub async fn answering(path: &str, reply: Reply) -> Self {
        let fake = Self::start().await;
        fake.reply(path, reply);
        fake
    }

    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, shared }
    }

    pub fn reply(&self, path: &str, reply: Reply) {
        self.shared
            .replies
            .lock()
            .unwrap()
            .insert(path.to_owned(), reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The only request received; fails when there were more or none.
    pub fn only(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected exactly one request");
        requests.into_iter().next().unwrap()
    }

    /// A provider definition from YAML in which `{fake}` stands for this fake's URL.
    pub fn provider(&self, yaml: &str) -> ProviderDefinition {
        let text = yaml.replace("{fake}", &self.url);
        match patchbay_config::parse_provider(&text) {
            Ok(definition) => definition,
            Err(errors) => panic!("invalid test provider: {errors:?}"),
        }
    }

    /// A provider `custom` whose definition goes on with `rest` (`auth`, `api`, …), with
    /// `{fake}` as in [`Self::provider`].
    pub fn custom(&self, rest: &str) -> ProviderDefinition {
        self.provider(&format!("id: custom\nname: Custom\n{rest}"))
    }

    /// An oauth2 provider `custom` authorizing at this fake's `/authorize` and `/token`;
    /// `rest` is the YAML after `auth` (`api`, `account`, …).
    pub fn custom_oauth2(&self, rest: &str) -> ProviderDefinition {
        self.custom(&format!(
            r#"auth: {{type: oauth2, authorizationUrl: "{{fake}}/authorize", tokenUrl: "{{fake}}/token"}}
{rest}"#
        ))
    }
}

async fn answer(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap().to_vec();
    let path = parts.uri.path().to_owned();
    let query = parts
        .uri
        .query()
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    shared.requests.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: path.clone(),
        query,
        headers: parts.headers,
        body,
    });
    let reply = shared.replies.lock().unwrap().get(&path).cloned();
    let reply =
        reply.unwrap_or_else(|| Reply::json(404, serde_json::json!({"error": "not_found"})));
    tokio::time::sleep(reply.delay).await;
    let mut response = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    response.body(Body::from(reply.body)).unwrap()
}

pub fn client() -> Client {
    Client::new(Timeouts::default())
}

/// Identifies the account behind a bearer `token`.
pub async fn identify(
    provider: &ProviderDefinition,
    token: &str,
    ctx: &TemplateContext,
) -> Result<AccountIdentity, OAuthError> {
    client()
        .identify_account(provider, &AccountAuth::Bearer(token), ctx, None)
        .await
}

/// Refreshes `refresh_token` with the usual client credentials and no other context.
pub async fn refresh(
    client: &Client,
    provider: &ProviderDefinition,
    refresh_token: &str,
) -> Result<TokenSet, OAuthError> {
    client
        .refresh(
            oauth2(provider),
            &credentials(),
            refresh_token,
            &TemplateContext::default(),
        )
        .await
}

pub fn oauth2(provider: &ProviderDefinition) -> &OAuth2Auth {
    match &provider.auth {
        ProviderAuth::OAuth2(auth) => auth,
        other => panic!("not an oauth2 provider: {other:?}"),
    }
}

pub fn catalogue(id: &str) -> &'static ProviderDefinition {
    patchbay_config::catalogue().get(id).unwrap()
}

pub fn credentials() -> ClientCredentials {
    ClientCredentials::new("client-1", "secret-1".to_owned())
}

/// A JSON object literal as a map.
pub fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// The YAML of an API-key provider `keyed` with one secret field `apiKey`, injected as
/// `inject` says; `rest` follows `auth` (`api`, `verify`, …).
pub fn keyed_provider(inject: &str, rest: &str) -> String {
    format!(
        r#"
id: keyed
name: Keyed
auth:
  type: api_key
  fields: [{{id: apiKey, title: API key, secret: true}}]
  inject: {inject}
{rest}"#
    )
}

/// A context with these credential fields.
pub fn with_credentials(value: Value) -> TemplateContext {
    TemplateContext {
        credentials: map(value),
        ..TemplateContext::default()
    }
}

/// A context with this token response.
pub fn with_token(value: Value) -> TemplateContext {
    TemplateContext {
        token: map(value),
        ..TemplateContext::default()
    }
}

pub fn connection(value: Value) -> TemplateContext {
    TemplateContext {
        connection: map(value),
        ..TemplateContext::default()
    }
}

/// The test service account's private key (PKCS#8 PEM, made for these tests) and its public key.
pub const SERVICE_ACCOUNT_KEY: &str = include_str!("../keys/service-account.pem");
pub const SERVICE_ACCOUNT_PUBLIC_KEY: &str = include_str!("../keys/service-account.pub.pem");
pub const SERVICE_ACCOUNT_KEY_ID: &str = "3f1c9a0e5b7d2468ace013579bdf2468ace01357";

/// A key file in Google's shape for `client_email` with the test key, valid at `token_uri`.
pub fn service_account_key_file(client_email: &str, project_id: &str, token_uri: &str) -> Value {
    serde_json::json!({
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": SERVICE_ACCOUNT_KEY_ID,
        "private_key": SERVICE_ACCOUNT_KEY,
        "client_email": client_email,
        "client_id": "104729130582734510021",
        "token_uri": token_uri,
    })
}
