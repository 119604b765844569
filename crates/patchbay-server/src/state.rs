use std::sync::Arc;

use patchbay_core::crypto::Keyring;
use patchbay_store::Store;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::runtime::RuntimeCache;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::tokens::RefreshGates;
use crate::verified_tokens::VerifiedTokens;
use crate::webhooks::WebhookPolicy;

/// Settings the server needs at run time, built once by the binary.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where this deployment is reachable from browsers and providers
    /// (OAuth callback, portal links).
    pub public_url: String,
    /// Guards `POST /api/v1/projects`; project creation over HTTP is off
    /// without it.
    pub admin_token: Option<SecretString>,
    /// Connect and total timeouts of every request to a provider.
    pub provider_timeouts: patchbay_oauth::Timeouts,
    /// The built-in sandbox provider served under `/sandbox`.
    pub sandbox: SandboxConfig,
    /// How often the background refresher looks for tokens due for renewal.
    pub refresh_interval: std::time::Duration,
    /// How often API-key and basic-auth accounts are checked with their
    /// provider's verification request (when it has one).
    pub credential_check_interval: std::time::Duration,
    /// How webhooks are attempted and retried.
    pub webhooks: WebhookPolicy,
    /// The workflow queue worker and the limits of function steps.
    pub workflows: crate::workflows::WorkflowSettings,
}

/// What every handler can reach: one shared [`Shared`], so that the clones
/// the extractors and middleware make on every request cost one reference
/// count. Holds nothing that ties a request to a replica, so replicas are
/// interchangeable.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[derive(Debug)]
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub keyring: Arc<Keyring>,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<Metrics>,
    /// Talks to providers: token exchange, account identification.
    pub oauth: patchbay_oauth::Client,
    /// The fake provider under `/sandbox`. Its state lives in this process
    /// only: it is a demo and test aid, not a replicated service.
    pub sandbox: Sandbox,
    /// One gate per credential being refreshed in this process.
    pub refresh_gates: Arc<RefreshGates>,
    /// Forwards Proxy API requests: never follows redirects (credentials
    /// must not travel to another origin), pools connections per host.
    pub proxy_client: reqwest::Client,
    /// Decoded project configurations, checked against `config_version`.
    pub runtimes: Arc<RuntimeCache>,
    /// User tokens whose signature this process has checked.
    pub verified_tokens: Arc<VerifiedTokens>,
    /// Cancelled when the server shuts down: long-lived responses (event
    /// streams) and background tasks end, so graceful shutdown can finish.
    pub shutdown: CancellationToken,
    /// Wakes this process's queue worker when a run is queued here, so it
    /// need not wait for its next poll.
    pub queue: Arc<tokio::sync::Notify>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, keyring: Keyring, config: ServerConfig) -> Self {
        Self(Arc::new(Shared {
            store,
            keyring: Arc::new(keyring),
            metrics: Arc::new(Metrics::new()),
            oauth: patchbay_oauth::Client::new(config.provider_timeouts),
            sandbox: Sandbox::new(config.sandbox.clone()),
            refresh_gates: Arc::default(),
            runtimes: Arc::default(),
            verified_tokens: Arc::default(),
            shutdown: CancellationToken::new(),
            queue: Arc::default(),
            proxy_client: proxy_client(&config.provider_timeouts),
            config: Arc::new(config),
        }))
    }
}

fn proxy_client(timeouts: &patchbay_oauth::Timeouts) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeouts.connect)
        .pool_max_idle_per_host(64)
        .build()
        // Building only fails when the TLS backend cannot start, which
        // nothing else in the process would survive either.
        .unwrap_or_default()
}
