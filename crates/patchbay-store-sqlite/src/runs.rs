//! Workflow runs, their steps, and the job queue. SQLite has one writer (this
//! crate's single write connection), so a claim — one `UPDATE ... RETURNING`
//! — can never hand the same job to two callers.

use chrono::{DateTime, Utc};
use patchbay_store::{
    ExecutionFilter, ExecutionOutcome, ExecutionRecord, ExecutionStatus, ExecutionsInHour,
    JobRecord, NewEvent, NewExecution, NewJob, StepRecord, StepStatus, StoreError, StoreResult,
    now,
};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row as _, Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::rows::{json, optional_uuid, uuid};
use crate::time::{from_millis, opt_from_millis, to_millis};

const EXECUTION_COLUMNS: &str = "id, project_id, workflow_id, integration_id, user_id, credential_id, \
     configuration_id,      trigger, status, error, started_at, ended_at, duration_ms, \
     (SELECT COUNT(*) FROM execution_steps s \
      WHERE s.execution_id = workflow_executions.id AND s.status <> 'SKIPPED') AS task_count";

pub(crate) async fn insert_execution(
    writer: &SqlitePool,
    execution: &NewExecution,
    job: Option<&NewJob>,
) -> StoreResult<bool> {
    let mut tx = writer.begin().await?;
    if let Some(job) = job
        && !insert_job(&mut tx, job).await?
    {
        return Ok(false);
    }
    insert_run(&mut tx, execution, false).await?;
    tx.commit().await?;
    Ok(true)
}

/// Queues `job`; `false`, writing nothing, when its dedupe key is taken.
pub(crate) async fn insert_job(conn: &mut SqliteConnection, job: &NewJob) -> StoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO jobs
           (id, project_id, kind, payload, dedupe_key, status, run_at, created_at,
            locked_by, locked_until, attempts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(job.id.hyphenated())
    .bind(job.project_id.hyphenated())
    .bind(&job.kind)
    .bind(Json(&job.payload))
    .bind(&job.dedupe_key)
    .bind(if job.claimed.is_some() {
        "running"
    } else {
        "queued"
    })
    .bind(to_millis(job.run_at))
    .bind(to_millis(now()))
    .bind(job.claimed.as_ref().map(|(worker, _)| worker.as_str()))
    .bind(job.claimed.as_ref().map(|(_, until)| to_millis(*until)))
    .bind(i64::from(job.claimed.is_some()))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Writes the row of a run that starts now or, `finished`, one that ended
/// when it started (a past run loaded in bulk).
pub(crate) async fn insert_run(
    conn: &mut SqliteConnection,
    execution: &NewExecution,
    finished: bool,
) -> StoreResult<()> {
    let started_at = to_millis(execution.started_at);
    sqlx::query(
        "INSERT INTO workflow_executions
           (id, project_id, workflow_id, integration_id, user_id, credential_id, trigger, status,
            started_at, ended_at, duration_ms, configuration_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(execution.id.hyphenated())
    .bind(execution.project_id.hyphenated())
    .bind(&execution.workflow_id)
    .bind(execution.integration_id.hyphenated())
    .bind(&execution.user_id)
    .bind(execution.credential_id.hyphenated())
    .bind(Json(&execution.trigger))
    .bind(execution.status.as_str())
    .bind(started_at)
    .bind(finished.then_some(started_at))
    .bind(finished.then_some(0_i64))
    .bind(execution.configuration_id.map(|id| id.hyphenated()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn start_execution(
    writer: &SqlitePool,
    project_id: Uuid,
    id: Uuid,
    started_at: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = writer.begin().await?;
    let updated = sqlx::query(
        "UPDATE workflow_executions SET status = 'RUNNING', started_at = $3
         WHERE project_id = $1 AND id = $2 AND status IN ('QUEUED', 'RUNNING')",
    )
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .bind(to_millis(started_at))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM execution_steps WHERE execution_id = $1")
        .bind(id.hyphenated())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Writes a run's end; the caller commits (announcing `events`).
pub(crate) async fn finish_execution(
    writer: &SqlitePool,
    project_id: Uuid,
    id: Uuid,
    outcome: &ExecutionOutcome,
    events: &[NewEvent],
    job: Option<Uuid>,
) -> StoreResult<sqlx::Transaction<'static, Sqlite>> {
    let mut tx = writer.begin().await?;
    let updated = sqlx::query(
        "UPDATE workflow_executions SET status = $3, error = $4, ended_at = $5, duration_ms = $6
         WHERE project_id = $1 AND id = $2 AND status IN ('QUEUED', 'RUNNING')",
    )
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .bind(outcome.status.as_str())
    .bind(&outcome.error)
    .bind(to_millis(outcome.ended_at))
    .bind(outcome.duration_ms)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM execution_steps WHERE execution_id = $1")
        .bind(id.hyphenated())
        .execute(&mut *tx)
        .await?;
    for step in &outcome.steps {
        sqlx::query(
            "INSERT INTO execution_steps
               (execution_id, seq, step_id, status, input, output, error, started_at, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.hyphenated())
        .bind(step.seq)
        .bind(&step.step_id)
        .bind(step.status.as_str())
        .bind(step.input.as_ref().map(Json))
        .bind(step.output.as_ref().map(Json))
        .bind(&step.error)
        .bind(to_millis(step.started_at))
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
        .bind(job.hyphenated())
        .bind(to_millis(now()))
        .execute(&mut *tx)
        .await?;
    }
    Ok(tx)
}

fn execution_from_row(row: &SqliteRow) -> StoreResult<ExecutionRecord> {
    let status: String = row.try_get("status")?;
    Ok(ExecutionRecord {
        id: uuid(row, "id")?,
        project_id: uuid(row, "project_id")?,
        workflow_id: row.try_get("workflow_id")?,
        integration_id: uuid(row, "integration_id")?,
        user_id: row.try_get("user_id")?,
        credential_id: uuid(row, "credential_id")?,
        configuration_id: optional_uuid(row, "configuration_id")?,
        trigger: json(row, "trigger")?,
        status: ExecutionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("execution status {status}")))?,
        error: row.try_get("error")?,
        started_at: from_millis(row.try_get("started_at")?)?,
        ended_at: opt_from_millis(row.try_get("ended_at")?)?,
        duration_ms: row.try_get("duration_ms")?,
        task_count: row.try_get("task_count")?,
    })
}

fn step_from_row(row: &SqliteRow) -> StoreResult<StepRecord> {
    let status: String = row.try_get("status")?;
    let optional_json = |column: &str| -> StoreResult<Option<serde_json::Value>> {
        Ok(row
            .try_get::<Option<Json<serde_json::Value>>, _>(column)?
            .map(|j| j.0))
    };
    Ok(StepRecord {
        seq: row.try_get("seq")?,
        step_id: row.try_get("step_id")?,
        status: StepStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("step status {status}")))?,
        input: optional_json("input")?,
        output: optional_json("output")?,
        error: row.try_get("error")?,
        started_at: from_millis(row.try_get("started_at")?)?,
        duration_ms: row.try_get("duration_ms")?,
    })
}

pub(crate) async fn get_execution(
    reader: &SqlitePool,
    project_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<(ExecutionRecord, Vec<StepRecord>)>> {
    let row = sqlx::query(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM workflow_executions WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .fetch_optional(reader)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let steps = sqlx::query(
        "SELECT seq, step_id, status, input, output, error, started_at, duration_ms
         FROM execution_steps WHERE execution_id = $1 ORDER BY seq",
    )
    .bind(id.hyphenated())
    .fetch_all(reader)
    .await?
    .iter()
    .map(step_from_row)
    .collect::<StoreResult<_>>()?;
    Ok(Some((execution_from_row(&row)?, steps)))
}

pub(crate) async fn list_executions(
    reader: &SqlitePool,
    project_id: Uuid,
    filter: &ExecutionFilter,
) -> StoreResult<Vec<ExecutionRecord>> {
    list_executions_query("", project_id, filter)
        .build()
        .fetch_all(reader)
        .await?
        .iter()
        .map(execution_from_row)
        .collect()
}

/// The statement of [`list_executions`] after `head` (`EXPLAIN QUERY PLAN `
/// in `plans.rs`). Each filter has an index ending in the page order
/// (migration 0003), so a page reads the rows it returns.
pub(crate) fn list_executions_query(
    head: &str,
    project_id: Uuid,
    filter: &ExecutionFilter,
) -> QueryBuilder<'static, Sqlite> {
    let mut query = QueryBuilder::new(format!(
        "{head}SELECT {EXECUTION_COLUMNS} FROM workflow_executions WHERE project_id = "
    ));
    push_filter(&mut query, project_id, filter);
    if let Some((at, id)) = filter.cursor {
        query
            .push(" AND (started_at, id)")
            .push(if filter.ascending { " > (" } else { " < (" })
            .push_bind(to_millis(at))
            .push(", ")
            .push_bind(id.hyphenated().to_string())
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

pub(crate) async fn count_executions(
    reader: &SqlitePool,
    project_id: Uuid,
    filter: &ExecutionFilter,
) -> StoreResult<i64> {
    Ok(count_executions_query("", project_id, filter)
        .build()
        .fetch_one(reader)
        .await?
        .try_get(0)?)
}

/// Millisecond times truncated to their hour, grouped with the status: one range read of the
/// project's `(project_id, started_at)` index.
pub(crate) async fn count_finished_by_hour(
    reader: &SqlitePool,
    project_id: Uuid,
    since: DateTime<Utc>,
) -> StoreResult<Vec<ExecutionsInHour>> {
    sqlx::query(
        "SELECT (started_at / 3600000) * 3600000 AS hour, status, COUNT(*) AS count
         FROM workflow_executions
         WHERE project_id = $1 AND started_at >= $2 AND status IN ('SUCCEEDED', 'FAILED')
         GROUP BY hour, status",
    )
    .bind(project_id.hyphenated())
    .bind(to_millis(since))
    .fetch_all(reader)
    .await?
    .iter()
    .map(|row| {
        let status: String = row.try_get("status")?;
        ExecutionsInHour::new(
            from_millis(row.try_get("hour")?)?,
            &status,
            row.try_get("count")?,
        )
    })
    .collect()
}

/// The statement of [`count_executions`] after `head`: it reads only the
/// index of its filter (a covering index), but every entry that matches;
/// see docs/api.md.
pub(crate) fn count_executions_query(
    head: &str,
    project_id: Uuid,
    filter: &ExecutionFilter,
) -> QueryBuilder<'static, Sqlite> {
    let mut query = QueryBuilder::new(format!(
        "{head}SELECT COUNT(*) FROM workflow_executions WHERE project_id = "
    ));
    push_filter(&mut query, project_id, filter);
    query
}

/// The conditions of `filter` but its cursor, after `WHERE project_id = `.
fn push_filter(
    query: &mut QueryBuilder<'static, Sqlite>,
    project_id: Uuid,
    filter: &ExecutionFilter,
) {
    query.push_bind(project_id.hyphenated().to_string());
    if let Some(user_id) = &filter.user_id {
        query.push(" AND user_id = ").push_bind(user_id.clone());
    }
    if let Some(credential_id) = filter.credential_id {
        query
            .push(" AND credential_id = ")
            .push_bind(credential_id.hyphenated().to_string());
    }
    if let Some(workflow_id) = &filter.workflow_id {
        query
            .push(" AND workflow_id = ")
            .push_bind(workflow_id.clone());
    }
    if let Some(integration_id) = filter.integration_id {
        query
            .push(" AND integration_id = ")
            .push_bind(integration_id.hyphenated().to_string());
    }
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(after) = filter.after {
        query
            .push(" AND started_at >= ")
            .push_bind(to_millis(after));
    }
    if let Some(before) = filter.before {
        query
            .push(" AND started_at < ")
            .push_bind(to_millis(before));
    }
}

pub(crate) async fn claim_jobs(
    writer: &SqlitePool,
    kind: &str,
    worker: &str,
    limit: i64,
    lease_until: DateTime<Utc>,
) -> StoreResult<Vec<JobRecord>> {
    claim_jobs_query(CLAIM_JOBS, kind, worker, limit, lease_until)
        .fetch_all(writer)
        .await?
        .iter()
        .map(|row| {
            Ok(JobRecord {
                id: uuid(row, "id")?,
                project_id: uuid(row, "project_id")?,
                kind: row.try_get("kind")?,
                payload: json(row, "payload")?,
                attempts: row.try_get("attempts")?,
            })
        })
        .collect()
}

/// The statement of [`claim_jobs`], also explained by `plans.rs`.
pub(crate) const CLAIM_JOBS: &str = "UPDATE jobs
     SET status = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1
     WHERE id IN (
       SELECT id FROM jobs
       WHERE kind = $3
         AND ((status = 'queued' AND run_at <= $4) OR (status = 'running' AND locked_until < $4))
       ORDER BY run_at LIMIT $5)
     RETURNING id, project_id, kind, payload, attempts";

pub(crate) fn claim_jobs_query<'q>(
    sql: &'q str,
    kind: &str,
    worker: &str,
    limit: i64,
    lease_until: DateTime<Utc>,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    sqlx::query(sql)
        .bind(worker.to_owned())
        .bind(to_millis(lease_until))
        .bind(kind.to_owned())
        .bind(to_millis(now()))
        .bind(limit)
}

pub(crate) async fn extend_job_leases(
    writer: &SqlitePool,
    worker: &str,
    lease_until: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(
        sqlx::query(
            "UPDATE jobs SET locked_until = $2 WHERE locked_by = $1 AND status = 'running'",
        )
        .bind(worker)
        .bind(to_millis(lease_until))
        .execute(writer)
        .await?
        .rows_affected(),
    )
}

pub(crate) async fn finish_job(
    writer: &SqlitePool,
    id: Uuid,
    worker: &str,
    error: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE jobs SET status = $3, last_error = $4, finished_at = $5, locked_by = NULL, locked_until = NULL
         WHERE id = $1 AND locked_by = $2 AND status = 'running'",
    )
    .bind(id.hyphenated())
    .bind(worker)
    .bind(if error.is_some() { "failed" } else { "done" })
    .bind(error)
    .bind(to_millis(now()))
    .execute(writer)
    .await?;
    Ok(())
}

pub(crate) async fn release_jobs(writer: &SqlitePool, worker: &str) -> StoreResult<u64> {
    Ok(sqlx::query(
        "UPDATE jobs SET status = 'queued', locked_by = NULL, locked_until = NULL,
                attempts = MAX(attempts - 1, 0)
         WHERE locked_by = $1 AND status = 'running'",
    )
    .bind(worker)
    .execute(writer)
    .await?
    .rows_affected())
}

pub(crate) async fn count_pending_jobs(reader: &SqlitePool, kind: &str) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND status IN ('queued', 'running')",
    )
    .bind(kind)
    .fetch_one(reader)
    .await?)
}

pub(crate) async fn purge_finished_jobs(
    writer: &SqlitePool,
    before: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(
        sqlx::query("DELETE FROM jobs WHERE status IN ('done', 'failed') AND finished_at < $1")
            .bind(to_millis(before))
            .execute(writer)
            .await?
            .rows_affected(),
    )
}
