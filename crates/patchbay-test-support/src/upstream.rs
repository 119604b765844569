//! A plain HTTP upstream for Proxy API tests: it echoes bodies back, streams
//! slowly on request, closes its connection on request, records the last
//! request it received (only the last: the proxy benchmark sends it
//! millions) and counts every request and every connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{any, get};
use axum::serve::ListenerExt as _;

/// The upstream, stopped when dropped.
#[derive(Debug)]
pub struct EchoUpstream {
    pub base_url: String,
    last: Arc<Mutex<Option<(String, HeaderMap)>>>,
    received: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl EchoUpstream {
    pub async fn start() -> Self {
        let last = Arc::new(Mutex::new(None));
        let recorded = Arc::clone(&last);
        let received = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&received);
        let router = Router::new()
            .route(
                "/echo/{*rest}",
                any(
                    move |uri: axum::http::Uri, headers: HeaderMap, body: Body| {
                        let recorded = Arc::clone(&recorded);
                        async move {
                            *recorded.lock().unwrap() = Some((uri.to_string(), headers));
                            let mut response = Response::new(body);
                            response
                                .headers_mut()
                                .insert("x-upstream", "echo".parse().unwrap());
                            response
                        }
                    },
                ),
            )
            .route("/slow", get(slow_stream))
            // Answers, then closes the connection (`Connection: close`).
            .route(
                "/close",
                get(|| async { ([(header::CONNECTION, "close")], "closing") }),
            )
            // A layer on the router also wraps its fallback, so requests to
            // paths it has no route for are counted too.
            .layer(axum::middleware::from_fn(
                move |request: Request, next: Next| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    next.run(request)
                },
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicU64::new(0));
        let accepted = Arc::clone(&connections);
        let listener = listener.tap_io(move |_| {
            accepted.fetch_add(1, Ordering::SeqCst);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            base_url,
            last,
            received,
            connections,
            task,
        }
    }

    /// How many requests arrived so far, on any path and with any method.
    pub fn requests_received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }

    /// How many connections were opened to it so far.
    pub fn connections_accepted(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    /// The path and query, and the headers, of the last request received.
    pub fn last_request(&self) -> Option<(String, HeaderMap)> {
        self.last.lock().unwrap().clone()
    }

    /// A configuration document with an API-key integration `echo` whose
    /// key travels in `X-Api-Key`.
    pub fn config_document(&self) -> String {
        format!("\nintegrations:\n{}", self.integration("echo"))
    }

    /// The entry of `integrations:` for an API-key integration of type
    /// `type_name` calling this upstream, its key in `X-Api-Key`.
    pub fn integration(&self, type_name: &str) -> String {
        format!(
            r#"  {type_name}:
    name: Echo
    auth:
      type: api_key
      fields: [{{id: apiKey, title: Key, secret: true}}]
      inject: {{header: X-Api-Key, value: "{{{{ credentials.apiKey }}}}"}}
    api:
      baseUrl: {}
"#,
            self.base_url
        )
    }
}

impl Drop for EchoUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One chunk now, another after a second: a client that sees the first
/// early is being streamed to.
async fn slow_stream() -> Response {
    let chunks = async_stream(vec![
        (Duration::ZERO, Bytes::from_static(b"first ")),
        (Duration::from_secs(1), Bytes::from_static(b"second")),
    ]);
    let mut response = Response::new(Body::from_stream(chunks));
    *response.status_mut() = StatusCode::OK;
    response
}

fn async_stream(
    chunks: Vec<(Duration, Bytes)>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(chunks.into_iter(), |mut rest| async move {
        let (delay, chunk) = rest.next()?;
        tokio::time::sleep(delay).await;
        Some((Ok(chunk), rest))
    })
}
