//! The HTTP/1.1 client that calls as an account go out on: hyper's own
//! client over the TLS connector reqwest uses (rustls, the webpki roots).
//! Every Proxy API request passes through it, so it does without reqwest's
//! per-request layers (URL conversions, proxy matching, redirect and timeout
//! wrappers, a connector cloned per call), which cost the proxy about a
//! quarter of its throughput. It never follows a redirect: credentials must
//! not travel to another origin.
//!
//! A call made for a caller's HTTP/1 connection (an [`Affinity`]) goes out on
//! the one upstream connection that caller's connection keeps, driven in the
//! caller connection's own task; every other call takes a connection from a
//! shared pool. See [`Affinity`] for why.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Context;
use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Uri, header};
use http_body_util::combinators::UnsyncBoxBody;
use hyper::client::conn::http1;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower_service::Service as _;

/// What a body sent upstream may fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A request body sent as an account: bytes in memory or a stream relayed
/// from the caller.
pub type AccountBody = UnsyncBoxBody<Bytes, BoxError>;
/// The provider's answer, its body streamed as it arrives.
pub type AccountResponse = http::Response<hyper::body::Incoming>;

/// Idle connections kept per provider host.
const IDLE_PER_HOST: usize = 64;

type Connector = HttpsConnector<HttpConnector>;

#[derive(Debug, Clone)]
pub struct AccountClient {
    connector: Connector,
    pooled: Client<Connector, AccountBody>,
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
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let pooled = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(IDLE_PER_HOST)
            .build(connector.clone());
        Self { connector, pooled }
    }

    /// Sends `request` (an absolute URI) and returns the answer's head: on
    /// the connection `affinity` keeps, when there is one, else on a pooled
    /// one.
    pub async fn send(
        &self,
        request: http::Request<AccountBody>,
        affinity: Option<&Affinity>,
    ) -> Result<AccountResponse, SendError> {
        match affinity {
            Some(affinity) => self.send_kept(affinity, request).await,
            None => self.send_pooled(request).await,
        }
    }

    async fn send_pooled(
        &self,
        request: http::Request<AccountBody>,
    ) -> Result<AccountResponse, SendError> {
        self.pooled.request(request).await.map_err(|error| {
            if error.is_connect() {
                SendError::Connect
            } else {
                SendError::Other
            }
        })
    }

    /// Sends on the connection `affinity` keeps for the request's origin,
    /// or on a new one that it keeps from then on; on a pooled one while it
    /// keeps an open connection to another origin.
    async fn send_kept(
        &self,
        affinity: &Affinity,
        mut request: http::Request<AccountBody>,
    ) -> Result<AccountResponse, SendError> {
        let origin = Origin::of(request.uri()).ok_or(SendError::Other)?;
        if affinity.kept_elsewhere(&origin) {
            // A caller whose calls go to several providers keeps the first
            // one's connection; replacing it at every change of provider
            // would cost a new connection (and TLS handshake) per call.
            return self.send_pooled(request).await;
        }
        to_origin_form(&mut request, &origin);
        let request = match affinity.try_send(&origin, request) {
            Ok(sending) => match sending.await {
                Ok(response) => return Ok(response),
                // Closed before the request was written (an idle
                // connection the provider had just closed): sent again on a
                // new one, as the pool would.
                Err(mut error) => error.take_message().ok_or(SendError::Other)?,
            },
            Err(request) => request,
        };
        let mut connector = self.connector.clone();
        std::future::poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(|_| SendError::Connect)?;
        let stream = connector
            .call(origin.as_uri())
            .await
            .map_err(|_| SendError::Connect)?;
        let (mut sender, connection) = http1::handshake(stream)
            .await
            .map_err(|_| SendError::Connect)?;
        let response = sender.send_request(request);
        affinity.keep(Kept {
            origin,
            sender,
            connection: Box::pin(async move {
                // Its end, clean or not, is seen by the request it broke.
                let _ = connection.await;
            }),
        });
        response.await.map_err(|_| SendError::Other)
    }
}

/// The upstream connection one caller's HTTP/1 connection keeps, and the
/// task that drives it: the caller connection's own.
///
/// A proxied call crosses four sockets and, through a shared pool, at least
/// two tasks that the runtime may run on different threads, each hop a
/// wake-up of another thread. A caller on HTTP/1 sends its next request only
/// once the last answer is through, so one upstream connection per caller
/// connection is never contended, and driving it in the caller's task makes
/// the whole call one task's work: measured, a fifth more calls per second
/// and a shorter call. The connection kept is to the first origin called,
/// and to the next one called after it closes; while it is open, calls to
/// other origins use the pool, as do calls from elsewhere (HTTP/2 streams,
/// workflow steps).
#[derive(Clone, Default)]
pub struct Affinity {
    kept: Arc<Mutex<Option<Kept>>>,
}

impl std::fmt::Debug for Affinity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Affinity").finish_non_exhaustive()
    }
}

struct Kept {
    origin: Origin,
    sender: http1::SendRequest<AccountBody>,
    connection: Pin<Box<dyn Future<Output = ()> + Send>>,
}

type TrySending = Pin<
    Box<
        dyn Future<
                Output = Result<
                    AccountResponse,
                    hyper::client::conn::TrySendError<http::Request<AccountBody>>,
                >,
            > + Send,
    >,
>;

impl Affinity {
    /// Runs `connection` (the caller's) until it ends, driving the upstream
    /// connection kept for it whenever its task wakes.
    pub async fn serve<F: Future>(&self, connection: F) -> F::Output {
        crate::one_task::poll_with(connection, |cx| self.drive(cx)).await
    }

    fn drive(&self, cx: &mut Context<'_>) {
        let mut kept = self.lock();
        if let Some(connection) = kept.as_mut().map(|kept| &mut kept.connection)
            && connection.as_mut().poll(cx).is_ready()
        {
            *kept = None;
        }
    }

    /// Whether an open connection is kept that a request to `origin` cannot
    /// go on now: one to another origin, or one still busy.
    fn kept_elsewhere(&self, origin: &Origin) -> bool {
        self.lock().as_ref().is_some_and(|kept| {
            !kept.sender.is_closed() && (kept.origin != *origin || !kept.sender.is_ready())
        })
    }

    /// Sends `request` on the kept connection when it leads to `origin` and
    /// is free; else gives `request` back.
    #[expect(
        clippy::result_large_err,
        reason = "the request is handed back as it came, as hyper's own try_send_request does"
    )]
    fn try_send(
        &self,
        origin: &Origin,
        request: http::Request<AccountBody>,
    ) -> Result<TrySending, http::Request<AccountBody>> {
        let mut kept = self.lock();
        match kept.as_mut() {
            Some(kept) if kept.origin == *origin && kept.sender.is_ready() => {
                Ok(Box::pin(kept.sender.try_send_request(request)))
            }
            _ => Err(request),
        }
    }

    /// Keeps `connection` in place of the one kept before, which closes.
    fn keep(&self, connection: Kept) {
        *self.lock() = Some(connection);
    }

    fn lock(&self) -> MutexGuard<'_, Option<Kept>> {
        // Nothing panics while holding it; a poisoned slot is still sound.
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Where a connection leads: the pool's key, a scheme and an authority.
#[derive(PartialEq, Eq)]
struct Origin {
    scheme: Scheme,
    authority: Authority,
}

impl Origin {
    fn of(uri: &Uri) -> Option<Self> {
        Some(Self {
            scheme: uri.scheme()?.clone(),
            authority: uri.authority()?.clone(),
        })
    }

    /// What the connector dials.
    fn as_uri(&self) -> Uri {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query("/")
            .build()
            .expect("a scheme and an authority make a URI")
    }
}

/// The request as it is written on a connection to its origin: the path and
/// query alone, the origin in `Host` (without the scheme's default port).
fn to_origin_form(request: &mut http::Request<AccountBody>, origin: &Origin) {
    let default_port = if origin.scheme == Scheme::HTTPS {
        443
    } else {
        80
    };
    let name = origin.authority.host();
    let host = match origin.authority.port_u16() {
        Some(port) if port != default_port => HeaderValue::from_str(&format!("{name}:{port}")),
        _ => HeaderValue::from_str(name),
    };
    if let Ok(host) = host {
        request.headers_mut().entry(header::HOST).or_insert(host);
    }
    let path = request
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    *request.uri_mut() = Uri::from(path);
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt as _, Empty};

    use super::*;

    /// The request line's target and `Host` a request to `url` is written with.
    fn written(url: &str) -> (String, String) {
        let body = Empty::new().map_err(|never| match never {}).boxed_unsync();
        let mut request = http::Request::get(url).body(body).unwrap();
        let origin = Origin::of(request.uri()).unwrap();
        to_origin_form(&mut request, &origin);
        let host = request.headers()[header::HOST].to_str().unwrap().to_owned();
        (request.uri().to_string(), host)
    }

    #[test]
    fn requests_are_written_in_origin_form_with_the_host_a_provider_expects() {
        let cases = [
            (
                "https://api.example.com/v1/x?a=1&b=%2F",
                "/v1/x?a=1&b=%2F",
                "api.example.com",
            ),
            ("https://api.example.com:443/v1", "/v1", "api.example.com"),
            (
                "https://api.example.com:8443/v1",
                "/v1",
                "api.example.com:8443",
            ),
            ("http://api.example.com:80/", "/", "api.example.com"),
            ("http://api.example.com:443/", "/", "api.example.com:443"),
            ("http://127.0.0.1:3000", "/", "127.0.0.1:3000"),
            ("http://[::1]:8080/v1", "/v1", "[::1]:8080"),
            (
                "https://user:secret@api.example.com/v1",
                "/v1",
                "api.example.com",
            ),
        ];
        for (url, target, host) in cases {
            assert_eq!(written(url), (target.to_owned(), host.to_owned()), "{url}");
        }
    }

    #[test]
    fn connections_are_kept_per_scheme_host_and_port() {
        let origin = |url: &str| Origin::of(&url.parse().unwrap()).unwrap();
        assert!(origin("https://API.example.com/a") == origin("https://api.example.com/b?c"));
        assert!(origin("https://api.example.com/") != origin("http://api.example.com/"));
        assert!(origin("https://api.example.com/") != origin("https://api.example.com:8443/"));
        assert!(Origin::of(&"/relative".parse().unwrap()).is_none());
    }
}
