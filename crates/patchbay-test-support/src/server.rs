//! A real Patchbay server on a real socket (`127.0.0.1:0`), in the test's
//! own process.

use patchbay_core::crypto::MasterKey;
use patchbay_server::{AppState, ServerConfig};
use tokio::sync::oneshot;

use crate::TestDb;

/// Short enough that a provider that hangs fails a test quickly.
pub const PROVIDER_TIMEOUTS: patchbay_oauth::Timeouts = patchbay_oauth::Timeouts {
    connect: std::time::Duration::from_secs(2),
    total: std::time::Duration::from_secs(3),
};

/// Retries quick enough for a test to watch a receiver come back.
pub const WEBHOOK_POLICY: patchbay_server::WebhookPolicy = patchbay_server::WebhookPolicy {
    timeout: std::time::Duration::from_secs(3),
    first_retry: std::time::Duration::from_millis(100),
    max_retry_delay: std::time::Duration::from_millis(400),
    retry_window: std::time::Duration::from_secs(60),
    poll_interval: std::time::Duration::from_millis(50),
};

/// Workflow settings of test servers: `http` steps may call the test's own
/// loopback upstreams, and function limits are small enough to hit fast.
pub static WORKFLOWS: std::sync::LazyLock<patchbay_server::WorkflowSettings> =
    std::sync::LazyLock::new(|| patchbay_server::WorkflowSettings {
        allow_private_network: true,
        // Runs queued through the server wake its worker at once; the poll
        // only finds lapsed leases, so it can be unhurried.
        poll_interval: std::time::Duration::from_millis(250),
        lease: std::time::Duration::from_secs(3),
        function_limits: patchbay_server::FunctionLimits {
            memory_bytes: 32 * 1024 * 1024,
            timeout: std::time::Duration::from_millis(1500),
        },
        ..Default::default()
    });

/// The instance admin token test servers accept.
pub const ADMIN_TOKEN: &str = "test-admin-token";

#[derive(Debug)]
pub struct TestServer {
    pub base_url: String,
    /// For replicas.
    master_key: MasterKey,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    refresher: Option<tokio::task::JoinHandle<()>>,
    reloader: tokio::task::JoinHandle<()>,
    webhook_sender: tokio::task::JoinHandle<()>,
    usage_flusher: tokio::task::JoinHandle<()>,
    worker: Option<patchbay_server::WorkerHandle>,
}

impl TestServer {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with(db, true, MasterKey::generate()).await
    }

    /// A server whose configuration `adjust` changes from the tests' default.
    pub async fn configured(db: &TestDb, adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        Self::start_configured(db, true, MasterKey::generate(), adjust).await
    }

    /// A server without the background refresher, so tests decide when a
    /// token is refreshed.
    pub async fn without_refresher(db: &TestDb) -> Self {
        Self::start_with(db, false, MasterKey::generate()).await
    }

    /// Another replica beside `self`: the same database and master key.
    pub async fn replica(&self, db: &TestDb) -> Self {
        let master = MasterKey::parse(&self.master_key.to_base64()).unwrap();
        Self::start_with(db, true, master).await
    }

    async fn start_with(db: &TestDb, refresher: bool, master: MasterKey) -> Self {
        Self::start_configured(db, refresher, master, |_| {}).await
    }

    async fn start_configured(
        db: &TestDb,
        refresher: bool,
        master: MasterKey,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        let store = db.store();
        let master_key = MasterKey::parse(&master.to_base64()).unwrap();
        let keyring = patchbay_server::load_keyring(store.as_ref(), &master)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let mut config = ServerConfig {
            public_url: base_url.clone(),
            admin_token: Some(ADMIN_TOKEN.to_owned().into()),
            provider_timeouts: PROVIDER_TIMEOUTS,
            sandbox: Default::default(),
            refresh_interval: std::time::Duration::from_millis(100),
            // Tests that check API keys periodically ask for it.
            credential_check_interval: std::time::Duration::from_secs(3600),
            webhooks: WEBHOOK_POLICY,
            workflows: WORKFLOWS.clone(),
            connections: patchbay_server::ConnectionLimits::default(),
        };
        adjust(&mut config);
        let state = AppState::new(store, keyring, config);
        let refresher = refresher.then(|| state.engine.spawn_refresher());
        let reloader = state.engine.spawn_keyring_reloader(master);
        let worker = Some(state.engine.spawn_worker());
        let (stop, stopped) = oneshot::channel::<()>();
        let webhook_sender = state.engine.spawn_webhook_sender();
        let usage_flusher = state.engine.spawn_usage_flusher();
        let task = tokio::spawn(patchbay_server::serve(
            listener,
            state.clone(),
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            base_url,
            master_key,
            state,
            stop: Some(stop),
            task: Some(task),
            refresher,
            reloader,
            webhook_sender,
            usage_flusher,
            worker,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The Prometheus exposition at `/metrics`, as a scraper reads it.
    pub async fn metrics(&self) -> String {
        let response = reqwest::get(self.url("/metrics")).await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// Stops accepting, waits for requests in flight, and returns.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        if let Some(worker) = self.worker.take() {
            worker.shutdown(std::time::Duration::from_secs(5)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(refresher) = &self.refresher {
            refresher.abort();
        }
        self.reloader.abort();
        self.webhook_sender.abort();
        self.usage_flusher.abort();
        if let Some(worker) = &self.worker {
            worker.abort();
        }
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
