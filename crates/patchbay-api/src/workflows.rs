//! Workflow triggers and Task History (docs/api.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `202` of a run that goes on without the caller: `POST /sdk/triggers/{workflowId}` for a
/// workflow without a `response` step (or one whose run did not reach it), and a replay of a
/// finished run (`POST …/workflow-executions/{executionId}/replay`), which names the new run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TriggerAccepted {
    pub execution_id: Uuid,
}

/// `POST /sdk/events/trigger`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppEventRequest {
    /// The event's name, as workflows' `app_event` triggers name it.
    pub name: String,
    #[serde(default)]
    pub payload: serde_json::Value,
}

/// `201` of `POST /sdk/events/trigger`: one queued run per enabled account
/// of each workflow listening to the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppEventAccepted {
    pub execution_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Waiting in the queue.
    Queued,
    Running,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepStatus {
    Running,
    Succeeded,
    Failed,
    Skipped,
}

/// One run in Task History, for exactly one credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowExecution {
    pub id: Uuid,
    pub project_id: Uuid,
    pub workflow_id: String,
    pub integration_id: Uuid,
    pub user_id: String,
    pub credential_id: Uuid,
    /// The account's configuration the run used.
    pub configuration_id: Option<Uuid>,
    /// What started the run (`type`, and its body, query, headers or event
    /// payload), secrets redacted.
    pub trigger: serde_json::Value,
    pub status: ExecutionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(with = "crate::timestamp")]
    pub date_started: DateTime<Utc>,
    #[serde(default, with = "crate::timestamp::option")]
    pub date_ended: Option<DateTime<Utc>>,
    /// Milliseconds, once the run has ended.
    pub run_duration: Option<i64>,
    /// Steps that ran (skipped ones excluded; each `foreach` iteration's
    /// steps count), as Paragon counts tasks.
    pub task_count: i64,
    /// Present when one run is read (`GET .../workflow-executions/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<ExecutionStep>>,
}

/// One executed step. Steps inside a `foreach` are named
/// `<foreach id>[<index>].<step id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStep {
    pub id: String,
    pub status: StepStatus,
    /// The step's rendered fields, secrets redacted, capped in size.
    pub input: Option<serde_json::Value>,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    #[serde(with = "crate::timestamp")]
    pub date_started: DateTime<Utc>,
    pub duration_ms: Option<i64>,
}

/// A page of Task History, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionPage {
    pub data: Vec<WorkflowExecution>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// Paragon's Task History page (`GET /projects/{projectId}/task-history/workflow-executions`):
/// the same runs and filters as [`ExecutionPage`], in Paragon's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskHistoryPage {
    pub workflow_executions: Vec<TaskHistoryExecution>,
    /// The URL of the next page (the same filters and order), `null` on the
    /// last one.
    pub next_link: Option<String>,
    /// How many runs match the filters, on every page.
    pub total: i64,
}

/// One run, as Paragon's Task History lists it, plus the account it ran as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskHistoryExecution {
    pub id: Uuid,
    pub user_id: String,
    pub workflow_id: String,
    pub status: TaskHistoryStatus,
    pub task_count: i64,
    /// Milliseconds, once the run has ended.
    pub run_duration: Option<i64>,
    #[serde(with = "crate::timestamp")]
    pub date_started: DateTime<Utc>,
    #[serde(default, with = "crate::timestamp::option")]
    pub date_ended: Option<DateTime<Utc>>,
    /// The account the run acted as.
    pub credential_id: Uuid,
    /// The account's configuration the run used.
    pub configuration_id: Option<Uuid>,
    pub integration_id: Uuid,
}

/// Paragon's execution statuses: `DELAYED` is a run waiting in the queue
/// (`QUEUED`), `EXECUTING` one running (`RUNNING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskHistoryStatus {
    Delayed,
    Executing,
    Succeeded,
    Failed,
}
