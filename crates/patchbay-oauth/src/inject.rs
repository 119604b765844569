//! Where an account's API requests go and how they are authenticated: the rendered
//! `api.baseUrl`, and the headers and query parameters that carry the credentials. The
//! `account` and `verify` requests use this, and so will the proxy.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use patchbay_config::{ProviderAuth, ProviderDefinition};
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use crate::authorize::absolute_url;
use crate::error::OAuthError;
use crate::template::TemplateContext;

/// The credentials a request is made with. API keys and basic credentials are read from
/// [`TemplateContext::credentials`] through the definition's templates.
#[derive(Clone, Copy)]
pub enum AccountAuth<'a> {
    /// An OAuth access token, sent as `api.authHeaderFormat` says (`Bearer` by default) and
    /// available to `api.headers` as `accessToken`.
    Bearer(&'a str),
    /// `auth.inject` of an `api_key` provider.
    ApiKey,
    /// `auth.username` and `auth.password` of a `basic` provider.
    Basic,
}

impl AccountAuth<'_> {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Bearer(_) => "oauth2",
            Self::ApiKey => "api_key",
            Self::Basic => "basic",
        }
    }
}

impl fmt::Debug for AccountAuth<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer([REDACTED])"),
            Self::ApiKey => f.write_str("ApiKey"),
            Self::Basic => f.write_str("Basic"),
        }
    }
}

/// The `Authorization` value of an oauth2 provider without `api.authHeaderFormat`.
const DEFAULT_AUTH_HEADER: &str = "Bearer {{ accessToken }}";

/// What to add to a request so it acts as one account: `api.headers` and the credentials.
/// Header values are marked sensitive; `Debug` shows only names.
#[derive(Clone, Default)]
pub struct Injection {
    /// Each name once: later sources replace earlier ones (`api.headers`, then the
    /// credentials), so a definition cannot send two `Authorization` headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Query parameters to append (an API key sent as `?api_key=`).
    pub query: Vec<(String, String)>,
}

impl fmt::Debug for Injection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Injection")
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .field(
                "query",
                &self.query.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Injection {
    fn set_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.retain(|(existing, _)| *existing != name);
        self.headers.push((name, value));
    }
}

/// `api.baseUrl` rendered for one account (`{{ token.instance_url }}`,
/// `https://{{ connection.subdomain }}.zendesk.com/api/v2`); it must come out absolute.
pub fn api_base_url(
    provider: &ProviderDefinition,
    ctx: &TemplateContext,
) -> Result<Url, OAuthError> {
    absolute_url(&ctx.render(&provider.api.base_url)?, "api.baseUrl")
}

/// The headers and query parameters that authenticate a request as the account `auth`
/// describes: the provider's `api.headers` (which may read `accessToken`, as Shopify's
/// `X-Shopify-Access-Token` does), then `Authorization` from `api.authHeaderFormat` for an
/// access token (left out when it renders empty), `auth.inject` for an API key, or HTTP Basic
/// from `auth.username` and `auth.password`.
pub fn auth_injection(
    provider: &ProviderDefinition,
    auth: &AccountAuth<'_>,
    ctx: &TemplateContext,
) -> Result<Injection, OAuthError> {
    let mut values = ctx.to_value();
    if let (AccountAuth::Bearer(token), Value::Object(root)) = (auth, &mut values) {
        root.insert("accessToken".into(), Value::String((*token).to_owned()));
    }
    let render = |template: &str| crate::render(template, &values);
    let mut injection = Injection::default();
    for (name, template) in &provider.api.headers {
        let (name, value) = header(name, &render(template)?, &format!("api.headers.{name}"))?;
        injection.set_header(name, value);
    }
    match (&provider.auth, auth) {
        (
            ProviderAuth::OAuth2(_)
            | ProviderAuth::OAuth2ClientCredentials(_)
            | ProviderAuth::JwtBearer(_),
            AccountAuth::Bearer(_),
        ) => {
            let format = provider
                .api
                .auth_header_format
                .as_deref()
                .unwrap_or(DEFAULT_AUTH_HEADER);
            let value = render(format)?;
            if !value.is_empty() {
                let (name, value) = header(AUTHORIZATION.as_str(), &value, "api.authHeaderFormat")?;
                injection.set_header(name, value);
            }
        }
        (ProviderAuth::ApiKey(api_key), AccountAuth::ApiKey) => {
            let value = render(&api_key.inject.value)?;
            match (&api_key.inject.header, &api_key.inject.query) {
                (Some(name), _) => {
                    let (name, value) = header(name, &value, "auth.inject.header")?;
                    injection.set_header(name, value);
                }
                (None, Some(name)) => injection.query.push((name.clone(), value)),
                (None, None) => {
                    return Err(OAuthError::Template(
                        "`auth.inject` names neither a header nor a query parameter".into(),
                    ));
                }
            }
        }
        (ProviderAuth::Basic(basic), AccountAuth::Basic) => {
            // RFC 7617: `user:password` in UTF-8, base64; unlike the OAuth client's Basic
            // authentication (RFC 6749 §2.3.1), nothing is form-encoded first.
            let credentials = format!("{}:{}", render(&basic.username)?, render(&basic.password)?);
            let value = format!("Basic {}", STANDARD.encode(credentials));
            let (name, value) = header(AUTHORIZATION.as_str(), &value, "auth.username")?;
            injection.set_header(name, value);
        }
        (provider_auth, given) => {
            return Err(OAuthError::AuthMismatch {
                expected: provider_auth.auth_type().as_str(),
                given: given.kind(),
            });
        }
    }
    Ok(injection)
}

/// A header of the definition (`at` is where it is defined), its value rendered. Values are marked sensitive: they may hold
/// a token, and reqwest then keeps them out of its `Debug` output.
pub(crate) fn header(
    name: &str,
    value: &str,
    at: &str,
) -> Result<(HeaderName, HeaderValue), OAuthError> {
    let header_name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| OAuthError::Template(format!("`{at}` is not a valid header name")))?;
    // The message never quotes the value: it may be a key with a stray newline.
    let mut header_value = HeaderValue::from_str(value)
        .map_err(|_| OAuthError::Template(format!("`{at}` did not render a valid header value")))?;
    header_value.set_sensitive(true);
    Ok((header_name, header_value))
}
