//! OAuth connections in progress.

use chrono::{DateTime, Utc};
use patchbay_store::{
    InstallSession, InstallStatus, NewInstallSession, StoreError, StoreResult, changed_a_row, now,
};
use sqlx::types::Json;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

const COLUMNS: &str = "id, project_id, integration_id, user_id, status, secrets, options, \
                       credential_id, error, expires_at, created_at, completed_at";

#[derive(FromRow)]
struct SessionRow {
    id: Uuid,
    project_id: Uuid,
    integration_id: Uuid,
    user_id: String,
    status: String,
    secrets: Option<Vec<u8>>,
    options: Json<serde_json::Value>,
    credential_id: Option<Uuid>,
    error: Option<String>,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

impl TryFrom<SessionRow> for InstallSession {
    type Error = StoreError;

    fn try_from(row: SessionRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.id,
            project_id: row.project_id,
            integration_id: row.integration_id,
            user_id: row.user_id,
            status: InstallStatus::parse(&row.status)
                .ok_or_else(|| StoreError::Corrupt(format!("install status {:?}", row.status)))?,
            secrets: row.secrets,
            options: row.options.0,
            credential_id: row.credential_id,
            error: row.error,
            expires_at: row.expires_at,
            created_at: row.created_at,
            completed_at: row.completed_at,
        })
    }
}

pub(crate) async fn create(pool: &PgPool, session: &NewInstallSession) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO install_sessions (id, project_id, integration_id, user_id, status, state_hash,
                                       secrets, options, expires_at, created_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9)",
    )
    .bind(session.id)
    .bind(session.project_id)
    .bind(session.integration_id)
    .bind(&session.user_id)
    .bind(&session.state_hash)
    .bind(&session.secrets)
    .bind(Json(&session.options))
    .bind(session.expires_at)
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn get(
    pool: &PgPool,
    project_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<InstallSession>> {
    let row: Option<SessionRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM install_sessions WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(TryInto::try_into).transpose()
}

/// Clearing the state in the same statement that reads the session makes
/// the state single use even when two callbacks race.
pub(crate) async fn consume_state(
    pool: &PgPool,
    state_hash: &str,
) -> StoreResult<Option<InstallSession>> {
    let row: Option<SessionRow> = sqlx::query_as(&format!(
        "UPDATE install_sessions SET state_hash = NULL
         WHERE state_hash = $1 AND status = 'pending'
         RETURNING {COLUMNS}"
    ))
    .bind(state_hash)
    .fetch_optional(pool)
    .await?;
    row.map(TryInto::try_into).transpose()
}

pub(crate) async fn rearm(
    pool: &PgPool,
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
    .bind(id)
    .execute(pool)
    .await?;
    changed_a_row(done.rows_affected())
}

pub(crate) async fn finish(
    pool: &PgPool,
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
    .bind(credential_id)
    .bind(error)
    .bind(now())
    .bind(id)
    .execute(pool)
    .await?;
    changed_a_row(done.rows_affected())
}
