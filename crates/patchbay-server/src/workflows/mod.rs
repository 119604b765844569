//! Workflows (SPEC §6): runs for exactly one credential, their steps, the
//! durable queue that carries asynchronous runs, and schedules.

mod calls;
pub mod enabled;
pub mod engine;
pub mod runs;
pub mod schedule;
pub mod worker;

use std::time::Duration;

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
