//! Patchbay's HTTP server: routes, extractors, handlers, CORS, event-stream
//! framing, static assets, and the one mapping from engine errors to
//! `ApiError`. The work itself is the engine's (`patchbay-engine`).
//!
//! This is the only crate that knows about axum and HTTP status codes. It
//! holds an `Arc<dyn Store>` and is never generic over the database.

mod access_log;
mod audit;
mod auth;
mod cors;
mod dispatch;
mod error;
mod extract;
mod handlers;
mod mcp;
mod metrics;
mod oauth_state;
mod openapi_document;
mod request_limits;
mod routes;
pub mod sandbox;
mod selection;
mod serving;
mod session;
mod state;
mod stream_slots;
mod verified_tokens;

pub use error::ApiError;
pub use handlers::config::{apply_config, plan_config, validate_config};
pub use handlers::projects::create_project;
pub use handlers::signing_keys::add_signing_key;
pub use patchbay_engine::keyring::{
    KEYRING_RELOAD_INTERVAL, KeyringError, ROTATION_SETTLE, RotationReport, load_keyring,
    reload_keyring, rotate_data_key,
};
pub use patchbay_engine::{FunctionLimits, WebhookPolicy, WorkerHandle, WorkflowSettings};
pub use routes::router;
pub use serving::serve;
pub use state::{AppState, ConnectionLimits, ServerConfig};
