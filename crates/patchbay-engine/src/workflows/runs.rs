//! Starting and ending runs: the Task History record of each, inline runs
//! (request triggers with a `response` step) and queued ones (everything
//! else), and the `task.failed` event a failed run records.

use std::time::Instant;

use patchbay_api::{EventPayload, EventType, TaskFailedEvent};
use patchbay_store::{
    ExecutionOutcome, ExecutionRecord, ExecutionStatus, NewEvent, NewExecution, NewJob, StepRecord,
    StoreError, StoreResult, now,
};
use patchbay_workflow::Redaction;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::context::Workflows;
use super::executor::{self, CustomResponse, RunTarget};
use crate::error::EngineResult;
use crate::events;

/// The job kind that carries a queued run; its payload is `{executionId}`.
pub const RUN_JOB: &str = "workflow_run";

/// Who a run belongs to, as its record and its events name it.
#[derive(Debug, Clone)]
pub struct RunIds {
    pub execution_id: Uuid,
    pub project_id: Uuid,
    pub workflow_id: String,
    pub integration_id: Uuid,
    pub user_id: String,
    pub credential_id: Uuid,
    pub configuration_id: Option<Uuid>,
}

impl RunIds {
    fn of_target(execution_id: Uuid, target: &RunTarget) -> Self {
        Self {
            execution_id,
            project_id: target.credential.project_id,
            workflow_id: target.workflow.config.id.clone(),
            integration_id: target.integration.id,
            user_id: target.credential.user_id.clone(),
            credential_id: target.credential.id,
            configuration_id: Some(target.configuration_id),
        }
    }

    pub fn of_record(record: &ExecutionRecord) -> Self {
        Self {
            execution_id: record.id,
            project_id: record.project_id,
            workflow_id: record.workflow_id.clone(),
            integration_id: record.integration_id,
            user_id: record.user_id.clone(),
            credential_id: record.credential_id,
            configuration_id: record.configuration_id,
        }
    }

    fn new_execution(
        &self,
        trigger: &Value,
        redaction: &Redaction,
        status: ExecutionStatus,
    ) -> NewExecution {
        NewExecution {
            id: self.execution_id,
            project_id: self.project_id,
            workflow_id: self.workflow_id.clone(),
            integration_id: self.integration_id,
            user_id: self.user_id.clone(),
            credential_id: self.credential_id,
            configuration_id: self.configuration_id,
            trigger: redaction.keep(trigger),
            status,
            started_at: now(),
        }
    }

    /// `task.failed`: `{executionId, workflowId, credentialId, integrationId, error}`.
    fn task_failed(&self, error: &str) -> NewEvent {
        NewEvent {
            id: Uuid::new_v4(),
            project_id: self.project_id,
            user_id: self.user_id.clone(),
            integration_id: Some(self.integration_id),
            credential_id: Some(self.credential_id),
            name: EventType::TaskFailed.as_str().to_owned(),
            payload: events::stored(&EventPayload::TaskFailed(TaskFailedEvent {
                execution_id: self.execution_id,
                workflow_id: self.workflow_id.clone(),
                credential_id: self.credential_id,
                configuration_id: self.configuration_id,
                integration_id: self.integration_id,
                error: error.to_owned(),
            })),
        }
    }
}

/// A run started inside a request: its id, and where its custom response
/// arrives (dropped without one when the run ends before a `response` step).
#[derive(Debug)]
pub struct InlineRun {
    pub execution_id: Uuid,
    pub response: oneshot::Receiver<CustomResponse>,
    /// Resolves to the run's final status.
    pub finished: tokio::task::JoinHandle<Option<ExecutionStatus>>,
}

/// Records a run as `RUNNING` and executes it on its own task, so it goes on
/// after the caller has its response (or has given up waiting). Its job is
/// inserted already claimed by this task, whose lease the task renews: if
/// the server dies mid-run, the lease lapses and a worker runs it again.
pub async fn start_inline(
    workflows: &Workflows,
    target: RunTarget,
    trigger: Value,
) -> EngineResult<InlineRun> {
    let ids = RunIds::of_target(Uuid::new_v4(), &target);
    let redaction = executor::redaction(workflows, &target).await;
    let record = ids.new_execution(&trigger, &redaction, ExecutionStatus::Running);
    let claimant = format!("inline-{}", ids.execution_id);
    let lease = workflows.settings.lease;
    let mut job = run_job(&ids, None);
    job.claimed = Some((claimant.clone(), now() + chrono_lease(lease)));
    workflows
        .store
        .workflows()
        .insert_execution(&record, Some(&job))
        .await?;
    let (sender, receiver) = oneshot::channel();
    let workflows = workflows.clone();
    let execution_id = ids.execution_id;
    let finished = tokio::spawn(async move {
        let clock = Instant::now();
        let run = executor::execute(
            &workflows,
            &target,
            execution_id,
            &trigger,
            redaction,
            Some(sender),
        );
        tokio::pin!(run);
        // The first renewal is a third of a lease away; an interval's
        // immediate first tick would still wait for the timer wheel (~1 ms).
        let period = lease / 3;
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let report = loop {
            tokio::select! {
                report = &mut run => break report,
                _ = renew.tick() => {
                    let until = now() + chrono_lease(lease);
                    if let Err(err) = workflows.store.workflows().extend_job_leases(&claimant, until).await {
                        tracing::warn!(error = %err, "a run's lease could not be renewed");
                    }
                }
            }
        };
        finish(&workflows, &ids, clock, report, Some(job.id)).await
    });
    Ok(InlineRun {
        execution_id,
        response: receiver,
        finished,
    })
}

pub fn chrono_lease(lease: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30))
}

/// The queue entry that carries a run.
fn run_job(ids: &RunIds, dedupe_key: Option<String>) -> NewJob {
    NewJob {
        id: Uuid::new_v4(),
        project_id: ids.project_id,
        kind: RUN_JOB.to_owned(),
        payload: json!({ "executionId": ids.execution_id }),
        dedupe_key,
        run_at: now(),
        claimed: None,
    }
}

/// Queues a run for the worker. With a `dedupe_key` already used, nothing
/// is queued and `None` comes back.
pub async fn enqueue(
    workflows: &Workflows,
    target: &RunTarget,
    trigger: Value,
    dedupe_key: Option<String>,
) -> EngineResult<Option<Uuid>> {
    let (record, job) = queued_run(workflows, target, &trigger, dedupe_key).await;
    let queued = workflows
        .store
        .workflows()
        .insert_execution(&record, Some(&job))
        .await?;
    Ok(queued.then_some(record.id))
}

/// The record of a queued run and the job that carries it, for the caller to write (with
/// whatever else must be written in the same transaction).
pub async fn queued_run(
    workflows: &Workflows,
    target: &RunTarget,
    trigger: &Value,
    dedupe_key: Option<String>,
) -> (NewExecution, NewJob) {
    let ids = RunIds::of_target(Uuid::new_v4(), target);
    let redaction = executor::redaction(workflows, target).await;
    let record = ids.new_execution(trigger, &redaction, ExecutionStatus::Queued);
    (record, run_job(&ids, dedupe_key))
}

/// Executes a queued run claimed through `job`, and ends it together with
/// the job.
pub async fn run_queued(
    workflows: &Workflows,
    ids: &RunIds,
    target: &RunTarget,
    trigger: &Value,
    job: Uuid,
) -> StoreResult<()> {
    workflows
        .store
        .workflows()
        .start_execution(ids.project_id, ids.execution_id, now())
        .await?;
    let clock = Instant::now();
    let redaction = executor::redaction(workflows, target).await;
    let report = executor::execute(
        workflows,
        target,
        ids.execution_id,
        trigger,
        redaction,
        None,
    )
    .await;
    record_end(workflows, ids, clock, report, Some(job)).await
}

/// Records a run that happened inside a request without a queue entry (an action's): begun at
/// `started_at`, ended with `report`. Its record is written once it has ended, so a server
/// that dies during it leaves none, and the caller, who got no answer, knows it may not have
/// happened.
pub async fn record_finished(
    workflows: &Workflows,
    ids: &RunIds,
    trigger: &Value,
    redaction: &Redaction,
    started_at: chrono::DateTime<chrono::Utc>,
    report: executor::RunReport,
    duration_ms: i64,
) -> StoreResult<()> {
    let mut record = ids.new_execution(trigger, redaction, ExecutionStatus::Running);
    record.started_at = started_at;
    workflows
        .store
        .workflows()
        .insert_execution(&record, None)
        .await?;
    end(
        workflows,
        ids,
        report.error,
        report.steps,
        duration_ms,
        None,
    )
    .await
}

/// Ends a queued run that cannot start (its account or workflow is gone).
pub async fn fail_unstartable(
    workflows: &Workflows,
    ids: &RunIds,
    error: String,
    job: Uuid,
) -> StoreResult<()> {
    let report = executor::RunReport {
        error: Some(error),
        steps: Vec::new(),
    };
    record_end(workflows, ids, Instant::now(), report, Some(job)).await
}

async fn finish(
    workflows: &Workflows,
    ids: &RunIds,
    clock: Instant,
    report: executor::RunReport,
    job: Option<Uuid>,
) -> Option<ExecutionStatus> {
    let status = if report.error.is_some() {
        ExecutionStatus::Failed
    } else {
        ExecutionStatus::Succeeded
    };
    match record_end(workflows, ids, clock, report, job).await {
        Ok(()) => Some(status),
        Err(err) => {
            tracing::error!(execution = %ids.execution_id, error = %err, "a run's end could not be recorded");
            None
        }
    }
}

/// Writes the run's end, its steps and, when it failed, `task.failed` — in
/// one store write.
async fn record_end(
    workflows: &Workflows,
    ids: &RunIds,
    clock: Instant,
    report: executor::RunReport,
    job: Option<Uuid>,
) -> StoreResult<()> {
    let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let ended = end(workflows, ids, report.error, report.steps, duration_ms, job).await;
    match ended {
        // Task History keeps nothing a backend refuses, so this is a bug;
        // still, the run must end rather than be run again forever: it
        // fails, without the steps that could not be stored.
        Err(StoreError::Refused(reason)) => {
            tracing::error!(execution = %ids.execution_id, %reason, "a run's record was refused; ending it without its steps");
            let error = "the run's steps could not be stored".to_owned();
            end(workflows, ids, Some(error), Vec::new(), duration_ms, job).await
        }
        other => other,
    }
}

/// Writes a run's end, its steps and its `task.failed` event, if it
/// failed, in one store write.
async fn end(
    workflows: &Workflows,
    ids: &RunIds,
    error: Option<String>,
    steps: Vec<StepRecord>,
    duration_ms: i64,
    job: Option<Uuid>,
) -> StoreResult<()> {
    let (status, events) = match &error {
        Some(error) => (ExecutionStatus::Failed, vec![ids.task_failed(error)]),
        None => (ExecutionStatus::Succeeded, Vec::new()),
    };
    let outcome = ExecutionOutcome {
        status,
        error,
        ended_at: now(),
        duration_ms,
        steps,
    };
    workflows
        .store
        .workflows()
        .finish_execution(ids.project_id, ids.execution_id, &outcome, &events, job)
        .await?;
    workflows.metrics.count_workflow_run(status.as_str());
    Ok(())
}
