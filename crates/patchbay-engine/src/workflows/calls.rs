//! The two steps that leave the process: `request` (the integration's API as
//! the run's account, through the Proxy API's machinery) and `http` (any
//! public URL, under the SSRF policy).

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use http_body_util::BodyExt as _;
use patchbay_config::{HttpMethod, ProviderRequest};
use patchbay_workflow::Templates;
use serde_json::{Map, Value, json};
use url::Url;

use patchbay_store::CredentialRecord;

use super::context::Workflows;
use crate::runtime::Integration;
use crate::upstream::{self, AccountRequest, ReplayableBody};

static TEMPLATES: std::sync::LazyLock<Templates> = std::sync::LazyLock::new(Templates::default);

/// The most of a response body a step keeps in its output.
const RESPONSE_LIMIT: usize = 10 * 1024 * 1024;

/// A rendered request, as the step's input shows it.
#[derive(Debug)]
pub struct Call {
    pub method: HttpMethod,
    /// A path below the API (request) or a full URL (http).
    pub target: String,
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub body: Option<Value>,
}

impl Call {
    /// The call a definition's own `request` makes (an action's, a webhook subscription's)
    /// over `context`: what renders to nothing (an optional value not given) is not sent.
    pub fn render(request: &ProviderRequest, context: &Value) -> Result<Self, String> {
        let text = |template: &str| {
            TEMPLATES
                .render_text(template, context)
                .map_err(|error| error.to_string())
        };
        let path = request.path.as_deref().ok_or("the request has no path")?;
        let mut query = BTreeMap::new();
        for (name, template) in &request.query {
            let value = text(template)?;
            if !value.is_empty() {
                query.insert(name.clone(), value);
            }
        }
        let mut headers = BTreeMap::new();
        for (name, template) in &request.headers {
            headers.insert(name.clone(), text(template)?);
        }
        let body = match &request.body {
            Some(body) => Some(without_nulls(
                TEMPLATES
                    .render_json(body, context)
                    .map_err(|error| error.to_string())?,
            )),
            None => None,
        };
        Ok(Self {
            method: request.method,
            target: text(path)?,
            query,
            headers,
            body,
        })
    }

    pub fn input(&self) -> Value {
        json!({
            "method": self.method.as_str(),
            "target": self.target,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
        })
    }

    fn method(&self) -> Method {
        Method::from_bytes(self.method.as_str().as_bytes()).unwrap_or(Method::GET)
    }

    fn header_map(&self) -> Result<HeaderMap, String> {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|_| format!("`{name}` is not a valid header name"))?;
            let value = HeaderValue::try_from(value.as_str())
                .map_err(|_| format!("the value of header `{name}` is not valid"))?;
            headers.insert(name, value);
        }
        // The step's own headers are filtered like a proxy caller's: the
        // account's auth is Patchbay's to add.
        let mut headers = patchbay_proxy::request_headers(&headers);
        if self.body.is_some() && !headers.contains_key(header::CONTENT_TYPE) {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        Ok(headers)
    }

    fn body_bytes(&self) -> Bytes {
        match &self.body {
            None => Bytes::new(),
            Some(Value::String(text)) => Bytes::from(text.clone()),
            Some(other) => Bytes::from(other.to_string()),
        }
    }

    fn query_string(&self) -> Option<String> {
        (!self.query.is_empty()).then(|| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&self.query)
                .finish()
        })
    }
}

/// Calls the integration's API as `credential`; the step's output.
pub async fn request(
    workflows: &Workflows,
    integration: &Integration,
    credential: CredentialRecord,
    call: &Call,
) -> Result<Value, CallError> {
    let raw_path = call.target.trim_start_matches('/');
    let query = call.query_string();
    let target = upstream::api_url(integration, &credential, raw_path, query.as_deref())
        .map_err(|err| err.to_string())?;
    let headers = call.header_map()?;
    let body = ReplayableBody::kept(call.body_bytes());
    let response = workflows
        .upstream
        .call_as_account(
            integration,
            credential,
            AccountRequest {
                method: &call.method(),
                target: &target,
                headers: &headers,
                body: &body,
                affinity: None,
            },
        )
        .await
        .map_err(|err| err.to_string())?;
    output(response).await
}

/// Calls any public URL, without the account's credentials.
pub async fn http(workflows: &Workflows, call: &Call) -> Result<Value, CallError> {
    let mut url = Url::parse(&call.target).map_err(|err| format!("invalid URL: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("only http and https URLs can be called".into());
    }
    if let Some(query) = call.query_string() {
        let joined = match url.query() {
            Some(own) if !own.is_empty() => format!("{own}&{query}"),
            _ => query,
        };
        url.set_query(Some(&joined));
    }
    let client = client_for(workflows, &url).await?;
    let request = client
        .request(call.method(), url)
        .headers(call.header_map()?)
        .body(call.body_bytes());
    let response =
        match tokio::time::timeout(workflows.provider_timeouts.total, request.send()).await {
            Err(_) => Err(upstream::Failure::Timeout),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(err)) => Err(upstream::Failure::of(&err)),
        }
        .map_err(|failure| failure.into_error().to_string())?;
    output(http::Response::from(response)).await
}

/// The client an `http` step sends with. A host that is, or resolves to, a
/// non-public address is refused; otherwise the connection is pinned to the
/// addresses just checked, so a second DNS answer (rebinding) cannot send it
/// elsewhere, and redirects are never followed.
async fn client_for(workflows: &Workflows, url: &Url) -> Result<reqwest::Client, String> {
    if workflows.settings.allow_private_network {
        return Ok(workflows.upstream.client().clone());
    }
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<_> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|_| format!("the host `{bare}` cannot be resolved"))?
        .collect();
    if addresses.is_empty()
        || addresses
            .iter()
            .any(|address| !patchbay_proxy::is_public_address(address.ip()))
    {
        return Err(format!(
            "the host `{bare}` is not a public address; http steps may not call it"
        ));
    }
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(workflows.provider_timeouts.connect)
        .resolve_to_addrs(host, &addresses)
        .build()
        .map_err(|_| "the HTTP client could not be built".to_owned())
}

/// `{status, headers, body}`: the body as JSON when it parses, else text.
/// A status of 400 or more fails the step, with this output kept.
async fn output<B: http_body::Body<Data = Bytes> + Unpin>(
    response: http::Response<B>,
) -> Result<Value, CallError> {
    let status = response.status().as_u16();
    let headers: BTreeMap<String, String> = response
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
        .collect();
    let mut body = Vec::new();
    let mut stream = response.into_body();
    while let Some(frame) = stream.frame().await {
        let frame = frame.map_err(|_| "the response body could not be read".to_owned())?;
        let Ok(chunk) = frame.into_data() else {
            // Trailers: not part of the body.
            continue;
        };
        if body.len() + chunk.len() > RESPONSE_LIMIT {
            return Err(format!(
                "the response body is larger than {} MiB",
                RESPONSE_LIMIT / (1024 * 1024)
            )
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let output = json!({ "status": status, "headers": headers, "body": body });
    if status >= 400 {
        return Err(CallError {
            message: format!("the server answered {status}"),
            output: Some(output),
        });
    }
    Ok(output)
}

/// Why a call failed; a response with an error status is kept as `output`.
#[derive(Debug)]
pub struct CallError {
    pub message: String,
    pub output: Option<Value>,
}

impl From<String> for CallError {
    fn from(message: String) -> Self {
        Self {
            message,
            output: None,
        }
    }
}

impl From<&str> for CallError {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

/// `value` without the object members that are null, at every depth: what an optional input
/// that was not given renders to.
pub(crate) fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .filter(|(_, member)| !member.is_null())
                .map(|(key, member)| (key, without_nulls(member)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}
