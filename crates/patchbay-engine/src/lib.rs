//! Patchbay's domain engine: connecting accounts by the multi-account rules,
//! the token lifecycle and its background refresher, calling an integration
//! as one account, workflows (runs, the queue worker, schedules), events and
//! the webhook sender, sealed secrets and the keyring, decoded project
//! configurations and the user object.
//!
//! It knows nothing of HTTP servers, routes or response statuses: every
//! front door holds an [`Engine`] and turns [`EngineError`] into its own
//! answers.

pub mod account_client;
pub mod accounts;
pub mod actions;
pub mod caller;
pub mod catalogue;
pub mod configurations;
pub mod connect;
mod engine;
pub mod error;
pub mod events;
pub mod field_options;
pub mod inbound;
pub mod keyring;
pub mod metrics;
mod one_task;
mod refresher;
pub mod runtime;
pub mod secrets;
pub mod tokens;
pub mod upstream;
pub mod usage;
pub mod user_object;
pub mod webhooks;
pub mod workflows;

pub use caller::Caller;
pub use engine::{Engine, EngineConfig};
pub use error::{EngineError, EngineResult};
pub use patchbay_workflow::FunctionLimits;
pub use webhooks::WebhookPolicy;
pub use workflows::WorkflowSettings;
pub use workflows::worker::WorkerHandle;
