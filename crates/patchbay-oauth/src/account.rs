//! The `account` step (which external account was connected) and the `verify` request (are
//! these API-key or basic credentials accepted), both made with the account's credentials.

use patchbay_config::{AccountChoice, ProviderDefinition, ProviderRequest};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Map, Value};
use url::Url;

use crate::authorize::absolute_url;
use crate::client::{Answer, Client, send};
use crate::error::{ChoiceOption, Choices, OAuthError};
use crate::inject::{AccountAuth, api_base_url, auth_injection, header};
use crate::template::TemplateContext;

/// Which external account the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountIdentity {
    /// `account.id` rendered: the workspace, organisation, tenant or user at the provider.
    pub provider_id: String,
    /// `account.data` rendered; values that render empty are left out.
    pub provider_data: Map<String, Value>,
    /// `account.vars` rendered, for later templates (`vars.cloudId`); values that render empty
    /// are left out, which templates cannot tell from missing.
    pub vars: Map<String, Value>,
}

impl Client {
    /// Runs the definition's `account` step: its `request` (relative to `api.baseUrl`, or an
    /// absolute `url`) made with `auth`, then `id`, `data` and `vars` rendered over `ctx` plus
    /// `response.body`, `response.headers` and `response.status`. Without a `request` the
    /// templates read `ctx` alone (the token response as `token.*`).
    ///
    /// With `account.choose`, the templates also read the chosen item as `choice`: the one
    /// whose value is `choice`, or the only one listed. Several listed and none chosen is
    /// [`OAuthError::ChoiceRequired`], naming them; a value not listed is
    /// [`OAuthError::NotAChoice`].
    ///
    /// Fails with [`OAuthError::Rejected`] when the request gets `401`/`403`, and with
    /// [`OAuthError::AccountNotIdentified`] when `id` renders empty, nothing is listed to
    /// choose from, or the definition has no `account` step (callers of providers where it is
    /// optional check that first).
    pub async fn identify_account(
        &self,
        provider: &ProviderDefinition,
        auth: &AccountAuth<'_>,
        ctx: &TemplateContext,
        choice: Option<&str>,
    ) -> Result<AccountIdentity, OAuthError> {
        let account = provider.account.as_ref().ok_or_else(|| {
            OAuthError::AccountNotIdentified(format!(
                "the provider `{}` has no `account` step",
                provider.id
            ))
        })?;
        let mut values = ctx.to_value();
        if let Some(request) = &account.request {
            let answer = self
                .provider_request(provider, request, auth, ctx, "account.request")
                .await?;
            if matches!(answer.status, 401 | 403) {
                return Err(OAuthError::Rejected {
                    status: answer.status,
                });
            }
            if !answer.is_success() {
                return Err(OAuthError::UnexpectedStatus {
                    status: answer.status,
                    retry_after: answer.retry_after(),
                });
            }
            if let Value::Object(root) = &mut values {
                root.insert("response".into(), response_value(&answer));
            }
        }
        if let Some(choose) = &account.choose {
            let chosen = choose_item(choose, &values, choice)?;
            if let Value::Object(root) = &mut values {
                root.insert("choice".into(), chosen);
            }
        }
        let render = |template: &str| crate::render(template, &values);
        let provider_id = render(&account.id)?.trim().to_owned();
        if provider_id.is_empty() {
            return Err(OAuthError::AccountNotIdentified(format!(
                "`account.id` (`{}`) rendered empty",
                account.id
            )));
        }
        let render_map = |templates: &std::collections::BTreeMap<String, String>| {
            let mut out = Map::new();
            for (name, template) in templates {
                let value = render(template)?;
                if !value.is_empty() {
                    out.insert(name.clone(), Value::String(value));
                }
            }
            Ok::<_, OAuthError>(out)
        };
        Ok(AccountIdentity {
            provider_id,
            provider_data: render_map(&account.data)?,
            vars: render_map(&account.vars)?,
        })
    }

    /// Makes the definition's `verify` request with `auth`: `Ok(())` on a `2xx`,
    /// [`OAuthError::Rejected`] on any other `4xx` but `408` and `429` (the request is chosen
    /// to succeed exactly when the credentials are valid; Twilio answers `404` for an unknown
    /// account SID). A definition without `verify` has nothing to check: `Ok(())`.
    pub async fn verify_credentials(
        &self,
        provider: &ProviderDefinition,
        auth: &AccountAuth<'_>,
        ctx: &TemplateContext,
    ) -> Result<(), OAuthError> {
        let Some(verify) = &provider.verify else {
            return Ok(());
        };
        let answer = self
            .provider_request(provider, &verify.request, auth, ctx, "verify.request")
            .await?;
        match answer.status {
            200..=299 => Ok(()),
            408 | 429 => Err(OAuthError::UnexpectedStatus {
                status: answer.status,
                retry_after: answer.retry_after(),
            }),
            status @ 400..=499 => Err(OAuthError::Rejected { status }),
            status => Err(OAuthError::UnexpectedStatus {
                status,
                retry_after: answer.retry_after(),
            }),
        }
    }

    /// Sends one `account` or `verify` request (`at` is where the definition holds it).
    async fn provider_request(
        &self,
        provider: &ProviderDefinition,
        request: &ProviderRequest,
        auth: &AccountAuth<'_>,
        ctx: &TemplateContext,
        at: &str,
    ) -> Result<Answer, OAuthError> {
        let values = ctx.to_value();
        let render = |template: &str| crate::render(template, &values);
        let mut url = match (&request.path, &request.url) {
            (Some(path), None) => under_base(api_base_url(provider, ctx)?, &render(path)?),
            (None, Some(url)) => absolute_url(&render(url)?, &format!("{at}.url"))?,
            _ => {
                return Err(OAuthError::Template(format!(
                    "`{at}` needs exactly one of `path` and `url`"
                )));
            }
        };
        let injection = auth_injection(provider, auth, ctx)?;
        {
            let mut query = url.query_pairs_mut();
            for (name, template) in &request.query {
                query.append_pair(name, &render(template)?);
            }
            for (name, value) in &injection.query {
                query.append_pair(name, value);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }

        let mut headers = HeaderMap::new();
        // APIs that can answer XML or JSON (QuickBooks) pick JSON; a definition's own
        // `Accept` (GitHub's) replaces it below.
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        for (name, value) in injection.headers {
            headers.insert(name, value);
        }
        for (name, template) in &request.headers {
            let (name, value) = header(name, &render(template)?, &format!("{at}.headers.{name}"))?;
            headers.insert(name, value);
        }
        let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes())
            .map_err(|_| OAuthError::Template(format!("`{at}.method` is not a method")))?;
        let mut builder = self.api_http.request(method, url.clone());
        if let Some(body) = &request.body {
            let body = render_json(body, &values)?;
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            let bytes = serde_json::to_vec(&body).map_err(|error| {
                OAuthError::Template(format!("could not encode `{at}.body`: {error}"))
            })?;
            builder = builder.body(bytes);
        }
        send(builder.headers(headers), &url).await
    }
}

/// `path` (rendered, may carry a query) under the base URL's path: Jira's base
/// `https://api.atlassian.com/ex/jira/<cloudId>` and `/rest/api/3/myself` make one path, where
/// `Url::join` would drop the base's path. The host always stays the base's.
fn under_base(mut base: Url, path: &str) -> Url {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    base.set_path(&joined);
    if !query.is_empty() {
        base.query_pairs_mut()
            .extend_pairs(url::form_urlencoded::parse(query.as_bytes()));
    }
    base
}

/// Renders every string in a request body; keys are taken literally.
fn render_json(value: &Value, values: &Value) -> Result<Value, OAuthError> {
    Ok(match value {
        Value::String(template) => Value::String(crate::render(template, values)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| render_json(item, values))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, item)| Ok((key.clone(), render_json(item, values)?)))
                .collect::<Result<_, OAuthError>>()?,
        ),
        other => other.clone(),
    })
}

/// `response` for the account templates: the body as JSON (as text when it is not JSON, `null`
/// when empty), the headers by lower-case name (repeated ones joined with `, `), the status.
fn response_value(answer: &Answer) -> Value {
    let text = String::from_utf8_lossy(&answer.body);
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
    };
    let mut headers = Map::new();
    for name in answer.headers.keys() {
        let joined = answer
            .headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        headers.insert(name.as_str().to_owned(), Value::String(joined));
    }
    let mut response = Map::new();
    response.insert("status".into(), Value::from(answer.status));
    response.insert("body".into(), body);
    response.insert("headers".into(), Value::Object(headers));
    Value::Object(response)
}

/// The item of `choose.items` whose value is `choice`, or the only one.
fn choose_item(
    choose: &AccountChoice,
    values: &Value,
    choice: Option<&str>,
) -> Result<Value, OAuthError> {
    let items = match crate::evaluate(&choose.items, values)? {
        Value::Array(items) => items,
        _ => {
            return Err(OAuthError::InvalidResponse(format!(
                "`account.choose.items` (`{}`) is not a list",
                choose.items
            )));
        }
    };
    let mut options = Vec::with_capacity(items.len());
    for item in &items {
        let scope = serde_json::json!({ "item": item });
        options.push(ChoiceOption {
            value: crate::render(&choose.value, &scope)?.trim().to_owned(),
            label: crate::render(&choose.label, &scope)?.trim().to_owned(),
        });
    }
    let position = match choice {
        Some(value) => options.iter().position(|option| option.value == value),
        None if options.len() == 1 => Some(0),
        None if options.is_empty() => {
            return Err(OAuthError::AccountNotIdentified(format!(
                "the account has no {} to choose",
                choose.title
            )));
        }
        None => {
            return Err(OAuthError::ChoiceRequired(Choices {
                title: choose.title.clone(),
                options,
            }));
        }
    };
    let position = position.ok_or_else(|| OAuthError::NotAChoice {
        title: choose.title.clone(),
        value: choice.unwrap_or_default().to_owned(),
    })?;
    Ok(items.into_iter().nth(position).unwrap_or_default())
}
