//! Patchbay's HTTP server: routes, extractors, handlers, CORS, event-stream
//! framing, static assets, and the one mapping from engine errors to
//! `ApiError`. The work itself is the engine's (`patchbay-engine`).
//!
//! This is the only crate that knows about axum and HTTP status codes. It
//! holds an `Arc<dyn Store>` and is never generic over the database.

mod auth;
mod cors;
mod error;
mod extract;
mod handlers;
mod metrics;
mod oauth_state;
mod routes;
pub mod sandbox;
mod selection;
mod state;
mod verified_tokens;

use std::future::Future;

use axum::serve::ListenerExt as _;

pub use error::ApiError;
pub use handlers::config::apply_config;
pub use handlers::projects::create_project;
pub use handlers::signing_keys::add_signing_key;
pub use patchbay_engine::keyring::{
    KEYRING_RELOAD_INTERVAL, KeyringError, ROTATION_SETTLE, RotationReport, load_keyring,
    reload_keyring, rotate_data_key,
};
pub use patchbay_engine::{FunctionLimits, WebhookPolicy, WorkerHandle, WorkflowSettings};
pub use routes::router;
pub use state::{AppState, ServerConfig};

/// Serves the application on `listener` until `shutdown` completes, then
/// stops accepting connections, ends event streams and background tasks, and
/// waits for requests in flight to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = state.engine.shutdown().clone();
    // Responses, proxied ones above all, are written in several small
    // pieces (headers, then body chunks as they arrive); Nagle's algorithm
    // would hold each piece back until the previous one is acknowledged.
    let listener = listener.tap_io(|connection| {
        if let Err(error) = connection.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopping.cancel();
        })
        .await
}
