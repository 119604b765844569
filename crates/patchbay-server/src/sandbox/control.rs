//! Failure injection and counters, for tests: `POST /control/failure`,
//! `GET /control/stats`, `POST /control/reset`, and the same through
//! [`Sandbox::set_failure`](super::Sandbox::set_failure).

use super::Sandbox;
use super::failure::{Endpoint, FailureMode, Injected};
use super::reply::json_error;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// `POST /control/failure`: sets the failure mode and echoes it back.
pub(super) async fn set_failure(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    match serde_json::from_slice::<FailureMode>(&body) {
        Ok(mode) => {
            sandbox.set_failure(mode);
            Json(mode).into_response()
        }
        Err(err) => json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("invalid failure mode: {err}"),
        ),
    }
}

/// `GET /control/stats`.
pub(super) async fn stats(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.stats()).into_response()
}

/// `POST /control/reset`.
pub(super) async fn reset(State(sandbox): State<Sandbox>) -> Response {
    sandbox.reset();
    StatusCode::NO_CONTENT.into_response()
}

/// Whether this request to `endpoint` fails, using up one of the mode's
/// `times` if so. `slow` is served here: the wait happens after the lock is
/// released, and then the request goes on normally.
pub(super) async fn take_failure(sandbox: &Sandbox, endpoint: Endpoint) -> Option<Injected> {
    match sandbox.with_state(|state| state.take_failure(endpoint)) {
        Some(Injected::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        other => other,
    }
}
