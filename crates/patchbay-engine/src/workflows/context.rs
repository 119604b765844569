//! What running workflows needs, handed to every part of it: the store,
//! calling the integration as the run's account, decoded configurations,
//! metrics, and the wake-up of this process's queue worker.

use std::sync::Arc;
use std::time::Duration;

use patchbay_store::Store;
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::runtime::Runtimes;
use crate::upstream::Upstream;

/// How this server runs workflows, built once by the binary.
#[derive(Debug, Clone)]
pub struct WorkflowSettings {
    /// Queued runs executing at once in this process.
    pub concurrency: usize,
    /// How long a claimed job stays ours without a renewal; a crashed
    /// server's jobs are claimable again after this.
    pub lease: Duration,
    /// How often the worker looks for due jobs when it found none.
    pub poll_interval: Duration,
    /// Lets `http` steps reach loopback and private addresses. Off in
    /// production: tests and local demos turn it on.
    pub allow_private_network: bool,
    /// How much one `function` step may use.
    pub function_limits: patchbay_workflow::FunctionLimits,
    /// How long queued runs in flight may take to finish at shutdown.
    pub shutdown_grace: Duration,
}

impl Default for WorkflowSettings {
    fn default() -> Self {
        Self {
            concurrency: 16,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            allow_private_network: false,
            function_limits: patchbay_workflow::FunctionLimits::default(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Workflows {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) upstream: Upstream,
    pub(crate) runtimes: Arc<Runtimes>,
    pub(crate) metrics: Arc<Metrics>,
    /// Wakes this process's queue worker when a run is queued here, so it
    /// need not wait for its next poll.
    pub(crate) queue: Arc<Notify>,
    pub(crate) settings: Arc<WorkflowSettings>,
    pub(crate) provider_timeouts: patchbay_oauth::Timeouts,
}

impl Workflows {
    pub fn new(
        store: Arc<dyn Store>,
        upstream: Upstream,
        runtimes: Arc<Runtimes>,
        metrics: Arc<Metrics>,
        settings: WorkflowSettings,
        provider_timeouts: patchbay_oauth::Timeouts,
    ) -> Self {
        Self {
            store,
            upstream,
            runtimes,
            metrics,
            queue: Arc::default(),
            settings: Arc::new(settings),
            provider_timeouts,
        }
    }

    pub fn settings(&self) -> &WorkflowSettings {
        &self.settings
    }

    /// Wakes this process's worker: a run was just queued.
    pub fn wake_worker(&self) {
        self.queue.notify_one();
    }
}
