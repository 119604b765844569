//! The Proxy API (`/projects/{projectId}/sdk/proxy/{integration}/{path}`): a
//! call to an integration's own API as one of the user's accounts, with
//! both bodies streamed. Every call sends `X-Paragon-Use-Raw-Response: 1`:
//! the answer is the provider's own, not Paragon's `{"output": …}` wrapper.

use std::fmt;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _, TryStream, TryStreamExt as _};
use patchbay_api::ErrorBody;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::http::CREDENTIAL_HEADER;

/// The most of an error response read to decide whether Patchbay or the
/// provider wrote it. Patchbay's own errors are a few hundred bytes; a
/// provider's larger error body streams on untouched.
const ERROR_SNIFF_LIMIT: usize = 64 * 1024;

const RAW_RESPONSE_HEADER: &str = "X-Paragon-Use-Raw-Response";

/// A Proxy API call being built; [`ProxyRequest::send`] sends it. Made by
/// [`UserClient::proxy`](crate::UserClient::proxy).
#[must_use = "a proxy request does nothing until it is sent"]
pub struct ProxyRequest {
    builder: reqwest::RequestBuilder,
    method: reqwest::Method,
    integration: String,
    path: String,
    selection: Option<String>,
}

// By hand: the builder holds the user token, and only what says which call
// this is may be printed.
impl fmt::Debug for ProxyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyRequest")
            .field("method", &self.method)
            .field("integration", &self.integration)
            .field("path", &self.path)
            .field("selection", &self.selection)
            .finish_non_exhaustive()
    }
}

impl ProxyRequest {
    pub(crate) fn new(
        builder: reqwest::RequestBuilder,
        method: reqwest::Method,
        integration: &str,
        path: &str,
    ) -> Self {
        Self {
            // The provider's own answer, streamed, rather than Paragon's
            // `{"output": …}` wrapper, which the server would read whole.
            builder: builder.header(RAW_RESPONSE_HEADER, "1"),
            method,
            integration: integration.to_owned(),
            path: path.to_owned(),
            selection: None,
        }
    }

    /// Acts as this account (`X-Paragon-Credential`): a credential id,
    /// `ext:<externalId>` or a plain externalId. Without it the user's
    /// default account is used.
    pub fn selected_credential(mut self, selection: impl Into<String>) -> Self {
        let selection = selection.into();
        self.builder = self.builder.header(CREDENTIAL_HEADER, selection.as_str());
        self.selection = Some(selection);
        self
    }

    /// A header for the provider. `Authorization`, `Cookie` and
    /// `X-Paragon-*` never reach it: Patchbay adds the account's own
    /// authentication. An invalid name or value fails [`ProxyRequest::send`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// A body held in memory (`Vec<u8>`, `String`, [`Bytes`], ...).
    pub fn body(mut self, body: impl Into<reqwest::Body>) -> Self {
        self.builder = self.builder.body(body);
        self
    }

    /// A body sent as the stream yields it, never held whole: an upload of
    /// any size, relayed to the provider as it comes. Unlike a
    /// [`ProxyRequest::body`] of up to 1 MiB, which Patchbay keeps, a
    /// streamed body cannot be sent again: a call the provider refuses with
    /// `401` is not replayed after a token refresh.
    pub fn body_stream<S>(mut self, stream: S) -> Self
    where
        S: TryStream + Send + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        Bytes: From<S::Ok>,
    {
        self.builder = self.builder.body(reqwest::Body::wrap_stream(stream));
        self
    }

    /// A JSON body, with `content-type: application/json`.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.builder = self.builder.json(body);
        self
    }

    /// Sends the call. Returns the provider's answer, whatever its status,
    /// as soon as its headers arrive; the body streams from
    /// [`ProxyResponse`]. Fails with [`Error::Api`] when Patchbay itself
    /// refused or could not complete the call (an invalid token, an unknown
    /// account, a path outside the API, an unreachable provider), told apart
    /// from a provider's error as [`ProxyResponse`] explains.
    pub async fn send(self) -> Result<ProxyResponse, Error> {
        let response = self.builder.send().await?;
        classify(response)
            .await
            .map(|response| ProxyResponse { response })
    }
}

/// What the provider answered, streamed.
///
/// Every answer of the provider is a `ProxyResponse`, its errors included:
/// Patchbay passes them through untouched. A non-2xx answer is taken for
/// Patchbay's own error (and [`ProxyRequest::send`] returns [`Error::Api`]
/// instead) only when it has exactly the shape of one: a JSON object with
/// `message`, `code` and `status` (and optionally `meta`) and nothing else,
/// a snake_case `code`, and a `status` equal to the HTTP status.
#[derive(Debug)]
pub struct ProxyResponse {
    response: reqwest::Response,
}

impl ProxyResponse {
    /// The provider's HTTP status.
    pub fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    /// The provider's headers, minus hop-by-hop ones and `Set-Cookie`.
    pub fn headers(&self) -> &HeaderMap {
        self.response.headers()
    }

    /// The next piece of the body as it arrives; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        Ok(self.response.chunk().await?)
    }

    /// The body as a stream of pieces, as they arrive.
    pub fn bytes_stream(self) -> impl Stream<Item = Result<Bytes, Error>> {
        self.response.bytes_stream().map_err(Error::from)
    }

    /// The whole body.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        Ok(self.response.bytes().await?)
    }

    /// The whole body, decoded from JSON.
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, Error> {
        let status = self.status();
        let bytes = self.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|err| Error::Unexpected {
            status,
            detail: err.to_string(),
        })
    }
}

/// Patchbay's error shape, strictly: a provider's error body with any other
/// field is the provider's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictErrorBody {
    message: String,
    code: String,
    status: u16,
    #[serde(default)]
    meta: Option<serde_json::Value>,
}

/// Returns Patchbay's own error as `Err`, and any other answer unchanged.
/// The first bytes of a JSON error body are read to decide; when that body
/// turns out to be the provider's, it is put back in front of the rest, so
/// the caller still reads it byte for byte and as a stream.
async fn classify(response: reqwest::Response) -> Result<reqwest::Response, Error> {
    let status = response.status();
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"));
    if status.is_success() || !json {
        return Ok(response);
    }
    let version = response.version();
    let headers = response.headers().clone();
    let mut stream = response.bytes_stream();
    let mut head: Vec<Bytes> = Vec::new();
    let mut read = 0;
    let body = loop {
        match stream.next().await {
            None => {
                let whole = head.concat();
                if let Some(body) = patchbay_error(status.as_u16(), &whole) {
                    return Err(Error::Api { body });
                }
                break reqwest::Body::from(whole);
            }
            Some(chunk) => {
                let chunk = chunk?;
                read += chunk.len();
                head.push(chunk);
                if read > ERROR_SNIFF_LIMIT {
                    let head = futures_util::stream::iter(head.into_iter().map(Ok));
                    break reqwest::Body::wrap_stream(head.chain(stream));
                }
            }
        }
    };
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}

fn patchbay_error(status: u16, body: &[u8]) -> Option<ErrorBody> {
    let strict: StrictErrorBody = serde_json::from_slice(body).ok()?;
    let snake_case = !strict.code.is_empty()
        && strict
            .code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    (strict.status == status && snake_case).then_some(ErrorBody {
        message: strict.message,
        code: strict.code,
        status: strict.status,
        meta: strict.meta,
    })
}

#[cfg(test)]
mod tests {
    use super::patchbay_error;

    #[test]
    fn only_patchbay_shaped_errors_are_patchbay_errors() {
        let ours =
            br#"{"message":"Credential not found.","code":"credential_not_found","status":404}"#;
        let body = patchbay_error(404, ours).unwrap();
        assert_eq!(
            (body.code.as_str(), body.status),
            ("credential_not_found", 404)
        );
        let with_meta = br#"{"message":"m","code":"credential_selection_required","status":409,"meta":{"credentialIds":[]}}"#;
        assert!(patchbay_error(409, with_meta).unwrap().meta.is_some());

        assert!(
            patchbay_error(400, ours).is_none(),
            "status differs from the HTTP one"
        );
        let extra = br#"{"message":"m","code":"not_found","status":404,"errors":[]}"#;
        assert!(
            patchbay_error(404, extra).is_none(),
            "a field Patchbay never sends"
        );
        let shouty = br#"{"message":"m","code":"NOT_FOUND","status":404}"#;
        assert!(
            patchbay_error(404, shouty).is_none(),
            "not a snake_case code"
        );
        let numeric = br#"{"message":"m","code":404,"status":404}"#;
        assert!(patchbay_error(404, numeric).is_none());
        assert!(patchbay_error(404, b"[]").is_none());
        assert!(patchbay_error(404, b"not json").is_none());
    }
}
