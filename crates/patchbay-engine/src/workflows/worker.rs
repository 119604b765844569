//! The queue worker: claims queued runs from the store and executes them.
//! Every replica runs one. A claim is a lease, renewed while the run goes
//! on; a crashed server's claims lapse and another worker takes them over,
//! so a run is neither lost nor finished twice (its end and its job's end
//! are one store write). Graceful shutdown hands unfinished claims back.
//! The worker also runs the scheduler, which queues `schedule` runs.

use std::sync::Arc;
use std::time::Duration;

use patchbay_store::{ExecutionRecord, JobRecord, Store, StoreResult, now};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::context::Workflows;
use super::executor::RunTarget;
use super::runs::{self, RUN_JOB, RunIds};

/// A job claimed this many times without finishing (the server died during
/// each) fails for good instead of taking servers down in a loop.
const MAX_ATTEMPTS: i64 = 5;

/// The running worker; [`WorkerHandle::shutdown`] stops it.
#[derive(Debug)]
pub struct WorkerHandle {
    worker: String,
    store: Arc<dyn Store>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops claiming and lets runs in flight finish for up to `grace`;
    /// runs still going then are cut off. Whatever this worker still holds
    /// goes back to the queue at once, for another server (or the next
    /// start) to run again.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            self.task.abort();
            let _ = (&mut self.task).await;
            tracing::warn!("workflow runs still going at shutdown were cut off");
        }
        match self.store.workflows().release_jobs(&self.worker).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(
                released,
                "unfinished workflow runs handed back to the queue"
            ),
            Err(err) => {
                tracing::warn!(error = %err, "claimed runs could not be handed back; their leases will lapse")
            }
        }
    }

    /// Stops at once, as a crash would: claims are left to lapse.
    pub fn abort(&self) {
        self.task.abort();
    }
}

pub fn spawn(workflows: Workflows) -> WorkerHandle {
    let worker = format!("worker-{}", Uuid::new_v4());
    let (stop, stopped) = watch::channel(false);
    let store = Arc::clone(&workflows.store);
    let task = tokio::spawn(run(workflows, worker.clone(), stopped));
    WorkerHandle {
        worker,
        store,
        stop,
        task,
    }
}

async fn run(workflows: Workflows, worker: String, mut stopped: watch::Receiver<bool>) {
    let settings = workflows.settings.clone();
    let permits = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    // Stopped with the worker, also when it is aborted.
    let heartbeat = AbortOnDrop(tokio::spawn(renew_leases(
        workflows.clone(),
        worker.clone(),
    )));
    let scheduler = AbortOnDrop(tokio::spawn(super::schedule::run(workflows.clone())));
    let _purger = AbortOnDrop(tokio::spawn(purge_finished(workflows.clone())));
    let mut running = JoinSet::new();
    let lease = runs::chrono_lease(settings.lease);
    while !*stopped.borrow() {
        while running.try_join_next().is_some() {}
        let free = permits.available_permits();
        let claimed = if free == 0 {
            Vec::new()
        } else {
            claim(&workflows, &worker, free, now() + lease).await
        };
        if claimed.is_empty() {
            tokio::select! {
                changed = stopped.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                () = workflows.queue.notified() => {}
                () = tokio::time::sleep(settings.poll_interval) => {}
            }
            continue;
        }
        for job in claimed {
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                break;
            };
            let workflows = workflows.clone();
            let worker = worker.clone();
            running.spawn(async move {
                let _permit = permit;
                if let Err(err) = run_job(&workflows, &worker, &job).await {
                    tracing::warn!(job = %job.id, error = %err, "a queued run could not be recorded; it will be retried");
                }
            });
        }
    }
    // Shutting down: runs in flight finish, as long as the caller waits.
    drop(scheduler);
    while running.join_next().await.is_some() {}
    drop(heartbeat);
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn claim(
    workflows: &Workflows,
    worker: &str,
    free: usize,
    lease_until: chrono::DateTime<chrono::Utc>,
) -> Vec<JobRecord> {
    let limit = i64::try_from(free).unwrap_or(1);
    match workflows
        .store
        .workflows()
        .claim_jobs(RUN_JOB, worker, limit, lease_until)
        .await
    {
        Ok(jobs) => jobs,
        Err(err) => {
            tracing::warn!(error = %err, "the workflow queue could not be read");
            Vec::new()
        }
    }
}

/// How long finished jobs are kept; their runs stay in Task History.
const KEEP_FINISHED_JOBS: chrono::Duration = chrono::Duration::days(1);
/// How long providers' webhook deliveries are kept, and so how long a repeated event id is
/// recognised: far longer than any provider retries a delivery.
const KEEP_INBOUND_DELIVERIES: chrono::Duration = chrono::Duration::days(30);

/// How long the hourly usage the dashboard charts is kept.
const KEEP_USAGE: chrono::Duration = chrono::Duration::days(90);

/// Deletes old finished jobs, old webhook deliveries, old usage and expired dashboard sessions
/// once an hour, so no table grows without end.
async fn purge_finished(workflows: Workflows) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let store = workflows.store.workflows();
        if let Err(err) = store.purge_finished_jobs(now() - KEEP_FINISHED_JOBS).await {
            tracing::warn!(error = %err, "finished jobs could not be purged");
        }
        if let Err(err) = store
            .purge_inbound_deliveries(now() - KEEP_INBOUND_DELIVERIES)
            .await
        {
            tracing::warn!(error = %err, "old webhook deliveries could not be purged");
        }
        let dashboard = workflows.store.dashboard();
        if let Err(err) = dashboard.purge_usage(now() - KEEP_USAGE).await {
            tracing::warn!(error = %err, "old usage could not be purged");
        }
        if let Err(err) = dashboard.purge_sessions(now()).await {
            tracing::warn!(error = %err, "expired dashboard sessions could not be purged");
        }
    }
}

/// Keeps this worker's claims alive while it runs them.
async fn renew_leases(workflows: Workflows, worker: String) {
    let lease = workflows.settings.lease;
    let mut tick = tokio::time::interval(lease / 3);
    loop {
        tick.tick().await;
        let until =
            now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30));
        if let Err(err) = workflows
            .store
            .workflows()
            .extend_job_leases(&worker, until)
            .await
        {
            tracing::warn!(error = %err, "workflow run leases could not be renewed");
        }
    }
}

async fn run_job(workflows: &Workflows, worker: &str, job: &JobRecord) -> StoreResult<()> {
    let execution = job
        .payload
        .get("executionId")
        .and_then(|v| v.as_str())
        .and_then(|v| Uuid::parse_str(v).ok());
    let record = match execution {
        Some(id) => {
            workflows
                .store
                .workflows()
                .get_execution(job.project_id, id)
                .await?
        }
        None => None,
    };
    let Some((record, _)) = record else {
        return workflows
            .store
            .workflows()
            .finish_job(
                job.id,
                worker,
                Some("the run this job carries does not exist"),
            )
            .await;
    };
    if record.status.is_final() {
        // Finished by an earlier claim whose end was written: nothing to do.
        return workflows
            .store
            .workflows()
            .finish_job(job.id, worker, None)
            .await;
    }
    let ids = RunIds::of_record(&record);
    if job.attempts > MAX_ATTEMPTS {
        let error = format!("the run was interrupted {MAX_ATTEMPTS} times and was given up");
        return runs::fail_unstartable(workflows, &ids, error, job.id).await;
    }
    match load_target(workflows, &record).await {
        Ok(target) => runs::run_queued(workflows, &ids, &target, &record.trigger, job.id).await,
        Err(error) => runs::fail_unstartable(workflows, &ids, error, job.id).await,
    }
}

/// The workflow, account and user of a queued run, as they are now.
async fn load_target(workflows: &Workflows, record: &ExecutionRecord) -> Result<RunTarget, String> {
    let unavailable = |_| "the project's configuration could not be read".to_owned();
    let project = workflows
        .store
        .projects()
        .get_project(record.project_id)
        .await
        .map_err(|_| "the project could not be read".to_owned())?
        .ok_or("the project no longer exists")?;
    let runtime = workflows
        .runtimes
        .load(&project)
        .await
        .map_err(unavailable)?;
    let workflow = runtime
        .workflow(&record.workflow_id)
        .cloned()
        .ok_or_else(|| format!("the workflow `{}` no longer exists", record.workflow_id))?;
    let integration = runtime
        .integration_by_id(workflow.integration_id)
        .cloned()
        .ok_or("the workflow's integration no longer exists")?;
    let credential = workflows
        .store
        .credentials()
        .get_credential(record.project_id, record.credential_id)
        .await
        .map_err(|_| "the account could not be read".to_owned())?
        .ok_or("the account this run was for has been disconnected")?;
    let user = workflows
        .store
        .users()
        .get_user(record.project_id, &record.user_id)
        .await
        .map_err(|_| "the user could not be read".to_owned())?
        .ok_or("the user no longer exists")?;
    // Runs recorded before accounts had several configurations ran with the default one.
    let configuration_id = match record.configuration_id {
        Some(id) if credential.configuration(id).is_none() => {
            return Err("the configuration this run was for has been destroyed".to_owned());
        }
        Some(id) => id,
        None => credential.default_configuration().id,
    };
    Ok(RunTarget {
        integration,
        workflow,
        credential,
        configuration_id,
        user,
    })
}
