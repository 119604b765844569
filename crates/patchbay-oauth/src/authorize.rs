//! The URL the user's browser is sent to for consent (RFC 6749 §4.1.1).

use patchbay_config::OAuth2Auth;
use url::Url;

use crate::error::OAuthError;
use crate::pkce::Pkce;
use crate::template::TemplateContext;

/// Parameters only Patchbay sets: a definition's `authorizationParams` (or a query already in
/// `authorizationUrl`) cannot replace them, so a definition can never redirect the code
/// elsewhere or disable the state and PKCE checks.
const PROTOCOL: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// Builds the authorization URL: `authorizationUrl` rendered with `ctx` (a shop or subdomain
/// from `connection.*`), keeping any query it already has, then `response_type=code`,
/// `client_id`, `redirect_uri`, `scope` (joined with `scopeSeparator`, left out when `scopes`
/// is empty), `state`, the PKCE challenge when `pkce` is given, and `authorizationParams`.
///
/// `scopes` are the integration's (the project may replace the provider's defaults), so they
/// are passed in rather than read from `auth`. Pass `pkce` exactly when `auth.pkce` is set.
pub fn authorization_url(
    auth: &OAuth2Auth,
    scopes: &[String],
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    pkce: Option<&Pkce>,
    ctx: &TemplateContext,
) -> Result<Url, OAuthError> {
    let values = ctx.to_value();
    let mut url = absolute_url(
        &crate::render(&auth.authorization_url, &values)?,
        "auth.authorizationUrl",
    )?;
    let mut ours: Vec<(&str, String)> = vec![
        ("response_type", "code".to_owned()),
        ("client_id", client_id.to_owned()),
        ("redirect_uri", redirect_uri.to_owned()),
    ];
    if !scopes.is_empty() {
        ours.push(("scope", scopes.join(&auth.scope_separator)));
    }
    ours.push(("state", state.to_owned()));
    if let Some(pkce) = pkce {
        ours.push(("code_challenge", pkce.challenge.clone()));
        ours.push(("code_challenge_method", Pkce::METHOD.to_owned()));
    }
    let mut extra = Vec::with_capacity(auth.authorization_params.len());
    for (name, template) in &auth.authorization_params {
        let name = name.as_str();
        if !PROTOCOL.contains(&name) && !ours.iter().any(|(ours, _)| *ours == name) {
            extra.push((name, crate::render(template, &values)?));
        }
    }
    // A name set twice would leave the provider to pick one; later sources replace earlier
    // ones instead: the URL's own query, then `authorizationParams`, then ours.
    let replaced = |name: &str| {
        ours.iter().any(|(ours, _)| *ours == name) || extra.iter().any(|(extra, _)| *extra == name)
    };
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| !replaced(name))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        query.extend_pairs(kept);
        query.extend_pairs(ours.iter().map(|(name, value)| (*name, value.as_str())));
        query.extend_pairs(extra.iter().map(|(name, value)| (*name, value.as_str())));
    }
    Ok(url)
}

/// Parses a rendered URL that must be absolute http(s). The message names the definition's
/// field but not the rendered value, which may carry account data.
pub(crate) fn absolute_url(rendered: &str, field: &str) -> Result<Url, OAuthError> {
    let invalid = |why: String| {
        OAuthError::Template(format!(
            "`{field}` did not render an absolute http(s) URL ({why})"
        ))
    };
    let url = Url::parse(rendered.trim()).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!("the scheme is `{}`", url.scheme())));
    }
    if url.host().is_none() {
        return Err(invalid("no host".to_owned()));
    }
    Ok(url)
}
