//! Signing keys and the applied configuration: settings, integrations,
//! workflows.

use patchbay_store::{
    ConfigWrite, IntegrationRecord, NewEvent, NewSigningKey, SigningKeyRecord, StoreError,
    StoreResult, WorkflowRecord, check_active_keys, events_match_deleted_accounts, now,
};
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{Row as _, SqliteConnection, SqlitePool};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use crate::rows::{json, uuid};
use crate::time::{from_millis, opt_from_millis, to_millis};

fn signing_key_from_row(row: &SqliteRow) -> StoreResult<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        project_id: uuid(row, "project_id")?,
        kid: row.try_get("kid")?,
        algorithm: row.try_get("algorithm")?,
        public_key_pem: row.try_get("public_key_pem")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        revoked_at: opt_from_millis(row.try_get("revoked_at")?)?,
    })
}

/// Inside the caller's transaction, which SQLite's single writer makes the
/// only one between the count and the insert.
pub(crate) async fn insert_signing_key(
    conn: &mut SqliteConnection,
    key: &NewSigningKey,
    max_active: usize,
) -> StoreResult<SigningKeyRecord> {
    let active: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM signing_keys WHERE project_id = $1 AND revoked_at IS NULL",
    )
    .bind(key.project_id.hyphenated())
    .fetch_one(&mut *conn)
    .await?;
    check_active_keys(active, max_active)?;
    let row = sqlx::query(
        "INSERT INTO signing_keys (project_id, kid, algorithm, public_key_pem, created_at)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING project_id, kid, algorithm, public_key_pem, created_at, revoked_at",
    )
    .bind(key.project_id.hyphenated())
    .bind(&key.kid)
    .bind(&key.algorithm)
    .bind(&key.public_key_pem)
    .bind(to_millis(now()))
    .fetch_one(&mut *conn)
    .await?;
    signing_key_from_row(&row)
}

pub(crate) async fn list_signing_keys(
    pool: &SqlitePool,
    project_id: Uuid,
) -> StoreResult<Vec<SigningKeyRecord>> {
    sqlx::query(
        "SELECT project_id, kid, algorithm, public_key_pem, created_at, revoked_at
         FROM signing_keys WHERE project_id = $1 ORDER BY created_at, kid",
    )
    .bind(project_id.hyphenated())
    .fetch_all(pool)
    .await?
    .iter()
    .map(signing_key_from_row)
    .collect()
}

pub(crate) async fn revoke_signing_key(
    pool: &SqlitePool,
    project_id: Uuid,
    kid: &str,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE signing_keys SET revoked_at = $1
         WHERE project_id = $2 AND kid = $3 AND revoked_at IS NULL",
    )
    .bind(to_millis(now()))
    .bind(project_id.hyphenated())
    .bind(kid)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Replaces the configuration inside the caller's transaction. The caller
/// records `deleted`, the events of the accounts that removed integrations
/// take with them, once this has checked that they are exactly those.
pub(crate) async fn apply(
    conn: &mut SqliteConnection,
    project_id: Uuid,
    config: &ConfigWrite,
    deleted: &[NewEvent],
) -> StoreResult<()> {
    let at = to_millis(now());
    let updated = sqlx::query(
        "UPDATE projects SET settings = $1, config_document = $2,
                config_version = config_version + 1, updated_at = $3
         WHERE id = $4",
    )
    .bind(Json(&config.settings))
    .bind(Json(&config.document))
    .bind(at)
    .bind(project_id.hyphenated())
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    crate::dashboard::keep_config_version(&mut *conn, project_id, &config.document).await?;

    // Workflows reference integrations, so they go first and come back last.
    sqlx::query("DELETE FROM workflows WHERE project_id = $1")
        .bind(project_id.hyphenated())
        .execute(&mut *conn)
        .await?;
    let existing: Vec<String> =
        sqlx::query_scalar("SELECT type FROM integrations WHERE project_id = $1")
            .bind(project_id.hyphenated())
            .fetch_all(&mut *conn)
            .await?;
    let removed: Vec<&String> = existing
        .iter()
        .filter(|t| !config.integrations.iter().any(|i| &i.type_name == *t))
        .collect();
    // The accounts a removed integration takes with it (the foreign key
    // cascades). SQLite has one writer, so nobody connects one between this
    // read and the delete.
    let mut accounts = Vec::new();
    for gone in &removed {
        let ids: Vec<Hyphenated> = sqlx::query_scalar(
            "SELECT c.id FROM credentials c JOIN integrations i ON i.id = c.integration_id
             WHERE i.project_id = $1 AND i.type = $2",
        )
        .bind(project_id.hyphenated())
        .bind(gone)
        .fetch_all(&mut *conn)
        .await?;
        accounts.extend(ids.into_iter().map(Hyphenated::into_uuid));
    }
    events_match_deleted_accounts(&accounts, deleted)?;
    for gone in removed {
        sqlx::query("DELETE FROM integrations WHERE project_id = $1 AND type = $2")
            .bind(project_id.hyphenated())
            .bind(gone)
            .execute(&mut *conn)
            .await?;
    }
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
        .bind(integration.id.hyphenated())
        .bind(project_id.hyphenated())
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
             VALUES ($1, $2, $3, $4, $5, $6, $8, $7, $7)",
        )
        .bind(project_id.hyphenated())
        .bind(&workflow.id)
        .bind(workflow.integration_id.hyphenated())
        .bind(&workflow.trigger_type)
        .bind(&workflow.trigger_event)
        .bind(Json(&workflow.definition))
        .bind(at)
        .bind(position as i64)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn document(
    pool: &SqlitePool,
    project_id: Uuid,
) -> StoreResult<Option<serde_json::Value>> {
    let document: Option<Option<Json<serde_json::Value>>> =
        sqlx::query_scalar("SELECT config_document FROM projects WHERE id = $1")
            .bind(project_id.hyphenated())
            .fetch_optional(pool)
            .await?;
    Ok(document.flatten().map(|json| json.0))
}

fn integration_from_row(row: &SqliteRow) -> StoreResult<IntegrationRecord> {
    Ok(IntegrationRecord {
        id: uuid(row, "id")?,
        project_id: uuid(row, "project_id")?,
        type_name: row.try_get("type")?,
        definition: json(row, "definition")?,
        client_secret: row.try_get("client_secret")?,
        webhook_secret: row.try_get("webhook_secret")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
    })
}

pub(crate) async fn list_integrations(
    pool: &SqlitePool,
    project_id: Uuid,
) -> StoreResult<Vec<IntegrationRecord>> {
    sqlx::query(
        "SELECT id, project_id, type, definition, client_secret, webhook_secret, created_at, updated_at
         FROM integrations WHERE project_id = $1 ORDER BY position",
    )
    .bind(project_id.hyphenated())
    .fetch_all(pool)
    .await?
    .iter()
    .map(integration_from_row)
    .collect()
}

fn workflow_from_row(row: &SqliteRow) -> StoreResult<WorkflowRecord> {
    Ok(WorkflowRecord {
        project_id: uuid(row, "project_id")?,
        id: row.try_get("id")?,
        integration_id: uuid(row, "integration_id")?,
        trigger_type: row.try_get("trigger_type")?,
        trigger_event: row.try_get("trigger_event")?,
        definition: json(row, "definition")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
    })
}

pub(crate) async fn list_workflows(
    pool: &SqlitePool,
    project_id: Uuid,
) -> StoreResult<Vec<WorkflowRecord>> {
    sqlx::query(
        "SELECT project_id, id, integration_id, trigger_type, trigger_event, definition, created_at, updated_at
         FROM workflows WHERE project_id = $1 ORDER BY position",
    )
    .bind(project_id.hyphenated())
    .fetch_all(pool)
    .await?
    .iter()
    .map(workflow_from_row)
    .collect()
}

pub(crate) async fn list_workflows_with_trigger(
    pool: &SqlitePool,
    trigger_type: &str,
) -> StoreResult<Vec<WorkflowRecord>> {
    sqlx::query(
        "SELECT project_id, id, integration_id, trigger_type, trigger_event, definition, created_at, updated_at
         FROM workflows WHERE trigger_type = $1 ORDER BY project_id, position",
    )
    .bind(trigger_type)
    .fetch_all(pool)
    .await?
    .iter()
    .map(workflow_from_row)
    .collect()
}
