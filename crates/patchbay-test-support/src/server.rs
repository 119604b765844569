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

/// Workflow settings of test servers: `http` steps may call the test's own
/// loopback upstreams, and function limits are small enough to hit fast.
pub static WORKFLOWS: std::sync::LazyLock<patchbay_server::WorkflowSettings> =
    std::sync::LazyLock::new(|| patchbay_server::WorkflowSettings {
        allow_private_network: true,
        poll_interval: std::time::Duration::from_millis(50),
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
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    refresher: Option<tokio::task::JoinHandle<()>>,
    reloader: tokio::task::JoinHandle<()>,
    worker: Option<patchbay_server::WorkerHandle>,
}

impl TestServer {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with(db, true).await
    }

    /// A server without the background refresher, so tests decide when a
    /// token is refreshed.
    pub async fn without_refresher(db: &TestDb) -> Self {
        Self::start_with(db, false).await
    }

    async fn start_with(db: &TestDb, refresher: bool) -> Self {
        let store = db.store();
        let master = MasterKey::generate();
        let keyring = patchbay_server::load_keyring(store.as_ref(), &master)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(
            store,
            keyring,
            ServerConfig {
                public_url: base_url.clone(),
                admin_token: Some(ADMIN_TOKEN.to_owned().into()),
                provider_timeouts: PROVIDER_TIMEOUTS,
                sandbox: Default::default(),
                refresh_interval: std::time::Duration::from_millis(100),
                workflows: WORKFLOWS.clone(),
            },
        );
        let refresher = refresher.then(|| patchbay_server::spawn_refresher(state.clone()));
        let reloader = patchbay_server::spawn_keyring_reloader(state.clone(), master);
        let worker = Some(patchbay_server::spawn_worker(state.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(patchbay_server::serve(
            listener,
            patchbay_server::router(state.clone()),
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            base_url,
            state,
            stop: Some(stop),
            task: Some(task),
            refresher,
            reloader,
            worker,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
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
        if let Some(worker) = &self.worker {
            worker.abort();
        }
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
