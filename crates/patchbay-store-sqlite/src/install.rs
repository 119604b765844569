//! OAuth connections in progress.

use patchbay_store::{
    InstallSession, InstallStatus, NewInstallSession, StoreError, StoreResult, changed_a_row, now,
};
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{Row as _, SqlitePool};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use crate::rows::{json, uuid};
use crate::time::{from_millis, opt_from_millis, to_millis};

const COLUMNS: &str = "id, project_id, integration_id, user_id, status, secrets, options, \
                       credential_id, error, expires_at, created_at, completed_at";

fn session_from_row(row: &SqliteRow) -> StoreResult<InstallSession> {
    let status: String = row.try_get("status")?;
    Ok(InstallSession {
        id: uuid(row, "id")?,
        project_id: uuid(row, "project_id")?,
        integration_id: uuid(row, "integration_id")?,
        user_id: row.try_get("user_id")?,
        status: InstallStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("install status {status:?}")))?,
        secrets: row.try_get("secrets")?,
        options: json(row, "options")?,
        credential_id: row
            .try_get::<Option<Hyphenated>, _>("credential_id")?
            .map(Hyphenated::into_uuid),
        error: row.try_get("error")?,
        expires_at: from_millis(row.try_get("expires_at")?)?,
        created_at: from_millis(row.try_get("created_at")?)?,
        completed_at: opt_from_millis(row.try_get("completed_at")?)?,
    })
}

pub(crate) async fn create(pool: &SqlitePool, session: &NewInstallSession) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO install_sessions (id, project_id, integration_id, user_id, status, state_hash,
                                       secrets, options, expires_at, created_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9)",
    )
    .bind(session.id.hyphenated())
    .bind(session.project_id.hyphenated())
    .bind(session.integration_id.hyphenated())
    .bind(&session.user_id)
    .bind(&session.state_hash)
    .bind(&session.secrets)
    .bind(Json(&session.options))
    .bind(to_millis(session.expires_at))
    .bind(to_millis(now()))
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn get(
    pool: &SqlitePool,
    project_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<InstallSession>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM install_sessions WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(session_from_row).transpose()
}

pub(crate) async fn consume_state(
    pool: &SqlitePool,
    state_hash: &str,
) -> StoreResult<Option<InstallSession>> {
    let row = sqlx::query(&format!(
        "UPDATE install_sessions SET state_hash = NULL
         WHERE state_hash = $1 AND status = 'pending'
         RETURNING {COLUMNS}"
    ))
    .bind(state_hash)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(session_from_row).transpose()
}

pub(crate) async fn rearm(
    pool: &SqlitePool,
    id: Uuid,
    state_hash: &str,
    secrets: &[u8],
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE install_sessions SET state_hash = $1, secrets = $2
         WHERE id = $3 AND status = 'pending' AND state_hash IS NULL",
    )
    .bind(state_hash)
    .bind(secrets)
    .bind(id.hyphenated())
    .execute(pool)
    .await?;
    changed_a_row(done.rows_affected())
}

pub(crate) async fn finish(
    pool: &SqlitePool,
    id: Uuid,
    status: InstallStatus,
    credential_id: Option<Uuid>,
    error: Option<&str>,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE install_sessions
         SET status = $1, credential_id = $2, error = $3, completed_at = $4, state_hash = NULL, secrets = NULL
         WHERE id = $5 AND status = 'pending'",
    )
    .bind(status.as_str())
    .bind(credential_id.map(Uuid::hyphenated))
    .bind(error)
    .bind(to_millis(now()))
    .bind(id.hyphenated())
    .execute(pool)
    .await?;
    changed_a_row(done.rows_affected())
}
