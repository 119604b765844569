//! Workflow runs, their steps, and the job queue. Claiming uses
//! `FOR UPDATE SKIP LOCKED`, so replicas polling at once each take different
//! jobs and none waits on another's claim.

use chrono::{DateTime, Utc};
use patchbay_store::{
    ExecutionFilter, ExecutionOutcome, ExecutionRecord, ExecutionStatus, ExecutionsInHour,
    JobRecord, NewEvent, NewExecution, NewJob, StepRecord, StepStatus, StoreError, StoreResult,
    now,
};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

const EXECUTION_COLUMNS: &str = "id, project_id, workflow_id, integration_id, user_id, credential_id, \
     configuration_id,      trigger, status, error, started_at, ended_at, duration_ms, \
     (SELECT COUNT(*) FROM execution_steps s \
      WHERE s.execution_id = workflow_executions.id AND s.status <> 'SKIPPED') AS task_count";

pub(crate) async fn insert_execution(
    pool: &PgPool,
    execution: &NewExecution,
    job: Option<&NewJob>,
) -> StoreResult<bool> {
    let mut tx = pool.begin().await?;
    if let Some(job) = job
        && !insert_job(&mut tx, job).await?
    {
        return Ok(false);
    }
    insert_run(&mut tx, execution).await?;
    tx.commit().await?;
    Ok(true)
}

/// Queues `job`; `false`, writing nothing, when its dedupe key is taken.
pub(crate) async fn insert_job(conn: &mut PgConnection, job: &NewJob) -> StoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO jobs
           (id, project_id, kind, payload, dedupe_key, status, run_at, created_at,
            locked_by, locked_until, attempts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(job.id)
    .bind(job.project_id)
    .bind(&job.kind)
    .bind(Json(&job.payload))
    .bind(&job.dedupe_key)
    .bind(if job.claimed.is_some() {
        "running"
    } else {
        "queued"
    })
    .bind(job.run_at)
    .bind(now())
    .bind(job.claimed.as_ref().map(|(worker, _)| worker.as_str()))
    .bind(job.claimed.as_ref().map(|(_, until)| *until))
    .bind(i64::from(job.claimed.is_some()))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Writes the row of a run that starts now.
pub(crate) async fn insert_run(
    conn: &mut PgConnection,
    execution: &NewExecution,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO workflow_executions
           (id, project_id, workflow_id, integration_id, user_id, credential_id, trigger, status, started_at,
            configuration_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(execution.id)
    .bind(execution.project_id)
    .bind(&execution.workflow_id)
    .bind(execution.integration_id)
    .bind(&execution.user_id)
    .bind(execution.credential_id)
    .bind(Json(&execution.trigger))
    .bind(execution.status.as_str())
    .bind(execution.started_at)
    .bind(execution.configuration_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn start_execution(
    pool: &PgPool,
    project_id: Uuid,
    id: Uuid,
    started_at: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE workflow_executions SET status = 'RUNNING', started_at = $3
         WHERE project_id = $1 AND id = $2 AND status IN ('QUEUED', 'RUNNING')",
    )
    .bind(project_id)
    .bind(id)
    .bind(started_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM execution_steps WHERE execution_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn finish_execution(
    pool: &PgPool,
    project_id: Uuid,
    id: Uuid,
    outcome: &ExecutionOutcome,
    events: &[NewEvent],
    job: Option<Uuid>,
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE workflow_executions SET status = $3, error = $4, ended_at = $5, duration_ms = $6
         WHERE project_id = $1 AND id = $2 AND status IN ('QUEUED', 'RUNNING')",
    )
    .bind(project_id)
    .bind(id)
    .bind(outcome.status.as_str())
    .bind(&outcome.error)
    .bind(outcome.ended_at)
    .bind(outcome.duration_ms)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM execution_steps WHERE execution_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for step in &outcome.steps {
        sqlx::query(
            "INSERT INTO execution_steps
               (execution_id, seq, step_id, status, input, output, error, started_at, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(step.seq)
        .bind(&step.step_id)
        .bind(step.status.as_str())
        .bind(step.input.as_ref().map(Json))
        .bind(step.output.as_ref().map(Json))
        .bind(&step.error)
        .bind(step.started_at)
        .bind(step.duration_ms)
        .execute(&mut *tx)
        .await?;
    }
    crate::events::insert(&mut tx, events).await?;
    if let Some(job) = job {
        sqlx::query(
            "UPDATE jobs SET status = 'done', finished_at = $2, locked_by = NULL, locked_until = NULL
             WHERE id = $1",
        )
        .bind(job)
        .bind(now())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[derive(FromRow)]
struct ExecutionRow {
    id: Uuid,
    project_id: Uuid,
    workflow_id: String,
    integration_id: Uuid,
    user_id: String,
    credential_id: Uuid,
    configuration_id: Option<Uuid>,
    trigger: Json<serde_json::Value>,
    status: String,
    error: Option<String>,
    started_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    duration_ms: Option<i64>,
    task_count: i64,
}

impl TryFrom<ExecutionRow> for ExecutionRecord {
    type Error = StoreError;

    fn try_from(row: ExecutionRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.id,
            project_id: row.project_id,
            workflow_id: row.workflow_id,
            integration_id: row.integration_id,
            user_id: row.user_id,
            credential_id: row.credential_id,
            configuration_id: row.configuration_id,
            trigger: row.trigger.0,
            status: ExecutionStatus::parse(&row.status)
                .ok_or_else(|| StoreError::Corrupt(format!("execution status {}", row.status)))?,
            error: row.error,
            started_at: row.started_at,
            ended_at: row.ended_at,
            duration_ms: row.duration_ms,
            task_count: row.task_count,
        })
    }
}

#[derive(FromRow)]
struct StepRow {
    seq: i64,
    step_id: String,
    status: String,
    input: Option<Json<serde_json::Value>>,
    output: Option<Json<serde_json::Value>>,
    error: Option<String>,
    started_at: DateTime<Utc>,
    duration_ms: Option<i64>,
}

impl TryFrom<StepRow> for StepRecord {
    type Error = StoreError;

    fn try_from(row: StepRow) -> StoreResult<Self> {
        Ok(Self {
            seq: row.seq,
            step_id: row.step_id,
            status: StepStatus::parse(&row.status)
                .ok_or_else(|| StoreError::Corrupt(format!("step status {}", row.status)))?,
            input: row.input.map(|j| j.0),
            output: row.output.map(|j| j.0),
            error: row.error,
            started_at: row.started_at,
            duration_ms: row.duration_ms,
        })
    }
}

pub(crate) async fn get_execution(
    pool: &PgPool,
    project_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<(ExecutionRecord, Vec<StepRecord>)>> {
    let row: Option<ExecutionRow> = sqlx::query_as(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM workflow_executions WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let steps: Vec<StepRow> = sqlx::query_as(
        "SELECT seq, step_id, status, input, output, error, started_at, duration_ms
         FROM execution_steps WHERE execution_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(Some((
        row.try_into()?,
        steps
            .into_iter()
            .map(StepRecord::try_from)
            .collect::<StoreResult<_>>()?,
    )))
}

pub(crate) async fn list_executions(
    pool: &PgPool,
    project_id: Uuid,
    filter: &ExecutionFilter,
) -> StoreResult<Vec<ExecutionRecord>> {
    list_executions_query("", project_id, filter)
        .build_query_as::<ExecutionRow>()
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(ExecutionRecord::try_from)
        .collect()
}

/// The statement of [`list_executions`] after `head` (`EXPLAIN ` in
/// `plans.rs`). Each filter has an index ending in the page order
/// (migration 0003), so a page reads the rows it returns.
pub(crate) fn list_executions_query(
    head: &str,
    project_id: Uuid,
    filter: &ExecutionFilter,
) -> QueryBuilder<'static, Postgres> {
    let mut query = QueryBuilder::new(format!(
        "{head}SELECT {EXECUTION_COLUMNS} FROM workflow_executions WHERE project_id = "
    ));
    push_filter(&mut query, project_id, filter);
    if let Some((at, id)) = filter.cursor {
        query
            .push(" AND (started_at, id)")
            .push(if filter.ascending { " > (" } else { " < (" })
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    let order = if filter.ascending { "ASC" } else { "DESC" };
    query
        .push(format!(" ORDER BY started_at {order}, id {order} LIMIT "))
        .push_bind(filter.limit)
        .push(" OFFSET ")
        .push_bind(filter.offset);
    query
}

/// Times truncated to their UTC hour (whatever the session's time zone), grouped with the
/// status: one range read of the project's `(project_id, started_at)` index.
pub(crate) async fn count_finished_by_hour(
    pool: &PgPool,
    project_id: Uuid,
    since: DateTime<Utc>,
) -> StoreResult<Vec<ExecutionsInHour>> {
    let rows: Vec<(DateTime<Utc>, String, i64)> = sqlx::query_as(
        "SELECT date_trunc('hour', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
                status, COUNT(*)
         FROM workflow_executions
         WHERE project_id = $1 AND started_at >= $2 AND status IN ('SUCCEEDED', 'FAILED')
         GROUP BY 1, 2",
    )
    .bind(project_id)
    .bind(since)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(hour, status, count)| ExecutionsInHour::new(hour, &status, count))
        .collect()
}

pub(crate) async fn count_executions(
    pool: &PgPool,
    project_id: Uuid,
    filter: &ExecutionFilter,
) -> StoreResult<i64> {
    let (count,): (i64,) = count_executions_query("", project_id, filter)
        .build_query_as()
        .fetch_one(pool)
        .await?;
    Ok(count)
}

/// The statement of [`count_executions`] after `head`: it reads only the
/// index of its filter (an index-only scan once vacuum has marked the pages
/// all-visible), but every entry that matches; see docs/api.md.
pub(crate) fn count_executions_query(
    head: &str,
    project_id: Uuid,
    filter: &ExecutionFilter,
) -> QueryBuilder<'static, Postgres> {
    let mut query = QueryBuilder::new(format!(
        "{head}SELECT COUNT(*) FROM workflow_executions WHERE project_id = "
    ));
    push_filter(&mut query, project_id, filter);
    query
}

/// The conditions of `filter` but its cursor, after `WHERE project_id = `.
fn push_filter(
    query: &mut QueryBuilder<'static, Postgres>,
    project_id: Uuid,
    filter: &ExecutionFilter,
) {
    query.push_bind(project_id);
    if let Some(user_id) = &filter.user_id {
        query.push(" AND user_id = ").push_bind(user_id.clone());
    }
    if let Some(credential_id) = filter.credential_id {
        query.push(" AND credential_id = ").push_bind(credential_id);
    }
    if let Some(workflow_id) = &filter.workflow_id {
        query
            .push(" AND workflow_id = ")
            .push_bind(workflow_id.clone());
    }
    if let Some(integration_id) = filter.integration_id {
        query
            .push(" AND integration_id = ")
            .push_bind(integration_id);
    }
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(after) = filter.after {
        query.push(" AND started_at >= ").push_bind(after);
    }
    if let Some(before) = filter.before {
        query.push(" AND started_at < ").push_bind(before);
    }
}

#[derive(FromRow)]
struct JobRow {
    id: Uuid,
    project_id: Uuid,
    kind: String,
    payload: Json<serde_json::Value>,
    attempts: i64,
}

pub(crate) async fn claim_jobs(
    pool: &PgPool,
    kind: &str,
    worker: &str,
    limit: i64,
    lease_until: DateTime<Utc>,
) -> StoreResult<Vec<JobRecord>> {
    let rows = claim_jobs_query(CLAIM_JOBS, kind, worker, limit, lease_until)
        .try_map(|row: PgRow| JobRow::from_row(&row))
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| JobRecord {
            id: row.id,
            project_id: row.project_id,
            kind: row.kind,
            payload: row.payload.0,
            attempts: row.attempts,
        })
        .collect())
}

/// The statement of [`claim_jobs`], also explained by `plans.rs`.
pub(crate) const CLAIM_JOBS: &str = "UPDATE jobs
     SET status = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1
     WHERE id IN (
       SELECT id FROM jobs
       WHERE kind = $3
         AND ((status = 'queued' AND run_at <= $4) OR (status = 'running' AND locked_until < $4))
       ORDER BY run_at LIMIT $5
       FOR UPDATE SKIP LOCKED)
     RETURNING id, project_id, kind, payload, attempts";

pub(crate) fn claim_jobs_query<'q>(
    sql: &'q str,
    kind: &str,
    worker: &str,
    limit: i64,
    lease_until: DateTime<Utc>,
) -> Query<'q, Postgres, PgArguments> {
    sqlx::query(sql)
        .bind(worker.to_owned())
        .bind(lease_until)
        .bind(kind.to_owned())
        .bind(now())
        .bind(limit)
}

pub(crate) async fn extend_job_leases(
    pool: &PgPool,
    worker: &str,
    lease_until: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(
        sqlx::query(
            "UPDATE jobs SET locked_until = $2 WHERE locked_by = $1 AND status = 'running'",
        )
        .bind(worker)
        .bind(lease_until)
        .execute(pool)
        .await?
        .rows_affected(),
    )
}

pub(crate) async fn finish_job(
    pool: &PgPool,
    id: Uuid,
    worker: &str,
    error: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE jobs SET status = $3, last_error = $4, finished_at = $5, locked_by = NULL, locked_until = NULL
         WHERE id = $1 AND locked_by = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(worker)
    .bind(if error.is_some() { "failed" } else { "done" })
    .bind(error)
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn release_jobs(pool: &PgPool, worker: &str) -> StoreResult<u64> {
    Ok(sqlx::query(
        "UPDATE jobs SET status = 'queued', locked_by = NULL, locked_until = NULL,
                attempts = GREATEST(attempts - 1, 0)
         WHERE locked_by = $1 AND status = 'running'",
    )
    .bind(worker)
    .execute(pool)
    .await?
    .rows_affected())
}

pub(crate) async fn count_pending_jobs(pool: &PgPool, kind: &str) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND status IN ('queued', 'running')",
    )
    .bind(kind)
    .fetch_one(pool)
    .await?)
}

pub(crate) async fn purge_finished_jobs(pool: &PgPool, before: DateTime<Utc>) -> StoreResult<u64> {
    Ok(
        sqlx::query("DELETE FROM jobs WHERE status IN ('done', 'failed') AND finished_at < $1")
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
