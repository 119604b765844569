//! Limits on a request: on its head, answered as Patchbay's JSON errors
//! (hyper answers a head beyond its own, larger buffers with a bare status;
//! these come first, so a client that merely overdoes it gets a code to
//! read), and on how slowly its body may arrive.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use patchbay_api::ErrorCode;
use tokio::time::Sleep;

use crate::error::ApiError;

/// The longest path and query a request may have.
pub const MAX_URI_LENGTH: usize = 8 * 1024;
/// The most header fields a request may have.
pub const MAX_HEADER_COUNT: usize = 100;
/// The most bytes of header names and values a request may have.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Refuses a request whose head is over the limits, and guards its body
/// (see [`guard_body`]): one layer, as every request passes through it.
pub async fn enforce(idle: Duration, request: Request, next: Next) -> Response {
    if let Some(refusal) = oversized_head(&request) {
        return refusal.into_response();
    }
    next.run(guard_body(request, idle)).await
}

pub fn oversized_head(request: &Request) -> Option<ApiError> {
    let uri_length = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if uri_length > MAX_URI_LENGTH {
        return Some(ApiError::new(
            ErrorCode::UriTooLong,
            format!("The request target is longer than {MAX_URI_LENGTH} bytes."),
        ));
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    (headers.len() > MAX_HEADER_COUNT || header_bytes > MAX_HEADER_BYTES).then(|| {
        ApiError::new(
            ErrorCode::HeadersTooLarge,
            format!(
                "A request may have {MAX_HEADER_COUNT} header fields of {} KiB in all.",
                MAX_HEADER_BYTES / 1024
            ),
        )
    })
}

/// The slowest a request body may arrive, on average, once its idle
/// timeout has passed: a body dripping a byte at a time is never idle, but
/// would hold its connection (and a proxied upload, the provider's) for ever.
pub const MIN_BODY_RATE: u64 = 1024;

/// Fails a request body that sends nothing for `idle`, or that arrives
/// slower than [`MIN_BODY_RATE`] once `idle` has passed. The body's size
/// hint is kept: the proxy decides by it whether a body can be replayed.
/// A request without a body (most `GET`s) is left as it is.
pub fn guard_body(request: Request, idle: Duration) -> Request {
    if http_body::Body::is_end_stream(request.body()) {
        return request;
    }
    request.map(|body| Body::new(GuardedBody::new(body, idle)))
}

#[derive(Debug)]
struct GuardedBody {
    inner: Body,
    idle: Duration,
    /// Runs while the body is waited for; reset by every frame.
    waiting: Option<Pin<Box<Sleep>>>,
    started: Instant,
    received: u64,
}

impl GuardedBody {
    fn new(inner: Body, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            waiting: None,
            started: Instant::now(),
            received: 0,
        }
    }

    fn too_slow(&self) -> bool {
        let late = self.started.elapsed().saturating_sub(self.idle);
        late > Duration::ZERO && self.received < (late.as_secs_f64() * MIN_BODY_RATE as f64) as u64
    }
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                let idle = self.idle;
                let waiting = self
                    .waiting
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                ready!(waiting.as_mut().poll(cx));
                return Poll::Ready(Some(Err(axum::Error::new(format!(
                    "the request body sent nothing for {} s",
                    idle.as_secs()
                )))));
            }
        };
        self.waiting = None;
        if let Some(Ok(data)) = frame
            .as_ref()
            .map(|frame| frame.as_ref().map(Frame::data_ref))
        {
            self.received += data.map_or(0, |data| data.len() as u64);
        }
        if frame.is_some() && self.too_slow() {
            return Poll::Ready(Some(Err(axum::Error::new(format!(
                "the request body arrived slower than {MIN_BODY_RATE} bytes a second"
            )))));
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
