use std::sync::Arc;
use std::time::Duration;

use patchbay_core::crypto::Keyring;
use patchbay_engine::{Engine, EngineConfig, WebhookPolicy, WorkflowSettings};
use patchbay_store::Store;
use secrecy::SecretString;

use crate::mcp::McpService;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::stream_slots::StreamSlots;
use crate::verified_tokens::VerifiedTokens;

/// How much a client may hold of the server.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A connection that has not sent a whole request head within this is
    /// closed: half-sent requests cannot hold connections.
    pub header_read_timeout: Duration,
    /// A request body that sends nothing for this long fails.
    pub body_idle_timeout: Duration,
    /// Connections open at once; beyond, new ones wait in the listen
    /// backlog until one closes.
    pub max_connections: usize,
    /// Event streams one user may hold open at once (per replica).
    pub max_streams_per_user: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_streams_per_user: 16,
        }
    }
}

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
    pub workflows: WorkflowSettings,
    /// What one client may hold of the server.
    pub connections: ConnectionLimits,
}

impl ServerConfig {
    fn engine(&self) -> EngineConfig {
        EngineConfig {
            provider_timeouts: self.provider_timeouts,
            refresh_interval: self.refresh_interval,
            credential_check_interval: self.credential_check_interval,
            webhooks: self.webhooks,
            workflows: self.workflows.clone(),
            public_url: self.public_url.clone(),
        }
    }
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
    /// The domain: every handler's work is done by it.
    pub engine: Engine,
    pub config: Arc<ServerConfig>,
    /// The fake provider under `/sandbox`. Its state lives in this process
    /// only: it is a demo and test aid, not a replicated service.
    pub sandbox: Sandbox,
    /// User tokens whose signature this process has checked.
    pub verified_tokens: Arc<VerifiedTokens>,
    /// Event streams open on this replica, per user.
    pub streams: Arc<StreamSlots>,
    /// The MCP server's protocol service (`mcp.rs`).
    pub mcp: McpService,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, keyring: Keyring, config: ServerConfig) -> Self {
        let engine = Engine::new(store, keyring, config.engine());
        Self(Arc::new(Shared {
            mcp: crate::mcp::service(engine.clone()),
            engine,
            sandbox: Sandbox::new(config.sandbox.clone()),
            verified_tokens: Arc::default(),
            streams: Arc::default(),
            config: Arc::new(config),
        }))
    }

    /// The store, for handlers that only read or write records.
    pub fn store(&self) -> &dyn Store {
        self.engine.store().as_ref()
    }
}
