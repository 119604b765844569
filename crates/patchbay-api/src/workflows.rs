//! Workflow triggers and Task History (docs/api.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `202` of `POST /sdk/triggers/{workflowId}` for a workflow without a
/// `response` step (or one whose run did not reach it): the run goes on.
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
    /// What started the run (`type`, and its body, query, headers or event
    /// payload), secrets redacted.
    pub trigger: serde_json::Value,
    pub status: ExecutionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub date_started: DateTime<Utc>,
    pub date_ended: Option<DateTime<Utc>>,
    /// Milliseconds, once the run has ended.
    pub run_duration: Option<i64>,
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
