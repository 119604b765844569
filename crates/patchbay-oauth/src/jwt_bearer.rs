//! The JWT bearer grant (RFC 7523 §2.1) with a service account's key file: the key signs an
//! assertion naming the account (`iss`), the token endpoint (`aud`) and, optionally, the user
//! it acts for (`sub`), and the token endpoint exchanges it for an access token. There is no
//! refresh token: when the token expires a new assertion is signed and exchanged.

use std::fmt;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use patchbay_config::{JwtBearerAuth, TokenEndpoint};
use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

use crate::authorize::absolute_url;
use crate::client::Client;
use crate::error::{KeyFileError, OAuthError};
use crate::template::TemplateContext;
use crate::token::TokenSet;

/// RFC 7523 §2.1's `grant_type`.
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How long an assertion is valid: the hour Google allows at most, and plenty for one request.
const ASSERTION_LIFETIME_SECONDS: i64 = 3600;

/// A service account's key file, read and checked: its private key signs. `Debug` shows the
/// account, never the key.
pub struct ServiceAccountKey {
    client_email: String,
    private_key_id: Option<String>,
    token_uri: Option<String>,
    /// The key file's public members, for templates (`credentials.client_email`).
    public: Map<String, Value>,
    key: EncodingKey,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &"[REDACTED]")
            .finish()
    }
}

/// The claims of an assertion (RFC 7523 §3); `scope` as Google reads it.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
}

impl ServiceAccountKey {
    /// Reads a key file as the end user gave it: the file's text, or its JSON object. The
    /// private key is tried once, so a key that cannot sign is refused here rather than at
    /// the first token request.
    pub fn parse(given: &Value) -> Result<Self, KeyFileError> {
        let parsed;
        let object = match given {
            Value::Object(object) => object,
            Value::String(text) => {
                parsed = serde_json::from_str::<Value>(text)
                    .map_err(|error| KeyFileError::NotJson(syntax_error(&error)))?;
                parsed.as_object().ok_or(KeyFileError::NotAnObject)?
            }
            _ => return Err(KeyFileError::NotAnObject),
        };
        let text = |name: &'static str| match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if !text.trim().is_empty() => Ok(Some(text.clone())),
            Some(_) => Err(KeyFileError::NotText(name)),
        };
        let required = |name: &'static str| text(name)?.ok_or(KeyFileError::Missing(name));
        let client_email = required("client_email")?;
        let private_key = zeroize::Zeroizing::new(required("private_key")?);
        let key = EncodingKey::from_rsa_pem(private_key.as_bytes())
            .map_err(|_| KeyFileError::BadPrivateKey)?;
        let public = JwtBearerAuth::TEMPLATE_CREDENTIALS
            .iter()
            .filter_map(|name| Some(((*name).to_owned(), object.get(*name)?.clone())))
            .filter(|(_, value)| value.is_string())
            .collect();
        let key = Self {
            client_email,
            private_key_id: text("private_key_id")?,
            token_uri: text("token_uri")?,
            public,
            key,
        };
        // PEM that decodes is not yet a key ring can sign with (a truncated or non-RSA key).
        key.sign(&Claims {
            iss: &key.client_email,
            aud: "urn:patchbay:key-check",
            iat: 0,
            exp: 0,
            sub: None,
            scope: None,
        })?;
        Ok(key)
    }

    /// The service account (`client_email`).
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// What templates read as `credentials.*`: the key file's public members and the user the
    /// account acts for.
    pub fn template_values(&self, subject: Option<&str>) -> Map<String, Value> {
        let mut values = self.public.clone();
        if let Some(subject) = subject {
            values.insert(JwtBearerAuth::SUBJECT.to_owned(), subject.into());
        }
        values
    }

    /// The key file's `token_uri`, when it has one, must be the integration's token URL: an
    /// assertion is only good at the endpoint it was made for.
    fn check_token_endpoint(&self, token_url: &Url) -> Result<(), KeyFileError> {
        match &self.token_uri {
            Some(given) if Url::parse(given).ok().as_ref() != Some(token_url) => {
                Err(KeyFileError::OtherTokenEndpoint {
                    given: given.clone(),
                    expected: token_url.to_string(),
                })
            }
            _ => Ok(()),
        }
    }

    fn sign(&self, claims: &Claims<'_>) -> Result<String, KeyFileError> {
        let header = Header {
            kid: self.private_key_id.clone(),
            ..Header::new(Algorithm::RS256)
        };
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|_| KeyFileError::BadPrivateKey)
    }
}

/// serde_json's message says where the syntax broke, never what the text was.
fn syntax_error(error: &serde_json::Error) -> String {
    format!("line {}, column {}", error.line(), error.column())
}

impl Client {
    /// The JWT bearer grant: signs an assertion for `key` (acting for `subject`, if given)
    /// with the configured scopes and exchanges it at the token URL.
    pub async fn jwt_bearer(
        &self,
        auth: &JwtBearerAuth,
        key: &ServiceAccountKey,
        subject: Option<&str>,
        ctx: &TemplateContext,
    ) -> Result<TokenSet, OAuthError> {
        let token_url = absolute_url(&ctx.render(&auth.token_url)?, "auth.tokenUrl")?;
        key.check_token_endpoint(&token_url)?;
        let scope = auth.scopes.join(&auth.scope_separator);
        let scope = (!scope.is_empty()).then_some(scope.as_str());
        let issued_at = chrono::Utc::now().timestamp();
        let assertion = key.sign(&Claims {
            iss: &key.client_email,
            aud: token_url.as_str(),
            iat: issued_at,
            exp: issued_at + ASSERTION_LIFETIME_SECONDS,
            sub: subject,
            scope,
        })?;
        // The scope goes in the assertion (where Google reads it) and beside it (RFC 7523 §2.1).
        let mut grant = vec![
            ("grant_type", GRANT_TYPE),
            ("assertion", assertion.as_str()),
        ];
        grant.extend(scope.map(|scope| ("scope", scope)));
        let endpoint = TokenEndpoint {
            token_url: token_url.as_str(),
            ..auth.token_endpoint()
        };
        self.token_request(endpoint, None, &grant, &[assertion.as_str()], ctx)
            .await
    }
}
