//! Task History (docs/api.md): every run, with the credential it ran for, in
//! pages of 100, newest first.

use axum::extract::State;
use chrono::{DateTime, Utc};
use patchbay_api::{
    ErrorBody, ErrorCode, ExecutionPage, ExecutionStep, StepStatus, WorkflowExecution,
};
use patchbay_store::{ExecutionFilter, ExecutionRecord, ExecutionStatus, StepRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::ProjectAdmin;
use crate::error::ApiError;
use crate::extract::{PathParams, QueryParams};
use crate::state::AppState;

const PAGE: i64 = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionQuery {
    user_id: Option<String>,
    credential_id: Option<String>,
    workflow_id: Option<String>,
    integration: Option<String>,
    status: Option<String>,
    after_date: Option<String>,
    before_date: Option<String>,
    cursor: Option<String>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameter, message)
}

fn date(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| invalid(format!("{name} must be an RFC 3339 date-time.")))
}

/// A cursor is the last run of a page: `<started_at ms>.<id>`.
fn encode_cursor(record: &ExecutionRecord) -> String {
    format!("{}.{}", record.started_at.timestamp_millis(), record.id)
}

fn decode_cursor(text: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bad = || invalid("cursor is not one this API returned.");
    let (millis, id) = text.split_once('.').ok_or_else(bad)?;
    let at = millis
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(bad)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| bad())?))
}

/// The project's runs, filtered, newest first, 100 at a time.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/task-history/workflow-executions", operation_id = "listWorkflowExecutions", tag = "admin",
    params(("projectId" = Uuid, Path), ("userId" = Option<String>, Query),
           ("credentialId" = Option<Uuid>, Query), ("workflowId" = Option<String>, Query),
           ("integration" = Option<String>, Query, description = "Integration type or id"),
           ("status" = Option<String>, Query, description = "QUEUED, RUNNING, SUCCEEDED or FAILED"),
           ("afterDate" = Option<String>, Query), ("beforeDate" = Option<String>, Query),
           ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ExecutionPage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn list(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ExecutionQuery>,
) -> Result<axum::Json<ExecutionPage>, ApiError> {
    let integration_id = match &query.integration {
        Some(type_or_id) => {
            let runtime = state.engine.runtimes().load(&admin.project).await?;
            Some(runtime.require_integration(type_or_id)?.id)
        }
        None => None,
    };
    let filter = ExecutionFilter {
        user_id: query.user_id,
        credential_id: query
            .credential_id
            .as_deref()
            .map(|id| Uuid::parse_str(id).map_err(|_| invalid("credentialId must be a UUID.")))
            .transpose()?,
        workflow_id: query.workflow_id,
        integration_id,
        status: query
            .status
            .as_deref()
            .map(|text| {
                ExecutionStatus::parse(text)
                    .ok_or_else(|| invalid("status must be QUEUED, RUNNING, SUCCEEDED or FAILED."))
            })
            .transpose()?,
        after: query
            .after_date
            .as_deref()
            .map(|text| date("afterDate", text))
            .transpose()?,
        before: query
            .before_date
            .as_deref()
            .map(|text| date("beforeDate", text))
            .transpose()?,
        cursor: query.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: PAGE + 1,
    };
    let mut records = state
        .store()
        .workflows()
        .list_executions(admin.project.id, &filter)
        .await?;
    let more = records.len() > PAGE as usize;
    records.truncate(PAGE as usize);
    let next_cursor = more.then(|| records.last().map(encode_cursor)).flatten();
    Ok(axum::Json(ExecutionPage {
        data: records.into_iter().map(|r| execution(r, None)).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize)]
pub struct ExecutionPath {
    #[serde(rename = "executionId")]
    execution_id: String,
}

/// One run with its steps.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/task-history/workflow-executions/{executionId}", operation_id = "getWorkflowExecution", tag = "admin",
    params(("projectId" = Uuid, Path), ("executionId" = Uuid, Path)),
    responses((status = 200, body = WorkflowExecution), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn get(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<ExecutionPath>,
) -> Result<axum::Json<WorkflowExecution>, ApiError> {
    let not_found = || {
        ApiError::new(
            ErrorCode::ExecutionNotFound,
            "Workflow execution not found.",
        )
    };
    let id = Uuid::parse_str(&path.execution_id).map_err(|_| not_found())?;
    let (record, steps) = state
        .store()
        .workflows()
        .get_execution(admin.project.id, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(axum::Json(execution(record, Some(steps))))
}

fn execution(record: ExecutionRecord, steps: Option<Vec<StepRecord>>) -> WorkflowExecution {
    WorkflowExecution {
        id: record.id,
        project_id: record.project_id,
        workflow_id: record.workflow_id,
        integration_id: record.integration_id,
        user_id: record.user_id,
        credential_id: record.credential_id,
        trigger: record.trigger,
        status: match record.status {
            ExecutionStatus::Queued => patchbay_api::ExecutionStatus::Queued,
            ExecutionStatus::Running => patchbay_api::ExecutionStatus::Running,
            ExecutionStatus::Succeeded => patchbay_api::ExecutionStatus::Succeeded,
            ExecutionStatus::Failed => patchbay_api::ExecutionStatus::Failed,
        },
        error: record.error,
        date_started: record.started_at,
        date_ended: record.ended_at,
        run_duration: record.duration_ms,
        steps: steps.map(|steps| steps.into_iter().map(step).collect()),
    }
}

fn step(record: StepRecord) -> ExecutionStep {
    ExecutionStep {
        id: record.step_id,
        status: match record.status {
            patchbay_store::StepStatus::Running => StepStatus::Running,
            patchbay_store::StepStatus::Succeeded => StepStatus::Succeeded,
            patchbay_store::StepStatus::Failed => StepStatus::Failed,
            patchbay_store::StepStatus::Skipped => StepStatus::Skipped,
        },
        input: record.input,
        output: record.output,
        error: record.error,
        date_started: record.started_at,
        duration_ms: record.duration_ms,
    }
}
