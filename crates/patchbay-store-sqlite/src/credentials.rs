//! Connected users, their credentials and each credential's configuration.

use chrono::{DateTime, Utc};
use patchbay_store::{
    AccountReplacement, ConfigurationRow, ConnectedUser, CredentialChanges, CredentialFilter,
    CredentialRecord, CredentialStatus, DueRefresh, NewConfiguration, NewCredential, RefreshClaim,
    RefreshFailure, RefreshedTokens, StoreError, StoreResult, changed_a_row, now,
};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::types::Json;
use sqlx::{Executor, QueryBuilder, Row as _, Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::rows::{json, json_object, uuid};
use crate::time::{from_millis, opt_from_millis, to_millis};

/// A credential with its configurations, aggregated as JSON so that reading an account stays
/// one query (`ConfigurationRow` parses them).
const SELECT_CREDENTIAL: &str = "
    SELECT c.id, c.project_id, c.integration_id, c.user_id, c.external_id, c.provider_id,
           c.provider_data, c.status, c.secrets, c.account_vars, c.version,
           c.refresh_failure_count, c.refreshed_at, c.valid_until, c.created_at, c.updated_at,
           (SELECT json_group_array(json_object(
                'id', cc.id, 'isDefault', json(CASE WHEN cc.is_default THEN 'true' ELSE 'false' END),
                'externalId', cc.external_id, 'meta', json(cc.meta),
                'sharedSettings', json(cc.shared_settings),
                'workflowSettings', json(cc.workflow_settings),
                'sealedSettings', CASE WHEN cc.sealed_settings IS NULL THEN NULL
                                       ELSE hex(cc.sealed_settings) END,
                'createdAt', cc.created_at, 'updatedAt', cc.updated_at))
            FROM credential_configurations cc WHERE cc.credential_id = c.id) AS configurations
    FROM credentials c";

fn credential_from_row(row: &SqliteRow) -> StoreResult<CredentialRecord> {
    let status: String = row.try_get("status")?;
    let configurations: String = row.try_get("configurations")?;
    Ok(CredentialRecord {
        id: uuid(row, "id")?,
        project_id: uuid(row, "project_id")?,
        integration_id: uuid(row, "integration_id")?,
        user_id: row.try_get("user_id")?,
        external_id: row.try_get("external_id")?,
        provider_id: row.try_get("provider_id")?,
        provider_data: json(row, "provider_data")?,
        status: CredentialStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("credential status {status:?}")))?,
        secrets: row.try_get("secrets")?,
        account_vars: json(row, "account_vars")?,
        version: row.try_get("version")?,
        refresh_failure_count: row.try_get("refresh_failure_count")?,
        refreshed_at: opt_from_millis(row.try_get("refreshed_at")?)?,
        valid_until: opt_from_millis(row.try_get("valid_until")?)?,
        created_at: from_millis(row.try_get("created_at")?)?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
        configurations: ConfigurationRow::parse_all(&configurations)?,
    })
}

pub(crate) fn user_from_row(row: &SqliteRow) -> StoreResult<ConnectedUser> {
    Ok(ConnectedUser {
        project_id: uuid(row, "project_id")?,
        user_id: row.try_get("user_id")?,
        meta: json_object(row, "meta")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
    })
}

pub(crate) async fn get_user<'c, E: Executor<'c, Database = Sqlite>>(
    executor: E,
    project_id: Uuid,
    user_id: &str,
) -> StoreResult<Option<ConnectedUser>> {
    let row = get_user_query(GET_USER, project_id, user_id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// The statement of [`get_user`], also explained by `plans.rs`.
pub(crate) const GET_USER: &str = "SELECT project_id, user_id, meta, created_at, updated_at
     FROM connected_users WHERE project_id = $1 AND user_id = $2";

pub(crate) fn get_user_query<'q>(
    sql: &'q str,
    project_id: Uuid,
    user_id: &str,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    sqlx::query(sql)
        .bind(project_id.hyphenated())
        .bind(user_id.to_owned())
}

pub(crate) async fn upsert_user(
    conn: &mut SqliteConnection,
    project_id: Uuid,
    user_id: &str,
    meta: Option<&serde_json::Map<String, serde_json::Value>>,
) -> StoreResult<ConnectedUser> {
    let at = to_millis(now());
    sqlx::query(
        "INSERT INTO connected_users (project_id, user_id, created_at, updated_at)
         VALUES ($1, $2, $3, $3) ON CONFLICT (project_id, user_id) DO NOTHING",
    )
    .bind(project_id.hyphenated())
    .bind(user_id)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    let mut user = get_user(&mut *conn, project_id, user_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if let Some(meta) = meta {
        user.meta
            .extend(meta.iter().map(|(k, v)| (k.clone(), v.clone())));
        sqlx::query(
            "UPDATE connected_users SET meta = $1, updated_at = $2
             WHERE project_id = $3 AND user_id = $4",
        )
        .bind(Json(&user.meta))
        .bind(at)
        .bind(project_id.hyphenated())
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
        user.updated_at = from_millis(at)?;
    }
    Ok(user)
}

pub(crate) async fn insert(conn: &mut SqliteConnection, new: &NewCredential) -> StoreResult<()> {
    let at = to_millis(now());
    sqlx::query(
        "INSERT INTO credentials (id, project_id, integration_id, user_id, external_id, provider_id,
                                  provider_data, status, secrets, account_vars, valid_until,
                                  next_refresh_at, refreshed_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $12, $12, $12)",
    )
    .bind(new.id.hyphenated())
    .bind(new.project_id.hyphenated())
    .bind(new.integration_id.hyphenated())
    .bind(&new.user_id)
    .bind(&new.external_id)
    .bind(&new.provider_id)
    .bind(Json(&new.provider_data))
    .bind(new.status.as_str())
    .bind(&new.secrets)
    .bind(Json(&new.account_vars))
    .bind(new.valid_until.map(to_millis))
    .bind(at)
    .bind(new.next_refresh_at.map(to_millis))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO credential_configurations
             (id, project_id, credential_id, is_default, workflow_settings, created_at, updated_at)
         VALUES ($1, $5, $2, 1, $3, $4, $4)",
    )
    .bind(Uuid::new_v4().hyphenated())
    .bind(new.id.hyphenated())
    .bind(Json(&new.workflow_settings))
    .bind(at)
    .bind(new.project_id.hyphenated())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds a configuration that is not the default.
pub(crate) async fn insert_configuration(
    conn: &mut SqliteConnection,
    project_id: Uuid,
    new: &NewConfiguration,
) -> StoreResult<()> {
    let at = to_millis(now());
    let done = sqlx::query(
        "INSERT INTO credential_configurations
             (id, project_id, credential_id, is_default, external_id, meta, created_at, updated_at)
         SELECT $1, project_id, id, 0, $2, $3, $4, $4 FROM credentials
         WHERE project_id = $5 AND id = $6",
    )
    .bind(new.id.hyphenated())
    .bind(&new.external_id)
    .bind(Json(&new.meta))
    .bind(at)
    .bind(project_id.hyphenated())
    .bind(new.credential_id.hyphenated())
    .execute(&mut *conn)
    .await?;
    changed_a_row(done.rows_affected())
}

/// Deletes a configuration that is not the default.
pub(crate) async fn delete_configuration(
    conn: &mut SqliteConnection,
    project_id: Uuid,
    credential_id: Uuid,
    configuration_id: Uuid,
) -> StoreResult<()> {
    let done = sqlx::query(
        "DELETE FROM credential_configurations
         WHERE project_id = $1 AND credential_id = $2 AND id = $3 AND is_default = 0",
    )
    .bind(project_id.hyphenated())
    .bind(credential_id.hyphenated())
    .bind(configuration_id.hyphenated())
    .execute(&mut *conn)
    .await?;
    changed_a_row(done.rows_affected())
}

pub(crate) async fn get<'c, E: Executor<'c, Database = Sqlite>>(
    executor: E,
    project_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<CredentialRecord>> {
    let row = get_query(&get_sql(), project_id, id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(credential_from_row).transpose()
}

/// The statement of [`get`], also explained by `plans.rs`.
pub(crate) fn get_sql() -> String {
    format!("{SELECT_CREDENTIAL} WHERE c.project_id = $1 AND c.id = $2")
}

pub(crate) fn get_query(
    sql: &str,
    project_id: Uuid,
    id: Uuid,
) -> Query<'_, Sqlite, SqliteArguments<'_>> {
    sqlx::query(sql)
        .bind(project_id.hyphenated())
        .bind(id.hyphenated())
}

pub(crate) async fn list(
    pool: &SqlitePool,
    project_id: Uuid,
    filter: &CredentialFilter,
) -> StoreResult<Vec<CredentialRecord>> {
    list_query("", project_id, filter)
        .build()
        .fetch_all(pool)
        .await?
        .iter()
        .map(credential_from_row)
        .collect()
}

/// The statement of [`list`] after `head` (`EXPLAIN QUERY PLAN ` in
/// `plans.rs`). Only the filters given become conditions, so SQLite can use
/// the (project, user, integration) index instead of scanning the project.
pub(crate) fn list_query(
    head: &str,
    project_id: Uuid,
    filter: &CredentialFilter,
) -> QueryBuilder<'static, Sqlite> {
    let mut query = QueryBuilder::new(format!("{head}{SELECT_CREDENTIAL} WHERE c.project_id = "));
    query.push_bind(project_id.hyphenated().to_string());
    if let Some(user_id) = &filter.user_id {
        query.push(" AND c.user_id = ").push_bind(user_id.clone());
    }
    if let Some(integration_id) = filter.integration_id {
        query
            .push(" AND c.integration_id = ")
            .push_bind(integration_id.hyphenated().to_string());
    }
    if let Some(provider_id) = &filter.provider_id {
        query
            .push(" AND c.provider_id = ")
            .push_bind(provider_id.clone());
    }
    if let Some(status) = filter.status {
        query.push(" AND c.status = ").push_bind(status.as_str());
    }
    if let Some((at, id)) = filter.after {
        query
            .push(" AND (c.created_at, c.id) > (")
            .push_bind(to_millis(at))
            .push(", ")
            .push_bind(id.hyphenated().to_string())
            .push(")");
    }
    query.push(" ORDER BY c.created_at, c.id");
    if let Some(limit) = filter.limit {
        query.push(" LIMIT ").push_bind(limit);
    }
    query
}

pub(crate) async fn update(
    conn: &mut SqliteConnection,
    project_id: Uuid,
    id: Uuid,
    changes: &CredentialChanges,
) -> StoreResult<()> {
    let at = to_millis(now());
    let touched = sqlx::query(
        "UPDATE credentials SET external_id = CASE WHEN $1 THEN $2 ELSE external_id END,
                account_vars = COALESCE($6, account_vars), updated_at = $3
         WHERE project_id = $4 AND id = $5",
    )
    .bind(changes.external_id.is_some())
    .bind(changes.external_id.clone().flatten())
    .bind(at)
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .bind(changes.account_vars.as_ref().map(Json))
    .execute(&mut *conn)
    .await?;
    if touched.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    if let Some((configuration_id, changes)) = &changes.configuration {
        let done = sqlx::query(
            "UPDATE credential_configurations
             SET external_id = CASE WHEN $1 THEN $2 ELSE external_id END,
                 meta = COALESCE($3, meta),
                 shared_settings = COALESCE($4, shared_settings),
                 workflow_settings = COALESCE($5, workflow_settings),
                 sealed_settings = CASE WHEN $6 THEN $7 ELSE sealed_settings END,
                 updated_at = $8
             WHERE credential_id = $9 AND id = $10",
        )
        .bind(changes.external_id.is_some())
        .bind(changes.external_id.clone().flatten())
        .bind(changes.meta.as_ref().map(Json))
        .bind(changes.shared_settings.as_ref().map(Json))
        .bind(changes.workflow_settings.as_ref().map(Json))
        .bind(changes.sealed_settings.is_some())
        .bind(changes.sealed_settings.clone().flatten())
        .bind(at)
        .bind(id.hyphenated())
        .bind(configuration_id.hyphenated())
        .execute(&mut *conn)
        .await?;
        changed_a_row(done.rows_affected())?;
    }
    Ok(())
}

pub(crate) async fn replace_account(
    conn: &mut SqliteConnection,
    project_id: Uuid,
    id: Uuid,
    replacement: &AccountReplacement,
) -> StoreResult<()> {
    let at = to_millis(now());
    let done = sqlx::query(
        "UPDATE credentials
         SET provider_id = $1, provider_data = $2, secrets = $3, account_vars = $4, valid_until = $5,
             status = 'VALID', refresh_failure_count = 0, refreshed_at = $6, updated_at = $6,
             next_refresh_at = $9, refresh_claimed_until = NULL, version = version + 1
         WHERE project_id = $7 AND id = $8",
    )
    .bind(&replacement.provider_id)
    .bind(Json(&replacement.provider_data))
    .bind(&replacement.secrets)
    .bind(Json(&replacement.account_vars))
    .bind(replacement.valid_until.map(to_millis))
    .bind(at)
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .bind(replacement.next_refresh_at.map(to_millis))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Takes the lease only if it is free and the version has not moved.
pub(crate) async fn claim_refresh(
    conn: &mut SqliteConnection,
    project_id: Uuid,
    id: Uuid,
    version: i64,
    lease_until: DateTime<Utc>,
) -> StoreResult<RefreshClaim> {
    let claimed = sqlx::query(
        "UPDATE credentials SET refresh_claimed_until = $1
         WHERE project_id = $2 AND id = $3 AND version = $4
           AND (refresh_claimed_until IS NULL OR refresh_claimed_until < $5)",
    )
    .bind(to_millis(lease_until))
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .bind(version)
    .bind(to_millis(now()))
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    let current = get(&mut *conn, project_id, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(if claimed {
        RefreshClaim::Claimed(current)
    } else if current.version != version {
        RefreshClaim::Stale(current)
    } else {
        RefreshClaim::Busy
    })
}

pub(crate) async fn complete_refresh(
    conn: &mut SqliteConnection,
    project_id: Uuid,
    id: Uuid,
    version: i64,
    tokens: &RefreshedTokens,
) -> StoreResult<()> {
    let at = to_millis(now());
    let done = sqlx::query(
        "UPDATE credentials
         SET secrets = $1, valid_until = $2, next_refresh_at = $3, refreshed_at = $4, updated_at = $4,
             status = 'VALID', refresh_failure_count = 0, refresh_claimed_until = NULL,
             version = version + 1
         WHERE project_id = $5 AND id = $6 AND version = $7",
    )
    .bind(&tokens.secrets)
    .bind(tokens.valid_until.map(to_millis))
    .bind(tokens.next_refresh_at.map(to_millis))
    .bind(at)
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .bind(version)
    .execute(&mut *conn)
    .await?;
    version_checked(done.rows_affected())
}

pub(crate) async fn record_refresh_failure(
    conn: &mut SqliteConnection,
    project_id: Uuid,
    id: Uuid,
    version: i64,
    failure: &RefreshFailure,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE credentials
         SET refresh_failure_count = refresh_failure_count + 1, refresh_claimed_until = NULL,
             status = CASE WHEN $1 THEN 'INVALID' ELSE status END,
             next_refresh_at = CASE WHEN $1 THEN NULL ELSE $2 END,
             updated_at = $3
         WHERE project_id = $4 AND id = $5 AND version = $6",
    )
    .bind(failure.definitive)
    .bind(failure.retry_at.map(to_millis))
    .bind(to_millis(now()))
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .bind(version)
    .execute(&mut *conn)
    .await?;
    version_checked(done.rows_affected())
}

fn version_checked(rows: u64) -> StoreResult<()> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            constraint: "credentials.version".to_owned(),
        })
    }
}

pub(crate) async fn due_refreshes(
    pool: &SqlitePool,
    before: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<DueRefresh>> {
    let rows = due_refreshes_query(DUE_REFRESHES, before, limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(DueRefresh {
                project_id: uuid(row, "project_id")?,
                credential_id: uuid(row, "id")?,
            })
        })
        .collect()
}

/// The statement of [`due_refreshes`], also explained by `plans.rs`.
pub(crate) const DUE_REFRESHES: &str = "SELECT project_id, id FROM credentials
     WHERE next_refresh_at IS NOT NULL AND next_refresh_at < $1
       AND (refresh_claimed_until IS NULL OR refresh_claimed_until < $2)
     ORDER BY next_refresh_at LIMIT $3";

pub(crate) fn due_refreshes_query(
    sql: &str,
    before: DateTime<Utc>,
    limit: i64,
) -> Query<'_, Sqlite, SqliteArguments<'_>> {
    sqlx::query(sql)
        .bind(to_millis(before))
        .bind(to_millis(now()))
        .bind(limit)
}
