//! Task History (docs/api.md): every run, with the credential it ran for, in
//! pages of 100, newest first; under `/api/v1` in Patchbay's shape and under
//! `/projects/{projectId}/task-history` in Paragon's.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use patchbay_api::{
    ErrorBody, ErrorCode, ExecutionPage, ExecutionStep, StepStatus, TaskHistoryExecution,
    TaskHistoryPage, TaskHistoryStatus, TriggerAccepted, WorkflowExecution,
};
use patchbay_engine::EngineError;
use patchbay_engine::workflows::replay;
use patchbay_store::{ExecutionFilter, ExecutionRecord, ExecutionStatus, StepRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::ProjectAdmin;
use crate::error::ApiError;
use crate::extract::{PathParams, QueryParams};
use crate::handlers::page_cursor;
use crate::state::AppState;

const PAGE: i64 = 100;

/// The filters and paging of both forms of the listing, read by one parser.
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
    sort_by: Option<String>,
    offset: Option<String>,
    cursor: Option<String>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameter, message)
}

/// RFC 3339, or ISO 8601 without a zone as Paragon writes it
/// (`2023-02-16T00:00:00`, `2023-02-16`), read as UTC.
fn date(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(at.and_utc());
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(NaiveTime::MIN).and_utc());
    }
    Err(invalid(format!(
        "{name} must be a date (2023-02-16), a date-time without a zone, read as UTC \
         (2023-02-16T00:00:00), or an RFC 3339 date-time (2023-02-16T00:00:00Z)."
    )))
}

/// Paragon's names are accepted beside Patchbay's.
fn status(text: &str) -> Result<ExecutionStatus, ApiError> {
    match text {
        "QUEUED" | "DELAYED" => Ok(ExecutionStatus::Queued),
        "RUNNING" | "EXECUTING" => Ok(ExecutionStatus::Running),
        _ => ExecutionStatus::parse(text).ok_or_else(|| {
            invalid(
                "status must be QUEUED (or DELAYED), RUNNING (or EXECUTING), SUCCEEDED or FAILED.",
            )
        }),
    }
}

impl ExecutionQuery {
    async fn filter(
        self,
        state: &AppState,
        admin: &ProjectAdmin,
    ) -> Result<ExecutionFilter, ApiError> {
        let integration_id = match &self.integration {
            Some(type_or_id) => {
                let runtime = state.engine.runtimes().load(&admin.project).await?;
                Some(runtime.require_integration(type_or_id)?.id)
            }
            None => None,
        };
        Ok(ExecutionFilter {
            user_id: self.user_id,
            credential_id: self
                .credential_id
                .as_deref()
                .map(|id| Uuid::parse_str(id).map_err(|_| invalid("credentialId must be a UUID.")))
                .transpose()?,
            workflow_id: self.workflow_id,
            integration_id,
            status: self.status.as_deref().map(status).transpose()?,
            after: self
                .after_date
                .as_deref()
                .map(|text| date("afterDate", text))
                .transpose()?,
            before: self
                .before_date
                .as_deref()
                .map(|text| date("beforeDate", text))
                .transpose()?,
            ascending: match self.sort_by.as_deref() {
                None | Some("DESC" | "desc") => false,
                Some("ASC" | "asc") => true,
                Some(_) => return Err(invalid("sortBy must be ASC or DESC.")),
            },
            offset: self
                .offset
                .as_deref()
                .map(|text| {
                    text.parse::<i64>()
                        .ok()
                        .filter(|offset| *offset >= 0)
                        .ok_or_else(|| invalid("offset must be a whole number, 0 or more."))
                })
                .transpose()?
                .unwrap_or(0),
            cursor: self
                .cursor
                .as_deref()
                .map(page_cursor::decode)
                .transpose()?,
            limit: PAGE + 1,
        })
    }
}

/// One page of runs and the cursor after it, for either form.
async fn page(
    state: &AppState,
    admin: &ProjectAdmin,
    filter: &ExecutionFilter,
) -> Result<(Vec<ExecutionRecord>, Option<String>), ApiError> {
    let mut records = state
        .store()
        .workflows()
        .list_executions(admin.project.id, filter)
        .await?;
    let more = records.len() > PAGE as usize;
    records.truncate(PAGE as usize);
    let next_cursor = more
        .then(|| {
            records
                .last()
                .map(|last| page_cursor::encode(last.started_at, last.id))
        })
        .flatten();
    Ok((records, next_cursor))
}

/// The project's runs, filtered, newest first, 100 at a time.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/task-history/workflow-executions", operation_id = "listWorkflowExecutions", tag = "admin",
    params(("projectId" = Uuid, Path), ("userId" = Option<String>, Query),
           ("credentialId" = Option<Uuid>, Query), ("workflowId" = Option<String>, Query),
           ("integration" = Option<String>, Query, description = "Integration type or id"),
           ("status" = Option<String>, Query, description = "QUEUED (or DELAYED), RUNNING (or EXECUTING), SUCCEEDED or FAILED"),
           ("afterDate" = Option<String>, Query, description = "Started at or after: RFC 3339, or 2023-02-16T00:00:00 / 2023-02-16 read as UTC"),
           ("beforeDate" = Option<String>, Query, description = "Started before; same forms as afterDate"),
           ("sortBy" = Option<String>, Query, description = "ASC or DESC (the default)"),
           ("offset" = Option<i64>, Query, description = "Runs to skip"),
           ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ExecutionPage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn list(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ExecutionQuery>,
) -> Result<axum::Json<ExecutionPage>, ApiError> {
    let filter = query.filter(&state, &admin).await?;
    let (records, next_cursor) = page(&state, &admin, &filter).await?;
    Ok(axum::Json(ExecutionPage {
        data: records.into_iter().map(|r| execution(r, None)).collect(),
        next_cursor,
    }))
}

/// Paragon's Task History API: the same runs, filters and pages as
/// `listWorkflowExecutions`, answered as `{workflowExecutions, nextLink, total}`.
#[utoipa::path(get, path = "/projects/{projectId}/task-history/workflow-executions", operation_id = "listTaskHistory", tag = "admin",
    params(("projectId" = Uuid, Path), ("userId" = Option<String>, Query),
           ("credentialId" = Option<Uuid>, Query), ("workflowId" = Option<String>, Query),
           ("integration" = Option<String>, Query, description = "Integration type or id"),
           ("status" = Option<String>, Query, description = "DELAYED (or QUEUED), EXECUTING (or RUNNING), SUCCEEDED or FAILED"),
           ("afterDate" = Option<String>, Query, description = "Started at or after: 2023-02-16T00:00:00 or 2023-02-16 (UTC), or RFC 3339"),
           ("beforeDate" = Option<String>, Query, description = "Started before; same forms as afterDate"),
           ("sortBy" = Option<String>, Query, description = "ASC or DESC (the default)"),
           ("offset" = Option<i64>, Query, description = "Runs to skip"),
           ("cursor" = Option<String>, Query, description = "Set by nextLink")),
    responses((status = 200, body = TaskHistoryPage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn list_paragon(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    RawQuery(raw_query): RawQuery,
    QueryParams(query): QueryParams<ExecutionQuery>,
) -> Result<axum::Json<TaskHistoryPage>, ApiError> {
    let filter = query.filter(&state, &admin).await?;
    let (records, next_cursor) = page(&state, &admin, &filter).await?;
    let total = state
        .store()
        .workflows()
        .count_executions(admin.project.id, &filter)
        .await?;
    let next_link = next_cursor.map(|cursor| {
        next_link(
            &state.config.public_url,
            admin.project.id,
            raw_query.as_deref().unwrap_or(""),
            &cursor,
        )
    });
    Ok(axum::Json(TaskHistoryPage {
        workflow_executions: records.into_iter().map(paragon_execution).collect(),
        next_link,
        total,
    }))
}

/// This request's URL on the public URL, with the same filters and order,
/// its `cursor` and `offset` replaced by the cursor after this page.
fn next_link(public_url: &str, project_id: Uuid, raw_query: &str, cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        if name != "cursor" && name != "offset" {
            query.append_pair(&name, &value);
        }
    }
    query.append_pair("cursor", cursor);
    format!(
        "{}/projects/{project_id}/task-history/workflow-executions?{}",
        public_url.trim_end_matches('/'),
        query.finish()
    )
}

fn paragon_execution(record: ExecutionRecord) -> TaskHistoryExecution {
    TaskHistoryExecution {
        id: record.id,
        user_id: record.user_id,
        workflow_id: record.workflow_id,
        status: match record.status {
            ExecutionStatus::Queued => TaskHistoryStatus::Delayed,
            ExecutionStatus::Running => TaskHistoryStatus::Executing,
            ExecutionStatus::Succeeded => TaskHistoryStatus::Succeeded,
            ExecutionStatus::Failed => TaskHistoryStatus::Failed,
        },
        task_count: record.task_count,
        run_duration: record.duration_ms,
        date_started: record.started_at,
        date_ended: record.ended_at,
        credential_id: record.credential_id,
        configuration_id: record.configuration_id,
        integration_id: record.integration_id,
    }
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
    let id = Uuid::parse_str(&path.execution_id).map_err(|_| EngineError::ExecutionNotFound)?;
    let (record, steps) = state
        .store()
        .workflows()
        .get_execution(admin.project.id, id)
        .await?
        .ok_or(EngineError::ExecutionNotFound)?;
    Ok(axum::Json(execution(record, Some(steps))))
}

/// Queues a new run of a finished run's workflow, as the same account, with the trigger
/// its record kept (`replayOf` naming the run it replays); nobody waits for its answer.
#[utoipa::path(post, path = "/api/v1/projects/{projectId}/task-history/workflow-executions/{executionId}/replay", operation_id = "replayWorkflowExecution", tag = "admin",
    params(("projectId" = Uuid, Path), ("executionId" = Uuid, Path)),
    responses((status = 202, body = TriggerAccepted), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn replay(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<ExecutionPath>,
) -> Result<(StatusCode, axum::Json<TriggerAccepted>), ApiError> {
    let workflows = state.engine.workflows();
    let execution_id = replay::replay(workflows, &admin.project, &path.execution_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(TriggerAccepted { execution_id }),
    ))
}

fn execution(record: ExecutionRecord, steps: Option<Vec<StepRecord>>) -> WorkflowExecution {
    WorkflowExecution {
        id: record.id,
        project_id: record.project_id,
        workflow_id: record.workflow_id,
        integration_id: record.integration_id,
        user_id: record.user_id,
        credential_id: record.credential_id,
        configuration_id: record.configuration_id,
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
        task_count: record.task_count,
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
