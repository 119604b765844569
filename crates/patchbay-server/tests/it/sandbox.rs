//! The built-in sandbox provider, served on its own socket as the fake
//! provider of end-to-end tests (and once nested, as `patchbay serve` mounts
//! it). The consent form is submitted as the page writes it.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use patchbay_server::sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FailureKind, FailureMode, FailureTarget,
    SANDBOX_ACCOUNTS, Sandbox, SandboxConfig,
};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use url::Url;

/// Has a query of its own, which the sandbox must keep.
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback?keep=1";

struct Provider {
    sandbox: Sandbox,
    /// The mount point, without a trailing slash.
    base: String,
    http: reqwest::Client,
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    text: String,
}

impl Reply {
    fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.body["error"], error, "{}", self.text);
        assert!(
            self.body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{}",
            self.text
        );
        assert_eq!(self.header("cache-control"), Some("no-store"));
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// A verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_query(challenge: Option<&str>) -> Vec<(&'static str, String)> {
    let mut query = vec![
        ("response_type", "code".to_owned()),
        ("client_id", DEFAULT_CLIENT_ID.to_owned()),
        ("redirect_uri", REDIRECT_URI.to_owned()),
        ("state", "st<ate>&\"1\"".to_owned()),
        (
            "scope",
            "contacts.read contacts.write offline_access".to_owned(),
        ),
    ];
    if let Some(challenge) = challenge {
        query.push(("code_challenge", challenge.to_owned()));
        query.push(("code_challenge_method", "S256".to_owned()));
    }
    query
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of `name="…"` in one tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// Every `<input>` of the page whose `type` is `kind`.
fn inputs(page: &str, kind: &str) -> Vec<String> {
    page.split("<input")
        .skip(1)
        .map(|rest| rest[..rest.find('>').unwrap()].to_owned())
        .filter(|tag| attribute(tag, "type").as_deref() == Some(kind))
        .collect()
}

fn query_param(location: &Url, name: &str) -> Option<String> {
    location
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

impl Provider {
    async fn start(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::new(config);
        let (base, router) = ("", sandbox.router());
        Self::serve(sandbox, base, router).await
    }

    /// As `patchbay serve` mounts it: under `/sandbox`.
    async fn start_nested(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::new(config);
        let router = axum::Router::new().nest("/sandbox", sandbox.router());
        Self::serve(sandbox, "/sandbox", router).await
    }

    async fn serve(sandbox: Sandbox, prefix: &str, router: axum::Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}{prefix}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            sandbox,
            base,
            http,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn consent_page(&self, query: &[(&str, String)]) -> (Url, Reply) {
        let response = self
            .http
            .get(self.url("/oauth/authorize"))
            .query(query)
            .send()
            .await
            .unwrap();
        let url = response.url().clone();
        (url, reply(response).await)
    }

    /// Submits the consent form as a browser would: the page's action, its
    /// hidden fields, the chosen account and the button pressed.
    async fn submit(&self, page_url: &Url, page: &str, account: &str, decision: &str) -> Reply {
        let form_tag = page.split("<form").nth(1).unwrap();
        let form_tag = &form_tag[..form_tag.find('>').unwrap()];
        assert_eq!(attribute(form_tag, "method").as_deref(), Some("post"));
        let action = page_url
            .join(&attribute(form_tag, "action").unwrap())
            .unwrap();
        let mut fields: Vec<(String, String)> = inputs(page, "hidden")
            .iter()
            .map(|tag| {
                (
                    attribute(tag, "name").unwrap(),
                    attribute(tag, "value").unwrap(),
                )
            })
            .collect();
        fields.push(("account".into(), account.into()));
        fields.push(("decision".into(), decision.into()));
        reply(self.http.post(action).form(&fields).send().await.unwrap()).await
    }

    /// Consents as `account` and returns the code from the redirect.
    async fn authorize(&self, account: &str, challenge: Option<&str>) -> String {
        let (url, page) = self.consent_page(&authorize_query(challenge)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let answer = self.submit(&url, &page.text, account, "allow").await;
        assert_eq!(answer.status, 303, "{}", answer.text);
        let location = Url::parse(answer.header("location").unwrap()).unwrap();
        assert_eq!(query_param(&location, "state").unwrap(), "st<ate>&\"1\"");
        query_param(&location, "code").unwrap()
    }

    /// A token request with the client's credentials in the body.
    async fn token(&self, form: &[(&str, &str)]) -> Reply {
        let mut form = form.to_vec();
        form.push(("client_id", DEFAULT_CLIENT_ID));
        form.push(("client_secret", DEFAULT_CLIENT_SECRET));
        self.token_raw(&form, None).await
    }

    async fn token_raw<F: serde::Serialize + ?Sized>(
        &self,
        form: &F,
        basic: Option<(&str, &str)>,
    ) -> Reply {
        let mut request = self.http.post(self.url("/oauth/token")).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        reply(request.send().await.unwrap()).await
    }

    async fn exchange(&self, code: &str, verifier: Option<&str>) -> Reply {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        self.token(&form).await
    }

    /// Connects `account` and returns its token response.
    async fn connect(&self, account: &str) -> Value {
        let (verifier, challenge) = pkce();
        let code = self.authorize(account, Some(&challenge)).await;
        let tokens = self.exchange(&code, Some(&verifier)).await;
        assert_eq!(tokens.status, 200, "{}", tokens.text);
        tokens.body
    }

    async fn refresh(&self, refresh_token: &str) -> Reply {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        reply(request.send().await.unwrap()).await
    }

    async fn me(&self, bearer: &str) -> Reply {
        self.api(reqwest::Method::GET, "/api/me", bearer, None)
            .await
    }

    async fn with_api_key(&self, method: reqwest::Method, path: &str, key: &str) -> Reply {
        reply(
            self.http
                .request(method, self.url(path))
                .header("x-api-key", key)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn control(&self, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.http.request(
            if body.is_some() || path != "/control/stats" {
                reqwest::Method::POST
            } else {
                reqwest::Method::GET
            },
            self.url(path),
        );
        if let Some(body) = body {
            request = request.json(&body);
        }
        reply(request.send().await.unwrap()).await
    }
}

fn access_token(tokens: &Value) -> &str {
    tokens["access_token"].as_str().unwrap()
}

fn refresh_token(tokens: &Value) -> &str {
    tokens["refresh_token"].as_str().unwrap()
}

const GRACE: usize = 1;

#[tokio::test]
async fn code_flow_with_pkce_connects_the_chosen_account() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let grace = SANDBOX_ACCOUNTS[GRACE];
    let (verifier, challenge) = pkce();

    let (url, page) = provider
        .consent_page(&authorize_query(Some(&challenge)))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    let answer = provider.submit(&url, &page.text, grace.id, "allow").await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    let location = Url::parse(answer.header("location").unwrap()).unwrap();
    assert_eq!(
        location.as_str().split('?').next(),
        Some("http://127.0.0.1:9/callback")
    );
    assert_eq!(query_param(&location, "keep").as_deref(), Some("1"));
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some("st<ate>&\"1\"")
    );
    assert_eq!(query_param(&location, "error"), None);
    let code = query_param(&location, "code").unwrap();

    let tokens = provider.exchange(&code, Some(&verifier)).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert_eq!(tokens.header("cache-control"), Some("no-store"));
    assert_eq!(tokens.body["token_type"], "Bearer");
    assert_eq!(tokens.body["expires_in"], 3600);
    assert_eq!(
        tokens.body["scope"],
        "contacts.read contacts.write offline_access"
    );
    assert!(access_token(&tokens.body).starts_with("sbx_at_"));
    assert!(refresh_token(&tokens.body).starts_with("sbx_rt_"));

    let me = provider.me(access_token(&tokens.body)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(
        me.body,
        json!({ "id": grace.id, "name": grace.name, "email": grace.email })
    );

    let stats = provider.sandbox.stats();
    assert_eq!(stats.token_requests["authorization_code"], 1);
    assert_eq!(stats.token_requests["refresh_token"], 0);
    assert_eq!(stats.api_requests[grace.id], 1);
    assert_eq!(stats.api_requests[SANDBOX_ACCOUNTS[0].id], 0);
}

#[tokio::test]
async fn nested_under_sandbox_the_relative_form_still_works() {
    let provider = Provider::start_nested(SandboxConfig::default()).await;
    assert!(provider.base.ends_with("/sandbox"));
    let account = SANDBOX_ACCOUNTS[2];
    let tokens = provider.connect(account.id).await;
    let me = provider.me(access_token(&tokens)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["id"], account.id);
    let stats = provider.control("/control/stats", None).await;
    assert_eq!(stats.status, 200);
    assert_eq!(stats.body["apiRequests"][account.id], 1);
    // Unknown paths below the mount answer in the sandbox's format.
    let missing = provider.control("/control/nothing", Some(json!({}))).await;
    missing.assert_error(404, "not_found");
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_the_state() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let (url, page) = provider.consent_page(&authorize_query(None)).await;
    let answer = provider
        .submit(&url, &page.text, SANDBOX_ACCOUNTS[0].id, "deny")
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    let location = Url::parse(answer.header("location").unwrap()).unwrap();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some("st<ate>&\"1\"")
    );
    assert_eq!(query_param(&location, "code"), None);
}

#[tokio::test]
async fn a_code_needs_the_right_verifier_and_works_once() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let account = SANDBOX_ACCOUNTS[0].id;
    let (verifier, challenge) = pkce();

    // A wrong verifier is refused, and the code is gone after the attempt.
    let code = provider.authorize(account, Some(&challenge)).await;
    let (other_verifier, _) = pkce();
    provider
        .exchange(&code, Some(&other_verifier))
        .await
        .assert_error(400, "invalid_grant");
    provider
        .exchange(&code, Some(&verifier))
        .await
        .assert_error(400, "invalid_grant");

    // A missing verifier is refused.
    let code = provider.authorize(account, Some(&challenge)).await;
    provider
        .exchange(&code, None)
        .await
        .assert_error(400, "invalid_grant");

    // A verifier for a code requested without a challenge is refused.
    let code = provider.authorize(account, None).await;
    provider
        .exchange(&code, Some(&verifier))
        .await
        .assert_error(400, "invalid_grant");

    // Without PKCE at all, the code works once.
    let code = provider.authorize(account, None).await;
    assert_eq!(provider.exchange(&code, None).await.status, 200);
    provider
        .exchange(&code, None)
        .await
        .assert_error(400, "invalid_grant");

    // The right verifier works once.
    let code = provider.authorize(account, Some(&challenge)).await;
    let first = provider.exchange(&code, Some(&verifier)).await;
    assert_eq!(first.status, 200, "{}", first.text);
    provider
        .exchange(&code, Some(&verifier))
        .await
        .assert_error(400, "invalid_grant");

    // The redirect URI must be the one of the authorization request.
    let code = provider.authorize(account, None).await;
    provider
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
        ])
        .await
        .assert_error(400, "invalid_grant");

    // A made-up code.
    provider
        .exchange("sbx_code_made_up", None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        provider.sandbox.stats().token_requests["authorization_code"],
        10
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let provider = Provider::start(SandboxConfig {
        code_ttl: Duration::from_millis(300),
        ..SandboxConfig::default()
    })
    .await;
    let account = SANDBOX_ACCOUNTS[0].id;
    let fresh = provider.authorize(account, None).await;
    let stale = provider.authorize(account, None).await;
    assert_eq!(provider.exchange(&fresh, None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    provider
        .exchange(&stale, None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn client_authentication_by_basic_or_body() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let account = SANDBOX_ACCOUNTS[0].id;
    let grant = |code: String| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", REDIRECT_URI.to_owned()),
        ]
    };

    // Wrong secret by Basic.
    let form = grant(provider.authorize(account, None).await);
    let wrong = provider
        .token_raw(&form, Some((DEFAULT_CLIENT_ID, "not-the-secret")))
        .await;
    wrong.assert_error(401, "invalid_client");
    assert!(
        wrong
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );

    // Wrong secret in the body.
    let mut form = grant(provider.authorize(account, None).await);
    form.push(("client_id", DEFAULT_CLIENT_ID.to_owned()));
    form.push(("client_secret", "not-the-secret".to_owned()));
    provider
        .token_raw(&form, None)
        .await
        .assert_error(401, "invalid_client");

    // An unknown client with the right secret.
    let mut form = grant(provider.authorize(account, None).await);
    form.push(("client_id", "someone-else".to_owned()));
    form.push(("client_secret", DEFAULT_CLIENT_SECRET.to_owned()));
    provider
        .token_raw(&form, None)
        .await
        .assert_error(401, "invalid_client");

    // No credentials at all.
    let form = grant(provider.authorize(account, None).await);
    provider
        .token_raw(&form, None)
        .await
        .assert_error(401, "invalid_client");

    // Both methods at once.
    let mut form = grant(provider.authorize(account, None).await);
    form.push(("client_secret", DEFAULT_CLIENT_SECRET.to_owned()));
    provider
        .token_raw(&form, Some((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)))
        .await
        .assert_error(400, "invalid_request");

    // The right secret by Basic.
    let form = grant(provider.authorize(account, None).await);
    let ok = provider
        .token_raw(&form, Some((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(
        provider.sandbox.stats().token_requests["authorization_code"],
        6
    );

    // Basic credentials are form-urlencoded first (RFC 6749 §2.3.1).
    let odd = Provider::start(SandboxConfig {
        clients: vec![("odd client".to_owned(), "s3cr:t+&".to_owned())],
        ..SandboxConfig::default()
    })
    .await;
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "sbx_rt_unknown"),
    ];
    for (credentials, error) in [
        ("odd+client:s3cr%3At%2B%26", "invalid_grant"),
        ("odd+client:s3cr%3At%2B%27", "invalid_client"),
    ] {
        let request = odd
            .http
            .post(odd.url("/oauth/token"))
            .form(&refresh)
            .header(
                "authorization",
                format!("Basic {}", STANDARD.encode(credentials)),
            );
        // Once authenticated, it is the made-up refresh token that fails.
        let status = if error == "invalid_grant" { 400 } else { 401 };
        reply(request.send().await.unwrap())
            .await
            .assert_error(status, error);
    }
}

#[tokio::test]
async fn refresh_tokens_rotate() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let account = SANDBOX_ACCOUNTS[0];
    let first = provider.connect(account.id).await;

    let second = provider.refresh(refresh_token(&first)).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.header("cache-control"), Some("no-store"));
    assert_ne!(access_token(&second.body), access_token(&first));
    assert_ne!(refresh_token(&second.body), refresh_token(&first));
    assert_eq!(
        second.body["scope"],
        "contacts.read contacts.write offline_access"
    );

    // The used refresh token is dead; the new one works exactly once.
    provider
        .refresh(refresh_token(&first))
        .await
        .assert_error(400, "invalid_grant");
    let third = provider.refresh(refresh_token(&second.body)).await;
    assert_eq!(third.status, 200, "{}", third.text);
    provider
        .refresh(refresh_token(&second.body))
        .await
        .assert_error(400, "invalid_grant");
    provider
        .refresh("sbx_rt_never_issued")
        .await
        .assert_error(400, "invalid_grant");

    // Every access token issued so far still works, for the same account.
    for tokens in [&first, &second.body, &third.body] {
        let me = provider.me(access_token(tokens)).await;
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(me.body["id"], account.id);
    }

    let stats = provider.sandbox.stats();
    assert_eq!(stats.token_requests["refresh_token"], 5);
    assert_eq!(stats.refreshes_succeeded, 2);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_succeed_once() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let tokens = provider.connect(SANDBOX_ACCOUNTS[0].id).await;
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (url, token) = (
            provider.url("/oauth/token"),
            refresh_token(&tokens).to_owned(),
        );
        attempts.spawn(async move {
            let request = reqwest::Client::new().post(url).form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ]);
            reply(request.send().await.unwrap()).await
        });
    }
    let replies = attempts.join_all().await;
    assert_eq!(replies.len(), 8);
    let succeeded = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(succeeded, 1);
    for failed in replies.iter().filter(|r| r.status != 200) {
        failed.assert_error(400, "invalid_grant");
    }
    assert_eq!(provider.sandbox.stats().refreshes_succeeded, 1);
}

#[tokio::test]
async fn access_tokens_expire() {
    let provider = Provider::start(SandboxConfig {
        access_token_ttl: Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    let tokens = provider.connect(SANDBOX_ACCOUNTS[0].id).await;
    assert_eq!(tokens["expires_in"], 1);
    assert_eq!(provider.me(access_token(&tokens)).await.status, 200);

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let expired = provider.me(access_token(&tokens)).await;
    expired.assert_error(401, "invalid_token");
    assert_eq!(
        expired.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );

    // The refresh token outlives the access token.
    let fresh = provider.refresh(refresh_token(&tokens)).await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    assert_eq!(provider.me(access_token(&fresh.body)).await.status, 200);
    assert_eq!(provider.sandbox.stats().api_unauthorized, 1);
}

#[tokio::test]
async fn contacts_belong_to_one_account() {
    use reqwest::Method;
    let provider = Provider::start(SandboxConfig::default()).await;
    let ada = SANDBOX_ACCOUNTS[0];
    let grace = SANDBOX_ACCOUNTS[GRACE];
    let ada_token = provider.connect(ada.id).await;
    let ada_token = access_token(&ada_token);

    let seeded = provider
        .api(Method::GET, "/api/contacts", ada_token, None)
        .await;
    assert_eq!(seeded.status, 200, "{}", seeded.text);
    assert_eq!(seeded.body.as_array().unwrap().len(), 2);

    let created = provider
        .api(
            Method::POST,
            "/api/contacts",
            ada_token,
            Some(json!({ "name": "Augustus De Morgan" })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["name"], "Augustus De Morgan");
    assert_eq!(created.body["email"], Value::Null);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/contacts/{id}");

    let listed = provider
        .api(Method::GET, "/api/contacts", ada_token, None)
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 3);
    assert_eq!(listed.body[2]["id"], id.as_str());

    // Grace sees only her own, and none of Ada's by id.
    let theirs = provider
        .with_api_key(Method::GET, "/api/contacts", grace.api_key)
        .await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    let their_ids: Vec<&str> = theirs
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(their_ids.len(), 2);
    for contact in seeded.body.as_array().unwrap() {
        assert!(!their_ids.contains(&contact["id"].as_str().unwrap()));
    }
    for method in [Method::GET, Method::DELETE] {
        provider
            .with_api_key(method, &path, grace.api_key)
            .await
            .assert_error(404, "not_found");
    }
    let patch_by_grace = reply(
        provider
            .http
            .patch(provider.url(&path))
            .header("x-api-key", grace.api_key)
            .json(&json!({ "name": "Taken" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    patch_by_grace.assert_error(404, "not_found");

    // Ada updates, reads and deletes it.
    let patched = provider
        .api(
            Method::PATCH,
            &path,
            ada_token,
            Some(json!({ "email": "augustus@logic.example" })),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["name"], "Augustus De Morgan");
    assert_eq!(patched.body["email"], "augustus@logic.example");
    let read = provider.api(Method::GET, &path, ada_token, None).await;
    assert_eq!(read.body, patched.body);
    provider
        .api(
            Method::PATCH,
            &path,
            ada_token,
            Some(json!({ "nmae": "x" })),
        )
        .await
        .assert_error(400, "invalid_request");
    provider
        .api(
            Method::POST,
            "/api/contacts",
            ada_token,
            Some(json!({ "email": "a@b.example" })),
        )
        .await
        .assert_error(400, "invalid_request");
    let deleted = provider.api(Method::DELETE, &path, ada_token, None).await;
    assert_eq!(deleted.status, 204);
    provider
        .api(Method::GET, &path, ada_token, None)
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn api_keys_and_bad_credentials() {
    use reqwest::Method;
    let provider = Provider::start(SandboxConfig::default()).await;
    for account in SANDBOX_ACCOUNTS {
        let me = provider
            .with_api_key(Method::GET, "/api/me", account.api_key)
            .await;
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(me.body["id"], account.id);
        assert_eq!(me.body["email"], account.email);
    }
    let wrong = provider
        .with_api_key(Method::GET, "/api/me", "sbx_key_wrong")
        .await;
    wrong.assert_error(401, "invalid_api_key");
    assert!(wrong.header("www-authenticate").is_some());
    provider
        .me("sbx_at_made_up")
        .await
        .assert_error(401, "invalid_token");
    let anonymous = reply(
        provider
            .http
            .get(provider.url("/api/me"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    anonymous.assert_error(401, "unauthorized");
    let stats = provider.sandbox.stats();
    assert_eq!(stats.api_unauthorized, 3);
    for account in SANDBOX_ACCOUNTS {
        assert_eq!(stats.api_requests[account.id], 1);
    }
}

#[tokio::test]
async fn failure_mode_deny_overrides_allow() {
    let provider = Provider::start(SandboxConfig::default()).await;
    provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::Deny).times(1));
    let (url, page) = provider.consent_page(&authorize_query(None)).await;
    let denied = provider
        .submit(&url, &page.text, SANDBOX_ACCOUNTS[0].id, "allow")
        .await;
    assert_eq!(denied.status, 303);
    let location = Url::parse(denied.header("location").unwrap()).unwrap();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&location, "code"), None);
    // `times: 1` is used up: the next consent goes through.
    provider.authorize(SANDBOX_ACCOUNTS[0].id, None).await;
    assert_eq!(provider.sandbox.stats().failures_injected, 1);
}

#[tokio::test]
async fn failure_mode_slow_waits_then_answers() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let key = SANDBOX_ACCOUNTS[0].api_key;
    let set = provider
        .control(
            "/control/failure",
            Some(json!({ "mode": "slow", "target": "api", "delayMs": 400, "times": 1 })),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        set.body,
        json!({ "mode": "slow", "target": "api", "delayMs": 400, "times": 1 })
    );
    let started = Instant::now();
    let me = provider
        .with_api_key(reqwest::Method::GET, "/api/me", key)
        .await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(me.status, 200, "{}", me.text);
    // Used up after one request.
    let stats = provider.control("/control/stats", None).await;
    assert_eq!(stats.body["failure"]["mode"], "none");
    assert_eq!(stats.body["failuresInjected"], 1);
}

#[tokio::test]
async fn failure_mode_error_500_for_the_next_n_token_requests() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let tokens = provider.connect(SANDBOX_ACCOUNTS[0].id).await;
    provider
        .control(
            "/control/failure",
            Some(json!({ "mode": "error_500", "target": "token", "times": 2 })),
        )
        .await;
    // The API is not a target.
    assert_eq!(provider.me(access_token(&tokens)).await.status, 200);
    for _ in 0..2 {
        provider
            .refresh(refresh_token(&tokens))
            .await
            .assert_error(500, "server_error");
    }
    // The failed attempts did not use the refresh token up.
    let refreshed = provider.refresh(refresh_token(&tokens)).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let stats = provider.sandbox.stats();
    assert_eq!(stats.failures_injected, 2);
    assert_eq!(stats.token_requests["refresh_token"], 3);
    assert_eq!(stats.refreshes_succeeded, 1);
}

#[tokio::test]
async fn failure_mode_invalid_grant_until_reset() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let tokens = provider.connect(SANDBOX_ACCOUNTS[0].id).await;
    provider
        .control("/control/failure", Some(json!({ "mode": "invalid_grant" })))
        .await;
    for _ in 0..3 {
        provider
            .refresh(refresh_token(&tokens))
            .await
            .assert_error(400, "invalid_grant");
    }
    let reset = provider.control("/control/reset", None).await;
    assert_eq!(reset.status, 204);
    let stats = provider.sandbox.stats();
    assert_eq!(stats.failure, FailureMode::NONE);
    assert_eq!(stats.failures_injected, 0);
    assert_eq!(stats.token_requests["refresh_token"], 0);
    // Reset kept the tokens.
    assert_eq!(provider.refresh(refresh_token(&tokens)).await.status, 200);
}

#[tokio::test]
async fn failure_mode_rate_limit() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let tokens = provider.connect(SANDBOX_ACCOUNTS[0].id).await;
    provider.sandbox.set_failure(
        FailureMode::new(FailureKind::RateLimit)
            .target(FailureTarget::Api)
            .times(1),
    );
    let limited = provider.me(access_token(&tokens)).await;
    limited.assert_error(429, "rate_limited");
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert_eq!(provider.me(access_token(&tokens)).await.status, 200);

    // Target `all` also covers the authorize page.
    provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::RateLimit).times(1));
    let (_, page) = provider.consent_page(&authorize_query(None)).await;
    assert_eq!(page.status, 429);
    assert_eq!(page.header("retry-after"), Some("1"));
    let (_, page) = provider.consent_page(&authorize_query(None)).await;
    assert_eq!(page.status, 200);
}

/// A provider in maintenance: `503 temporarily_unavailable` with a
/// `Retry-After`, and the refresh token it refused is still good.
#[tokio::test]
async fn failure_mode_error_503() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let tokens = provider.connect(SANDBOX_ACCOUNTS[0].id).await;
    provider
        .control(
            "/control/failure",
            Some(json!({ "mode": "error_503", "target": "token", "times": 1 })),
        )
        .await;
    let unavailable = provider.refresh(refresh_token(&tokens)).await;
    unavailable.assert_error(503, "temporarily_unavailable");
    assert_eq!(unavailable.header("retry-after"), Some("1"));
    let refreshed = provider.refresh(refresh_token(&tokens)).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);

    // Target `all` also covers the authorize page.
    provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::Error503).times(1));
    let (_, page) = provider.consent_page(&authorize_query(None)).await;
    assert_eq!(page.status, 503);
    assert_eq!(page.header("retry-after"), Some("1"));
    let (_, page) = provider.consent_page(&authorize_query(None)).await;
    assert_eq!(page.status, 200);
}

#[tokio::test]
async fn control_refuses_failure_modes_that_cannot_act() {
    let provider = Provider::start(SandboxConfig::default()).await;
    for body in [
        json!({ "mode": "deny", "target": "api" }),
        json!({ "mode": "invalid_grant", "target": "api" }),
        json!({ "mode": "error_500", "times": 0 }),
        json!({ "mode": "error_500", "delayMs": 10 }),
        json!({ "mode": "slow", "delayMs": 600_000 }),
        json!({ "mode": "explode" }),
        json!({ "mode": "slow", "target": "everything" }),
    ] {
        provider
            .control("/control/failure", Some(body))
            .await
            .assert_error(400, "invalid_request");
    }
    assert_eq!(provider.sandbox.stats().failure, FailureMode::NONE);
}

#[tokio::test]
async fn stats_never_show_secrets() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let tokens = provider.connect(SANDBOX_ACCOUNTS[0].id).await;
    provider.refresh(refresh_token(&tokens)).await;
    provider
        .with_api_key(reqwest::Method::GET, "/api/me", SANDBOX_ACCOUNTS[1].api_key)
        .await;
    let stats = provider.control("/control/stats", None).await;
    assert_eq!(stats.status, 200);
    assert_eq!(stats.body["refreshesSucceeded"], 1);
    for secret in [
        "sbx_at_",
        "sbx_rt_",
        "sbx_code_",
        "sbx_key_",
        DEFAULT_CLIENT_SECRET,
    ] {
        assert!(!stats.text.contains(secret), "{}", stats.text);
    }
    let debug = format!("{:?} {:?}", provider.sandbox, SANDBOX_ACCOUNTS);
    for secret in ["sbx_key_", DEFAULT_CLIENT_SECRET] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[tokio::test]
async fn the_consent_page_is_self_contained_and_accessible() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let (_, page) = provider.consent_page(&authorize_query(None)).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = &page.text;

    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("<h1>"));
    assert!(html.contains(DEFAULT_CLIENT_ID));
    assert!(html.contains("contacts.read") && html.contains("contacts.write"));
    assert!(html.contains(":focus-visible"));
    let radios = inputs(html, "radio");
    assert!(radios.len() >= 3);
    for account in SANDBOX_ACCOUNTS {
        let id = format!("account-{}", account.id);
        assert!(
            radios
                .iter()
                .any(|tag| attribute(tag, "id").as_deref() == Some(id.as_str())),
            "{html}"
        );
        assert!(html.contains(&format!(r#"<label class="account" for="{id}">"#)));
        assert!(html.contains(account.name) && html.contains(account.email));
    }
    assert!(html.contains(
        r#"<button type="submit" class="primary" name="decision" value="allow">Allow</button>"#
    ));
    assert!(html.contains(r#"name="decision" value="deny""#));

    // Nothing is loaded from anywhere; the only URL is the redirect URI
    // carried back in a hidden field.
    let lower = html.to_lowercase();
    for external in [
        "<script", "<link", "<img", "src=", "url(", "@import", "href=",
    ] {
        assert!(!lower.contains(external), "{external}");
    }
    let escaped_redirect = REDIRECT_URI.replace('&', "&amp;");
    let without_redirect = lower.replace(&escaped_redirect, "");
    assert!(!without_redirect.contains("http:"), "{html}");
    assert!(!without_redirect.contains("https:"), "{html}");
    assert!(!without_redirect.contains("//"), "{html}");

    // The state came with markup in it; it is escaped, never markup.
    assert!(!html.contains("st<ate>"));
    assert!(html.contains("st&lt;ate&gt;&amp;&quot;1&quot;"));
}

#[tokio::test]
async fn bad_authorization_requests_get_an_error_page_never_a_redirect() {
    let provider = Provider::start(SandboxConfig::default()).await;
    let with = |name: &'static str, value: Option<&str>| {
        let mut query: Vec<(&str, String)> = authorize_query(None)
            .into_iter()
            .filter(|(key, _)| *key != name)
            .collect();
        if let Some(value) = value {
            query.push((name, value.to_owned()));
        }
        query
    };
    let (_, challenge) = pkce();
    let mut plain = with("code_challenge", Some(&challenge));
    plain.push(("code_challenge_method", "plain".to_owned()));
    let cases = [
        with("redirect_uri", Some("javascript:alert(document.cookie)")),
        with(
            "redirect_uri",
            Some("data:text/html,<script>alert(1)</script>"),
        ),
        with("redirect_uri", Some("/relative/callback")),
        with("redirect_uri", Some("http://127.0.0.1:9/callback#fragment")),
        with("redirect_uri", None),
        with("client_id", Some("someone-else")),
        with("client_id", None),
        with("state", None),
        with("response_type", Some("token")),
        with("response_type", None),
        plain,
        with("code_challenge", Some(&challenge)),
        with("code_challenge_method", Some("S256")),
        with("code_challenge", Some("too-short")),
    ];
    for query in cases {
        let (_, page) = provider.consent_page(&query).await;
        assert_eq!(page.status, 400, "{query:?}");
        assert_eq!(page.header("location"), None, "{query:?}");
        assert!(page.text.contains("<h1>Invalid authorization request</h1>"));
        assert!(!page.text.contains("<script>"), "{query:?}");
        assert!(!page.text.contains("<form"), "{query:?}");

        // The decision endpoint re-validates what the form sends back.
        let mut form: Vec<(&str, String)> = query.clone();
        form.push(("account", SANDBOX_ACCOUNTS[0].id.to_owned()));
        form.push(("decision", "allow".to_owned()));
        let answer = reply(
            provider
                .http
                .post(provider.url("/oauth/authorize"))
                .form(&form)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, 400, "{query:?}");
        assert_eq!(answer.header("location"), None, "{query:?}");
    }

    // A valid request with an unknown account or decision is not redirected
    // either.
    for (account, decision) in [("acct_nobody", "allow"), (SANDBOX_ACCOUNTS[0].id, "maybe")] {
        let mut form = authorize_query(None);
        form.push(("account", account.to_owned()));
        form.push(("decision", decision.to_owned()));
        let answer = reply(
            provider
                .http
                .post(provider.url("/oauth/authorize"))
                .form(&form)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, 400, "{account} {decision}");
        assert_eq!(answer.header("location"), None);
    }
}

#[tokio::test]
async fn unsupported_grant_types_and_missing_parameters() {
    let provider = Provider::start(SandboxConfig::default()).await;
    provider
        .token(&[("grant_type", "password")])
        .await
        .assert_error(400, "unsupported_grant_type");
    provider
        .token(&[("grant_type", "refresh_token")])
        .await
        .assert_error(400, "invalid_request");
    provider
        .token(&[("grant_type", "authorization_code"), ("code", "x")])
        .await
        .assert_error(400, "invalid_request");
    provider
        .token(&[])
        .await
        .assert_error(400, "invalid_request");
    provider
        .token(&[
            ("grant_type", "refresh_token"),
            ("grant_type", "authorization_code"),
        ])
        .await
        .assert_error(400, "invalid_request");
    let stats = provider.sandbox.stats();
    assert_eq!(stats.token_requests["other"], 3);
    assert_eq!(stats.token_requests.len(), 4);
}

/// RFC 6749 §4.4: a registered client gets a token for the sandbox's service
/// account (no refresh token, even when asked for offline access); a wrong
/// or revoked secret is `invalid_client`.
#[tokio::test]
async fn client_credentials_grant_tokens_to_registered_clients_until_revoked() {
    let provider = Provider::start(SandboxConfig {
        access_token_ttl: Duration::from_secs(5),
        ..SandboxConfig::default()
    })
    .await;
    let granted = provider
        .token(&[
            ("grant_type", "client_credentials"),
            ("scope", "contacts offline_access"),
        ])
        .await;
    assert_eq!(granted.status.as_u16(), 200, "{}", granted.text);
    assert_eq!(granted.body["expires_in"], 5);
    assert_eq!(granted.body["scope"], "contacts");
    assert!(
        granted.body.get("refresh_token").is_none(),
        "{}",
        granted.text
    );
    let token = granted.body["access_token"].as_str().unwrap();
    let me = provider
        .http
        .get(provider.url("/api/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    assert_eq!(me.json::<Value>().await.unwrap()["id"], "acct_ada");

    provider
        .token_raw(
            &[("grant_type", "client_credentials")],
            Some((DEFAULT_CLIENT_ID, "not-the-secret")),
        )
        .await
        .assert_error(401, "invalid_client");
    provider.sandbox.revoke_client(DEFAULT_CLIENT_ID);
    provider
        .token(&[("grant_type", "client_credentials")])
        .await
        .assert_error(401, "invalid_client");
    assert_eq!(
        provider.sandbox.stats().token_requests["client_credentials"],
        3
    );
}
