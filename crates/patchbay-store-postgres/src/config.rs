//! Signing keys and the applied configuration: settings, integrations,
//! workflows.

use chrono::{DateTime, Utc};
use patchbay_store::{
    ConfigWrite, IntegrationRecord, NewEvent, NewSigningKey, SigningKeyRecord, StoreError,
    StoreResult, WorkflowRecord, check_active_keys, events_match_deleted_accounts, now,
};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

#[derive(FromRow)]
struct SigningKeyRow {
    project_id: Uuid,
    kid: String,
    algorithm: String,
    public_key_pem: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<SigningKeyRow> for SigningKeyRecord {
    fn from(row: SigningKeyRow) -> Self {
        Self {
            project_id: row.project_id,
            kid: row.kid,
            algorithm: row.algorithm,
            public_key_pem: row.public_key_pem,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// Inside the caller's transaction, which holds the lock on the project's
/// signing keys (`lock_project_keys`).
pub(crate) async fn insert_signing_key(
    conn: &mut PgConnection,
    key: &NewSigningKey,
    max_active: usize,
) -> StoreResult<SigningKeyRecord> {
    let active: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM signing_keys WHERE project_id = $1 AND revoked_at IS NULL",
    )
    .bind(key.project_id)
    .fetch_one(&mut *conn)
    .await?;
    check_active_keys(active, max_active)?;
    let row: SigningKeyRow = sqlx::query_as(
        "INSERT INTO signing_keys (project_id, kid, algorithm, public_key_pem, created_at)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING project_id, kid, algorithm, public_key_pem, created_at, revoked_at",
    )
    .bind(key.project_id)
    .bind(&key.kid)
    .bind(&key.algorithm)
    .bind(&key.public_key_pem)
    .bind(now())
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.into())
}

pub(crate) async fn list_signing_keys(
    pool: &PgPool,
    project_id: Uuid,
) -> StoreResult<Vec<SigningKeyRecord>> {
    let rows: Vec<SigningKeyRow> = sqlx::query_as(
        "SELECT project_id, kid, algorithm, public_key_pem, created_at, revoked_at
         FROM signing_keys WHERE project_id = $1 ORDER BY created_at, kid",
    )
    .bind(project_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub(crate) async fn revoke_signing_key(
    pool: &PgPool,
    project_id: Uuid,
    kid: &str,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE signing_keys SET revoked_at = $1
         WHERE project_id = $2 AND kid = $3 AND revoked_at IS NULL",
    )
    .bind(now())
    .bind(project_id)
    .bind(kid)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Replaces the configuration inside the caller's transaction. The project
/// row is locked first, so two documents applied at once are applied one
/// after the other.
/// Replaces the configuration inside the caller's transaction. The caller
/// records `deleted`, the events of the accounts that removed integrations
/// take with them, once this has checked that they are exactly those.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    project_id: Uuid,
    config: &ConfigWrite,
    deleted: &[NewEvent],
) -> StoreResult<()> {
    let at = now();
    let updated = sqlx::query(
        "UPDATE projects SET settings = $1, config_document = $2,
                config_version = config_version + 1, updated_at = $3
         WHERE id = $4",
    )
    .bind(Json(&config.settings))
    .bind(Json(&config.document))
    .bind(at)
    .bind(project_id)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    crate::dashboard::keep_config_version(&mut *conn, project_id, &config.document).await?;

    // Workflows reference integrations, so they go first and come back last.
    sqlx::query("DELETE FROM workflows WHERE project_id = $1")
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    let kept: Vec<String> = config
        .integrations
        .iter()
        .map(|i| i.type_name.clone())
        .collect();
    // Locking the removed integrations waits for transactions connecting an
    // account to one of them (the foreign key check holds a key-share lock)
    // and holds off new ones until this commits, so the accounts read next
    // are exactly those the delete cascades to.
    let removed: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM integrations WHERE project_id = $1 AND NOT (type = ANY($2))
         ORDER BY id FOR UPDATE",
    )
    .bind(project_id)
    .bind(&kept)
    .fetch_all(&mut *conn)
    .await?;
    let accounts: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM credentials WHERE integration_id = ANY($1)")
            .bind(&removed)
            .fetch_all(&mut *conn)
            .await?;
    events_match_deleted_accounts(&accounts, deleted)?;
    sqlx::query("DELETE FROM integrations WHERE id = ANY($1)")
        .bind(&removed)
        .execute(&mut *conn)
        .await?;
    for (position, integration) in config.integrations.iter().enumerate() {
        let (keep, secret) = integration.client_secret.as_columns();
        let (keep_webhook, webhook_secret) = integration.webhook_secret.as_columns();
        sqlx::query(
            "INSERT INTO integrations
               (id, project_id, type, definition, client_secret, webhook_secret, position, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $9, $8, $6, $6)
             ON CONFLICT (project_id, type) DO UPDATE SET
                definition = excluded.definition,
                position = excluded.position,
                client_secret = CASE WHEN $7 THEN integrations.client_secret ELSE excluded.client_secret END,
                webhook_secret = CASE WHEN $10 THEN integrations.webhook_secret ELSE excluded.webhook_secret END,
                updated_at = excluded.updated_at",
        )
        .bind(integration.id)
        .bind(project_id)
        .bind(&integration.type_name)
        .bind(Json(&integration.definition))
        .bind(secret)
        .bind(at)
        .bind(keep)
        .bind(position as i64)
        .bind(webhook_secret)
        .bind(keep_webhook)
        .execute(&mut *conn)
        .await?;
    }
    for (position, workflow) in config.workflows.iter().enumerate() {
        sqlx::query(
            "INSERT INTO workflows (project_id, id, integration_id, trigger_type, trigger_event, definition, position, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(project_id)
        .bind(&workflow.id)
        .bind(workflow.integration_id)
        .bind(&workflow.trigger_type)
        .bind(&workflow.trigger_event)
        .bind(Json(&workflow.definition))
        .bind(position as i64)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn document(
    pool: &PgPool,
    project_id: Uuid,
) -> StoreResult<Option<serde_json::Value>> {
    let document: Option<Option<Json<serde_json::Value>>> =
        sqlx::query_scalar("SELECT config_document FROM projects WHERE id = $1")
            .bind(project_id)
            .fetch_optional(pool)
            .await?;
    Ok(document.flatten().map(|json| json.0))
}

#[derive(FromRow)]
struct IntegrationRow {
    id: Uuid,
    project_id: Uuid,
    #[sqlx(rename = "type")]
    type_name: String,
    definition: Json<serde_json::Value>,
    client_secret: Option<Vec<u8>>,
    webhook_secret: Option<Vec<u8>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

pub(crate) async fn list_integrations(
    pool: &PgPool,
    project_id: Uuid,
) -> StoreResult<Vec<IntegrationRecord>> {
    let rows: Vec<IntegrationRow> = sqlx::query_as(
        "SELECT id, project_id, type, definition, client_secret, webhook_secret, created_at, updated_at
         FROM integrations WHERE project_id = $1 ORDER BY position",
    )
    .bind(project_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| IntegrationRecord {
            id: row.id,
            project_id: row.project_id,
            type_name: row.type_name,
            definition: row.definition.0,
            client_secret: row.client_secret,
            webhook_secret: row.webhook_secret,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
        .collect())
}

#[derive(FromRow)]
struct WorkflowRow {
    project_id: Uuid,
    id: String,
    integration_id: Uuid,
    trigger_type: String,
    trigger_event: Option<String>,
    definition: Json<serde_json::Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

pub(crate) async fn list_workflows(
    pool: &PgPool,
    project_id: Uuid,
) -> StoreResult<Vec<WorkflowRecord>> {
    let rows: Vec<WorkflowRow> = sqlx::query_as(
        "SELECT project_id, id, integration_id, trigger_type, trigger_event, definition, created_at, updated_at
         FROM workflows WHERE project_id = $1 ORDER BY position",
    )
    .bind(project_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(WorkflowRecord::from).collect())
}

impl From<WorkflowRow> for WorkflowRecord {
    fn from(row: WorkflowRow) -> Self {
        Self {
            project_id: row.project_id,
            id: row.id,
            integration_id: row.integration_id,
            trigger_type: row.trigger_type,
            trigger_event: row.trigger_event,
            definition: row.definition.0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub(crate) async fn list_workflows_with_trigger(
    pool: &PgPool,
    trigger_type: &str,
) -> StoreResult<Vec<WorkflowRecord>> {
    let rows: Vec<WorkflowRow> = sqlx::query_as(
        "SELECT project_id, id, integration_id, trigger_type, trigger_event, definition, created_at, updated_at
         FROM workflows WHERE trigger_type = $1 ORDER BY project_id, position",
    )
    .bind(trigger_type)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(WorkflowRecord::from).collect())
}
