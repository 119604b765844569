//! Patchbay's HTTP server.
//!
//! This is the only crate that knows about axum and HTTP status codes. It
//! holds an `Arc<dyn Store>` and is never generic over the database.

mod accounts;
mod auth;
mod connect;
mod cors;
mod error;
mod events;
mod extract;
mod handlers;
mod keyring;
mod metrics;
mod oauth_state;
mod refresher;
mod routes;
mod runtime;
pub mod sandbox;
mod secrets;
mod state;
mod tokens;
mod upstream;
mod user_object;
mod verified_tokens;
mod webhooks;
mod workflows;

use std::future::Future;

use axum::serve::ListenerExt as _;

pub use error::ApiError;
pub use handlers::config::apply_config;
pub use handlers::projects::create_project;
pub use handlers::signing_keys::add_signing_key;
pub use keyring::{
    KEYRING_RELOAD_INTERVAL, KeyringError, ROTATION_SETTLE, RotationReport, WEBHOOK_SECRET,
    load_keyring, reload_keyring, rotate_data_key, spawn_keyring_reloader,
};
pub use patchbay_workflow::FunctionLimits;
pub use refresher::spawn as spawn_refresher;
pub use routes::router;
pub use state::{AppState, ServerConfig};
pub use webhooks::{WebhookPolicy, spawn as spawn_webhook_sender};
pub use workflows::WorkflowSettings;
pub use workflows::worker::{WorkerHandle, spawn as spawn_worker};

/// Serves the application on `listener` until `shutdown` completes, then
/// stops accepting connections, ends event streams and background tasks, and
/// waits for requests in flight to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = state.shutdown.clone();
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
