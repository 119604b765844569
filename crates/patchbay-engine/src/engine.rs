//! The one handle every front door (the HTTP API, background tasks, the
//! command line) holds: cheap to clone, built once per process, owning the
//! services and handing each only what it uses.

use std::sync::Arc;
use std::time::Duration;

use patchbay_core::crypto::{Keyring, MasterKey};
use patchbay_store::Store;
use tokio_util::sync::CancellationToken;

use crate::connect::Connector;
use crate::inbound::Inbound;
use crate::keyring;
use crate::metrics::Metrics;
use crate::refresher::{self, Refresher};
use crate::runtime::Runtimes;
use crate::tokens::Tokens;
use crate::upstream::Upstream;
use crate::webhooks::{self, WebhookPolicy, WebhookSender};
use crate::workflows::worker::{self, WorkerHandle};
use crate::workflows::{WorkflowSettings, Workflows};

/// How the engine behaves, built once by the binary.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Connect and total timeouts of every request to a provider.
    pub provider_timeouts: patchbay_oauth::Timeouts,
    /// How often the background refresher looks for tokens due for renewal.
    pub refresh_interval: Duration,
    /// How often API-key and basic-auth accounts are checked with their
    /// provider's verification request (when it has one).
    pub credential_check_interval: Duration,
    /// How webhooks are attempted and retried.
    pub webhooks: WebhookPolicy,
    /// The workflow queue worker and the limits of function steps.
    pub workflows: WorkflowSettings,
    /// Where browsers and providers reach this deployment: the base of the webhook URLs
    /// accounts register with their providers.
    pub public_url: String,
}

#[derive(Debug, Clone)]
pub struct Engine(Arc<Parts>);

#[derive(Debug)]
struct Parts {
    store: Arc<dyn Store>,
    keyring: Arc<Keyring>,
    metrics: Arc<Metrics>,
    runtimes: Arc<Runtimes>,
    upstream: Upstream,
    workflows: Workflows,
    connector: Connector,
    webhooks: WebhookSender,
    refresh_interval: Duration,
    credential_check_interval: Duration,
    shutdown: CancellationToken,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, keyring: Keyring, config: EngineConfig) -> Self {
        let keyring = Arc::new(keyring);
        let metrics = Arc::new(Metrics::new());
        let runtimes = Arc::new(Runtimes::new(Arc::clone(&store)));
        let tokens = Tokens::new(
            Arc::clone(&store),
            Arc::clone(&keyring),
            Arc::clone(&metrics),
            config.provider_timeouts,
            config.credential_check_interval,
        );
        let upstream = Upstream::new(tokens, Arc::clone(&keyring), config.provider_timeouts);
        let workflows = Workflows::new(
            Arc::clone(&store),
            upstream.clone(),
            Arc::clone(&runtimes),
            Arc::clone(&metrics),
            config.workflows,
            config.provider_timeouts,
        );
        let connector = Connector {
            store: Arc::clone(&store),
            keyring: Arc::clone(&keyring),
            workflows: workflows.clone(),
            public_url: Arc::from(config.public_url.as_str()),
        };
        let shutdown = CancellationToken::new();
        let webhooks = WebhookSender {
            store: Arc::clone(&store),
            keyring: Arc::clone(&keyring),
            metrics: Arc::clone(&metrics),
            policy: config.webhooks,
            shutdown: shutdown.clone(),
        };
        Self(Arc::new(Parts {
            store,
            keyring,
            metrics,
            runtimes,
            upstream,
            workflows,
            connector,
            webhooks,
            refresh_interval: config.refresh_interval,
            credential_check_interval: config.credential_check_interval,
            shutdown,
        }))
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
    }

    pub fn keyring(&self) -> &Arc<Keyring> {
        &self.0.keyring
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Decoded project configurations.
    pub fn runtimes(&self) -> &Runtimes {
        &self.0.runtimes
    }

    /// The token lifecycle.
    pub fn tokens(&self) -> &Tokens {
        self.0.upstream.tokens()
    }

    /// Talks to providers while connecting: token exchange, account
    /// identification, key verification.
    pub fn oauth(&self) -> &patchbay_oauth::Client {
        self.tokens().oauth()
    }

    /// Calling an integration's API as an account.
    pub fn upstream(&self) -> &Upstream {
        &self.0.upstream
    }

    pub fn workflows(&self) -> &Workflows {
        &self.0.workflows
    }

    /// Receiving providers' webhook deliveries.
    pub fn inbound(&self) -> Inbound<'_> {
        Inbound {
            workflows: &self.0.workflows,
            keyring: &self.0.keyring,
        }
    }

    /// Storing newly authorized accounts.
    pub fn connector(&self) -> &Connector {
        &self.0.connector
    }

    /// How often API-key and basic-auth accounts are checked again.
    pub fn credential_check_interval(&self) -> Duration {
        self.0.credential_check_interval
    }

    /// Cancelled when the process shuts down: long-lived work (event
    /// streams, the webhook sender) ends, so a graceful shutdown finishes.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.0.shutdown
    }

    /// Starts the background token refresher; abort the handle to stop it.
    pub fn spawn_refresher(&self) -> tokio::task::JoinHandle<()> {
        let refresher = Refresher {
            store: Arc::clone(&self.0.store),
            tokens: self.tokens().clone(),
            runtimes: Arc::clone(&self.0.runtimes),
        };
        refresher::spawn(refresher, self.0.refresh_interval)
    }

    /// Starts the webhook sender; it stops with [`Self::shutdown`].
    pub fn spawn_webhook_sender(&self) -> tokio::task::JoinHandle<()> {
        webhooks::spawn(self.0.webhooks.clone())
    }

    /// Starts the workflow queue worker and the scheduler.
    pub fn spawn_worker(&self) -> WorkerHandle {
        worker::spawn(self.0.workflows.clone())
    }

    /// Adds the usage counted in memory to the store every few seconds, and once more at
    /// shutdown ([`Self::shutdown`]).
    pub fn spawn_usage_flusher(&self) -> tokio::task::JoinHandle<()> {
        crate::usage::spawn_flusher(
            Arc::clone(self.0.metrics.usage()),
            Arc::clone(&self.0.store),
            self.0.shutdown.clone(),
        )
    }

    /// Keeps the keyring in step with the stored data keys.
    pub fn spawn_keyring_reloader(&self, master: MasterKey) -> tokio::task::JoinHandle<()> {
        keyring::spawn_keyring_reloader(
            Arc::clone(&self.0.store),
            Arc::clone(&self.0.keyring),
            master,
        )
    }
}
