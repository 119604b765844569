//! The built-in sandbox provider: an offline fake OAuth 2.0 provider with a
//! small API (docs/api.md, "Built-in sandbox provider").
//!
//! `patchbay serve` nests [`Sandbox::router`] under `/sandbox`, and tests
//! serve it on a socket of its own as "the fake provider", so every route,
//! form action and link here is relative to the mount point.
//!
//! Routes:
//! - `GET|POST /oauth/authorize` — consent page with an account picker
//!   (authorization code flow, PKCE S256);
//! - `POST /oauth/token` — `authorization_code` and `refresh_token` grants,
//!   with rotating refresh tokens;
//! - `GET /api/me`, `GET|POST /api/contacts` (searched with `q`, paged with
//!   `limit` and `cursor`), `GET|PATCH|DELETE /api/contacts/{id}`, `GET
//!   /api/fields` (each account has a custom field of its own), `GET
//!   /api/fields/{key}/values`, `GET|POST /api/webhooks`, `DELETE
//!   /api/webhooks/{id}` — per account, by bearer token or `X-Api-Key`;
//!   a call with an `Origin` (from a web page) is refused, as providers
//!   with a CORS policy refuse it;
//! - `POST /control/failure`, `GET /control/stats`, `POST /control/reset` —
//!   failure injection and counters for tests;
//! - and, once [`Sandbox::send_webhooks_to`] names a URL, signed webhooks of
//!   every change to a contact (`webhooks.rs`).
//!
//! Everything lives in memory: codes and tokens are lost on restart and are
//! not shared between replicas. That is acceptable for a demo and for tests,
//! and it is why the sandbox is not part of the store.

mod api;
mod consent_page;
mod control;
pub mod definition;
mod failure;
mod form;
mod oauth;
mod reply;
mod state;
mod webhooks;

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::mpsc;

pub use failure::{FailureKind, FailureMode, FailureTarget};
pub use state::{SANDBOX_ACCOUNTS, SandboxAccount, SandboxStats};
pub use webhooks::{SIGNATURE_HEADER, sign};

use state::State;

/// The client id the sandbox accepts unless configured otherwise.
pub const DEFAULT_CLIENT_ID: &str = "patchbay-sandbox";
/// The client secret of [`DEFAULT_CLIENT_ID`]. Public on purpose: the
/// sandbox protects nothing, and the demo must work without setup.
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";
/// What the sandbox signs its webhooks with unless configured otherwise;
/// public for the same reason.
pub const DEFAULT_WEBHOOK_SECRET: &str = "sandbox-webhook-secret";

/// How the sandbox behaves; [`Default`] is what `patchbay serve` uses.
#[derive(Clone)]
pub struct SandboxConfig {
    /// Lifetime of access tokens (`expires_in`). Default: one hour.
    pub access_token_ttl: Duration,
    /// Lifetime of authorization codes. Default: 60 s. Tests shorten it to
    /// see an expired code without waiting a minute.
    pub code_ttl: Duration,
    /// How long a used refresh token is still accepted. Default: zero — each
    /// refresh token works exactly once, the strictest rotation there is.
    pub refresh_reuse_grace: Duration,
    /// Accepted `(client_id, client_secret)` pairs. Default:
    /// [`DEFAULT_CLIENT_ID`] / [`DEFAULT_CLIENT_SECRET`].
    pub clients: Vec<(String, String)>,
    /// What webhooks are signed with. Default: [`DEFAULT_WEBHOOK_SECRET`].
    pub webhook_secret: String,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(3600),
            code_ttl: Duration::from_secs(60),
            refresh_reuse_grace: Duration::ZERO,
            clients: vec![(
                DEFAULT_CLIENT_ID.to_owned(),
                DEFAULT_CLIENT_SECRET.to_owned(),
            )],
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_owned(),
        }
    }
}

// Client secrets stay out of `Debug`, like every other secret in Patchbay,
// even though the default one is public.
impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let client_ids: Vec<&str> = self.clients.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("SandboxConfig")
            .field("access_token_ttl", &self.access_token_ttl)
            .field("code_ttl", &self.code_ttl)
            .field("client_ids", &client_ids)
            .finish_non_exhaustive()
    }
}

/// One sandbox provider: its configuration and its in-memory state. Clones
/// share the state, so a test can keep a handle on the instance it serves.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    state: Mutex<State>,
    /// Where webhooks go; see `webhooks.rs`.
    webhook_target: Mutex<webhooks::Target>,
    /// The task sending webhooks, started with the first event.
    webhook_queue: OnceLock<mpsc::UnboundedSender<webhooks::Event>>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A fresh sandbox: the fixed accounts, two seeded contacts each, no
    /// codes or tokens, no failure mode.
    pub fn new(config: SandboxConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(State::new()),
                webhook_target: Mutex::default(),
                webhook_queue: OnceLock::new(),
            }),
        }
    }

    /// Every route of the sandbox, relative to wherever it is mounted.
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/oauth/authorize",
                get(oauth::authorize_page).post(oauth::authorize_decision),
            )
            .route("/oauth/token", post(oauth::token))
            .route("/api/me", get(api::me))
            .route(
                "/api/contacts",
                get(api::list_contacts).post(api::create_contact),
            )
            .route(
                "/api/contacts/{id}",
                get(api::get_contact)
                    .patch(api::update_contact)
                    .delete(api::delete_contact),
            )
            .route("/api/fields", get(api::list_fields))
            .route("/api/fields/{key}/values", get(api::field_values))
            .route(
                "/api/webhooks",
                get(api::list_webhooks).post(api::create_webhook),
            )
            .route(
                "/api/webhooks/{id}",
                axum::routing::delete(api::delete_webhook),
            )
            .route("/control/failure", post(control::set_failure))
            .route("/control/stats", get(control::stats))
            .route("/control/reset", post(control::reset))
            // The sandbox answers in its own error format, like the provider
            // it imitates, also for paths and methods it does not know.
            .fallback(reply::not_found)
            .method_not_allowed_fallback(reply::method_not_allowed)
            .with_state(self.clone())
    }

    /// A snapshot of the counters and of the current failure mode.
    pub fn stats(&self) -> SandboxStats {
        self.with_state(|state| state.stats())
    }

    /// Makes the sandbox fail as `mode` says, replacing any previous mode;
    /// [`FailureMode::NONE`] switches failures off.
    pub fn set_failure(&self, mode: FailureMode) {
        self.with_state(|state| state.set_failure(mode));
    }

    /// Revokes the secret of `client_id`: its token requests fail with
    /// `invalid_client` from now on, as after rotating a secret at a provider.
    pub fn revoke_client(&self, client_id: &str) {
        self.with_state(|state| state.revoke_client(client_id));
    }

    /// Clears the failure mode and the counters; accounts, contacts, codes
    /// and tokens stay.
    pub fn reset(&self) {
        self.with_state(State::reset);
    }

    fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// Runs `f` under the state lock. Taking a closure rather than handing
    /// out the guard means the lock can never be held across an `.await`.
    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        // A panic while holding the lock leaves maps that are still
        // consistent (every update is a single insert or remove), so a
        // poisoned lock is safe to keep using.
        let mut guard = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}
