//! The token endpoint (RFC 6749 §4.1.3 and §6): exchanging the authorization code, refreshing,
//! and reading the answer whatever shape the provider gives it.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use patchbay_config::{
    ClientAuth, ClientCredentialsAuth, OAuth2Auth, TokenEndpoint, TokenRequestFormat,
};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Map, Value};
use url::form_urlencoded;

use crate::authorize::absolute_url;
use crate::client::{Answer, Client, send};
use crate::error::OAuthError;
use crate::inject::header;
use crate::template::TemplateContext;

/// The project's OAuth client at the provider.
#[derive(Clone)]
pub struct ClientCredentials {
    pub id: String,
    pub secret: SecretString,
}

impl ClientCredentials {
    pub fn new(id: impl Into<String>, secret: impl Into<SecretString>) -> Self {
        Self {
            id: id.into(),
            secret: secret.into(),
        }
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("id", &self.id)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

/// What a token endpoint answered. `Debug` shows no token.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: SecretString,
    /// `None` when the provider issued none; after a refresh that means the previous refresh
    /// token stays valid (RFC 6749 §6: the provider *may* issue a new one).
    pub refresh_token: Option<SecretString>,
    /// Seconds from now, as the provider said (some send a string).
    pub expires_in: Option<i64>,
    pub token_type: Option<String>,
    pub scope: Option<String>,
    /// The whole response without any `access_token`, `refresh_token` or `id_token`, at any
    /// depth: Salesforce's `instance_url`, Slack's `team`, Notion's `workspace_id`. This is
    /// what templates read as `token.*`, and it is safe to store unencrypted.
    pub public_fields: Map<String, Value>,
}

/// Keys whose values are secrets wherever they appear in a token response (Slack nests a user
/// token under `authed_user`).
const SECRET_KEYS: &[&str] = &["access_token", "refresh_token", "id_token"];

/// The longest error code kept.
const MAX_CODE_CHARS: usize = 100;

/// The longest `error_description` kept: enough to read, short enough for a log line.
const MAX_DESCRIPTION_CHARS: usize = 300;

impl Client {
    /// Exchanges an authorization code. `redirect_uri` must be the one on the authorization
    /// URL; `pkce_verifier` is the verifier whose challenge was sent there.
    pub async fn exchange_code(
        &self,
        auth: &OAuth2Auth,
        client: &ClientCredentials,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: Option<&str>,
        ctx: &TemplateContext,
    ) -> Result<TokenSet, OAuthError> {
        let mut grant = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        let mut secrets = vec![code];
        if let Some(verifier) = pkce_verifier {
            grant.push(("code_verifier", verifier));
            secrets.push(verifier);
        }
        self.token_request(auth.token_endpoint(), Some(client), &grant, &secrets, ctx)
            .await
    }

    /// Uses a refresh token. A [`TokenSet::refresh_token`] in the answer replaces the one
    /// given (rotation); persist it before using the new access token.
    pub async fn refresh(
        &self,
        auth: &OAuth2Auth,
        client: &ClientCredentials,
        refresh_token: &str,
        ctx: &TemplateContext,
    ) -> Result<TokenSet, OAuthError> {
        let grant = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        self.token_request(
            auth.token_endpoint(),
            Some(client),
            &grant,
            &[refresh_token],
            ctx,
        )
        .await
    }

    /// The client-credentials grant (RFC 6749 §4.4): a token for the client itself, with the
    /// configured scopes. There is no refresh token; when the token expires, the grant is made
    /// again.
    pub async fn client_credentials(
        &self,
        auth: &ClientCredentialsAuth,
        client: &ClientCredentials,
        ctx: &TemplateContext,
    ) -> Result<TokenSet, OAuthError> {
        let scope = auth.scopes.join(&auth.scope_separator);
        let mut grant = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            grant.push(("scope", scope.as_str()));
        }
        self.token_request(auth.token_endpoint(), Some(client), &grant, &[], ctx)
            .await
    }

    /// One token request: `grant` are the grant's own parameters; `secrets` are values the
    /// provider's error description must not echo back to us. `client` authenticates as
    /// `clientAuth` says; without one (a JWT-bearer assertion names its own issuer) the
    /// request carries no client authentication.
    pub(crate) async fn token_request(
        &self,
        auth: TokenEndpoint<'_>,
        client: Option<&ClientCredentials>,
        grant: &[(&str, &str)],
        secrets: &[&str],
        ctx: &TemplateContext,
    ) -> Result<TokenSet, OAuthError> {
        let values = ctx.to_value();
        let url = absolute_url(&crate::render(auth.token_url, &values)?, "auth.tokenUrl")?;

        // `tokenParams` first, so the grant's own parameters and the client's replace them.
        let mut params: Vec<(String, String)> = Vec::new();
        let ours = |name: &str| {
            grant.iter().any(|(ours, _)| *ours == name)
                || matches!(name, "client_id" | "client_secret")
        };
        for (name, template) in auth.token_params {
            if !ours(name) {
                params.push((name.clone(), crate::render(template, &values)?));
            }
        }
        params.extend(
            grant
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );

        let mut headers = HeaderMap::new();
        // Without it GitHub answers form-encoded; every other provider answers JSON anyway.
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        for (name, template) in auth.token_headers {
            let (name, value) = header(
                name,
                &crate::render(template, &values)?,
                &format!("auth.tokenHeaders.{name}"),
            )?;
            headers.insert(name, value);
        }
        let secret = client.map_or("", |client| client.secret.expose_secret());
        match (client, auth.client_auth) {
            (None, _) => {}
            (Some(client), ClientAuth::ClientSecretPost) => {
                params.push(("client_id".to_owned(), client.id.clone()));
                // A public client (PKCE only) has no secret to send.
                if !secret.is_empty() {
                    params.push(("client_secret".to_owned(), secret.to_owned()));
                }
            }
            (Some(client), ClientAuth::ClientSecretBasic) => {
                // RFC 6749 §2.3.1: both halves are form-urlencoded before Basic encoding, which
                // matters for secrets containing `:` or non-ASCII characters.
                let credentials = format!(
                    "{}:{}",
                    form_urlencoded::byte_serialize(client.id.as_bytes()).collect::<String>(),
                    form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>(),
                );
                let mut value =
                    HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(credentials)))
                        .map_err(|_| {
                            OAuthError::Template("the client credentials are not usable".into())
                        })?;
                value.set_sensitive(true);
                headers.insert(AUTHORIZATION, value);
            }
        }

        let (content_type, body) = match auth.token_request_format {
            TokenRequestFormat::Form => (
                "application/x-www-form-urlencoded",
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&params)
                    .finish()
                    .into_bytes(),
            ),
            TokenRequestFormat::Json => {
                let object: Map<String, Value> = params
                    .into_iter()
                    .map(|(name, value)| (name, Value::String(value)))
                    .collect();
                (
                    "application/json",
                    serde_json::to_vec(&object).map_err(|error| {
                        OAuthError::Template(format!("could not encode the token request: {error}"))
                    })?,
                )
            }
        };
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));

        let grant_type = grant.first().map_or("", |(_, value)| *value);
        tracing::debug!(host = url.host_str(), grant_type, "token request");
        let request = self
            .token_http
            .post(url.clone())
            .headers(headers)
            .body(body);
        let answer = send(request, &url).await?;
        let mut secrets = secrets.to_vec();
        secrets.push(secret);
        read_token_answer(&answer, auth, &secrets)
    }
}

fn read_token_answer(
    answer: &Answer,
    auth: TokenEndpoint<'_>,
    secrets: &[&str],
) -> Result<TokenSet, OAuthError> {
    let body = parse_object(answer);
    if let Some((error, description)) = body.as_ref().and_then(error_of) {
        return Err(OAuthError::Provider {
            status: answer.status,
            error,
            description: description.map(|text| scrub(&text, secrets)),
            retry_after: answer.retry_after(),
        });
    }
    if !answer.is_success() {
        return Err(OAuthError::UnexpectedStatus {
            status: answer.status,
            retry_after: answer.retry_after(),
        });
    }
    let Some(body) = body else {
        return Err(OAuthError::InvalidResponse(
            "the token response is neither a JSON object nor form-encoded".into(),
        ));
    };
    token_set(body, auth.token_path.unwrap_or("access_token"))
}

/// Reads the body as a JSON object, or as `a=b&c=d` (GitHub without `Accept`, and some older
/// servers whatever the `Accept`). Anything else is `None`.
pub(crate) fn parse_object(answer: &Answer) -> Option<Map<String, Value>> {
    let text = std::str::from_utf8(&answer.body).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return match value {
            Value::Object(map) => Some(map),
            _ => None,
        };
    }
    let form_like = answer
        .content_type()
        .starts_with("application/x-www-form-urlencoded")
        || answer.content_type().starts_with("text/plain");
    if form_like && text.contains('=') && !text.contains(char::is_whitespace) {
        let map = form_urlencoded::parse(text.as_bytes())
            .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
            .collect();
        return Some(map);
    }
    None
}

/// The error code and description of an error body: RFC 6749's `{"error": ...}`, Slack's
/// `{"ok": false, "error": ...}`, or an `error` object with a `code` or `type`.
fn error_of(body: &Map<String, Value>) -> Option<(String, Option<String>)> {
    let failed = body.get("ok") == Some(&Value::Bool(false));
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let code = match body.get("error") {
        Some(Value::String(code)) if !code.is_empty() => Some(code.clone()),
        Some(Value::Object(error)) => {
            let code = ["code", "type"]
                .iter()
                .find_map(|key| error.get(*key).and_then(Value::as_str))
                .unwrap_or("error");
            let description = description.clone().or_else(|| {
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
            return Some((code.chars().take(MAX_CODE_CHARS).collect(), description));
        }
        _ => None,
    };
    match code {
        // A code is a short token in every provider's vocabulary; a long one is not a code.
        Some(code) => Some((code.chars().take(MAX_CODE_CHARS).collect(), description)),
        None if failed => Some(("error".to_owned(), description)),
        None => None,
    }
}

/// Shortens a provider's description and removes anything we sent it (a code, a refresh
/// token, the client secret), in case the provider quotes the request.
fn scrub(description: &str, secrets: &[&str]) -> String {
    // Replaced before shortening, so a secret cut in half at the end cannot survive.
    let mut text = description.to_owned();
    for secret in secrets {
        if secret.len() >= 4 {
            text = text.replace(secret, "[REDACTED]");
        }
    }
    text.chars().take(MAX_DESCRIPTION_CHARS).collect()
}

fn token_set(body: Map<String, Value>, token_path: &str) -> Result<TokenSet, OAuthError> {
    let segments: Vec<&str> = token_path.split('.').collect();
    let (last, parents) = segments
        .split_last()
        .ok_or_else(|| OAuthError::Template("`auth.tokenPath` is empty".into()))?;
    // The object holding the access token also holds its refresh token, lifetime and scope
    // (Slack's `authed_user` for user tokens), so those are read next to it.
    let mut holder = &body;
    for segment in parents {
        holder = holder
            .get(*segment)
            .and_then(Value::as_object)
            .ok_or_else(|| missing(token_path))?;
    }
    let access_token = holder
        .get(*last)
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| missing(token_path))?;
    let text = |key: &str| {
        holder
            .get(key)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    let scope = match holder.get("scope") {
        // Some providers list scopes as an array.
        Some(Value::Array(scopes)) => Some(
            scopes
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => text("scope"),
    };
    let token_set = TokenSet {
        access_token: SecretString::from(access_token),
        refresh_token: text("refresh_token").map(SecretString::from),
        expires_in: holder.get("expires_in").and_then(seconds),
        token_type: text("token_type"),
        scope,
        public_fields: strip_secrets(body),
    };
    Ok(token_set)
}

fn missing(token_path: &str) -> OAuthError {
    OAuthError::InvalidResponse(format!("the token response has no `{token_path}`"))
}

/// `expires_in` as a number or a numeric string (both are seen in the wild).
fn seconds(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|seconds| seconds as i64)),
        Value::String(text) => {
            let text = text.trim();
            text.parse::<i64>()
                .ok()
                .or_else(|| text.parse::<f64>().ok().map(|seconds| seconds as i64))
        }
        _ => None,
    }
}

fn strip_secrets(mut map: Map<String, Value>) -> Map<String, Value> {
    for key in SECRET_KEYS {
        map.remove(*key);
    }
    map.into_iter()
        .map(|(key, value)| (key, strip_value(value)))
        .collect()
}

fn strip_value(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(strip_secrets(map)),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_value).collect()),
        other => other,
    }
}
