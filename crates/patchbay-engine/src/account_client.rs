//! The pooled HTTP/1.1 client that calls as an account go out on: hyper's own
//! client over the TLS connector reqwest uses (rustls, the webpki roots).
//! Every Proxy API request passes through it, so it does without reqwest's
//! per-request layers (URL conversions, proxy matching, redirect and timeout
//! wrappers, a connector cloned per call), which cost the proxy about a
//! quarter of its throughput. It never follows a redirect: credentials must
//! not travel to another origin.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// What a body sent upstream may fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A request body sent as an account: bytes in memory or a stream relayed
/// from the caller.
pub type AccountBody = UnsyncBoxBody<Bytes, BoxError>;
/// The provider's answer, its body streamed as it arrives.
pub type AccountResponse = http::Response<hyper::body::Incoming>;

/// Idle connections kept per provider host.
const IDLE_PER_HOST: usize = 64;

#[derive(Debug, Clone)]
pub struct AccountClient {
    inner: Client<HttpsConnector<HttpConnector>, AccountBody>,
}

/// Why a request got no response.
#[derive(Debug)]
pub enum SendError {
    /// No connection could be made (refused, unresolvable, TLS refused,
    /// the connect timeout).
    Connect,
    /// The connection broke before the answer's head arrived.
    Other,
}

impl AccountClient {
    pub fn new(connect_timeout: Duration) -> Self {
        let mut http = HttpConnector::new();
        // `https` URLs go to the TLS layer above.
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        // Requests and answers are written in pieces (head, then body).
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(IDLE_PER_HOST)
            .build(https);
        Self { inner }
    }

    /// Sends `request` (an absolute URI) and returns the answer's head.
    pub async fn send(
        &self,
        request: http::Request<AccountBody>,
    ) -> Result<AccountResponse, SendError> {
        self.inner.request(request).await.map_err(|error| {
            if error.is_connect() {
                SendError::Connect
            } else {
                SendError::Other
            }
        })
    }
}
