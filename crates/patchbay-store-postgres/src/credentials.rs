//! Connected users, their credentials and each credential's configuration.

use chrono::{DateTime, Utc};
use patchbay_store::{
    AccountReplacement, ConfigurationRow, ConnectedUser, CredentialChanges, CredentialFilter,
    CredentialRecord, CredentialStatus, DueRefresh, NewConfiguration, NewCredential, RefreshClaim,
    RefreshFailure, RefreshedTokens, StoreError, StoreResult, changed_a_row, now,
};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Executor, FromRow, PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

/// A credential with its configurations, aggregated as JSON so that reading an account stays
/// one query (`ConfigurationRow` parses them).
const SELECT_CREDENTIAL: &str = "
    SELECT c.id, c.project_id, c.integration_id, c.user_id, c.external_id, c.provider_id,
           c.provider_data, c.status, c.secrets, c.account_vars, c.version,
           c.refresh_failure_count, c.refreshed_at, c.valid_until, c.created_at, c.updated_at,
           (SELECT json_agg(json_build_object(
                'id', cc.id, 'isDefault', cc.is_default, 'externalId', cc.external_id,
                'meta', cc.meta, 'sharedSettings', cc.shared_settings,
                'workflowSettings', cc.workflow_settings,
                'sealedSettings', encode(cc.sealed_settings, 'hex'),
                'createdAt', (extract(epoch FROM cc.created_at) * 1000)::bigint,
                'updatedAt', (extract(epoch FROM cc.updated_at) * 1000)::bigint))::text
            FROM credential_configurations cc WHERE cc.credential_id = c.id) AS configurations
    FROM credentials c";

#[derive(FromRow)]
struct CredentialRow {
    id: Uuid,
    project_id: Uuid,
    integration_id: Uuid,
    user_id: String,
    external_id: Option<String>,
    provider_id: Option<String>,
    provider_data: Json<serde_json::Value>,
    status: String,
    secrets: Option<Vec<u8>>,
    account_vars: Json<serde_json::Value>,
    version: i64,
    refresh_failure_count: i64,
    refreshed_at: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    configurations: String,
}

impl TryFrom<CredentialRow> for CredentialRecord {
    type Error = StoreError;

    fn try_from(row: CredentialRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.id,
            project_id: row.project_id,
            integration_id: row.integration_id,
            user_id: row.user_id,
            external_id: row.external_id,
            provider_id: row.provider_id,
            provider_data: row.provider_data.0,
            status: CredentialStatus::parse(&row.status).ok_or_else(|| {
                StoreError::Corrupt(format!("credential status {:?}", row.status))
            })?,
            secrets: row.secrets,
            account_vars: row.account_vars.0,
            version: row.version,
            refresh_failure_count: row.refresh_failure_count,
            refreshed_at: row.refreshed_at,
            valid_until: row.valid_until,
            created_at: row.created_at,
            updated_at: row.updated_at,
            configurations: ConfigurationRow::parse_all(&row.configurations)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct UserRow {
    project_id: Uuid,
    user_id: String,
    meta: Json<serde_json::Map<String, serde_json::Value>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<UserRow> for ConnectedUser {
    fn from(row: UserRow) -> Self {
        Self {
            project_id: row.project_id,
            user_id: row.user_id,
            meta: row.meta.0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub(crate) async fn get_user<'c, E: Executor<'c, Database = Postgres>>(
    executor: E,
    project_id: Uuid,
    user_id: &str,
) -> StoreResult<Option<ConnectedUser>> {
    let row = get_user_query(GET_USER, project_id, user_id)
        .try_map(|row: PgRow| UserRow::from_row(&row))
        .fetch_optional(executor)
        .await?;
    Ok(row.map(Into::into))
}

/// The statement of [`get_user`], also explained by `plans.rs`.
pub(crate) const GET_USER: &str = "SELECT project_id, user_id, meta, created_at, updated_at
     FROM connected_users WHERE project_id = $1 AND user_id = $2";

pub(crate) fn get_user_query<'q>(
    sql: &'q str,
    project_id: Uuid,
    user_id: &str,
) -> Query<'q, Postgres, PgArguments> {
    sqlx::query(sql).bind(project_id).bind(user_id.to_owned())
}

/// Creates the user if needed and merges `meta` into theirs. The merge
/// happens in SQL (`||`), so concurrent updates of different keys both land.
pub(crate) async fn upsert_user(
    conn: &mut PgConnection,
    project_id: Uuid,
    user_id: &str,
    meta: Option<&serde_json::Map<String, serde_json::Value>>,
) -> StoreResult<ConnectedUser> {
    let empty = serde_json::Map::new();
    let row: UserRow = sqlx::query_as(
        "INSERT INTO connected_users (project_id, user_id, meta, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (project_id, user_id) DO UPDATE SET
            meta = connected_users.meta || excluded.meta,
            updated_at = CASE WHEN $5 THEN excluded.updated_at ELSE connected_users.updated_at END
         RETURNING project_id, user_id, meta, created_at, updated_at",
    )
    .bind(project_id)
    .bind(user_id)
    .bind(Json(meta.unwrap_or(&empty)))
    .bind(now())
    .bind(meta.is_some())
    .fetch_one(conn)
    .await?;
    Ok(row.into())
}

pub(crate) async fn insert(conn: &mut PgConnection, new: &NewCredential) -> StoreResult<()> {
    let at = now();
    sqlx::query(
        "INSERT INTO credentials (id, project_id, integration_id, user_id, external_id, provider_id,
                                  provider_data, status, secrets, account_vars, valid_until,
                                  next_refresh_at, refreshed_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $12, $12, $12)",
    )
    .bind(new.id)
    .bind(new.project_id)
    .bind(new.integration_id)
    .bind(&new.user_id)
    .bind(&new.external_id)
    .bind(&new.provider_id)
    .bind(Json(&new.provider_data))
    .bind(new.status.as_str())
    .bind(&new.secrets)
    .bind(Json(&new.account_vars))
    .bind(new.valid_until)
    .bind(at)
    .bind(new.next_refresh_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO credential_configurations
             (id, project_id, credential_id, is_default, workflow_settings, created_at, updated_at)
         VALUES ($1, $5, $2, TRUE, $3, $4, $4)",
    )
    .bind(Uuid::new_v4())
    .bind(new.id)
    .bind(Json(&new.workflow_settings))
    .bind(at)
    .bind(new.project_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds a configuration that is not the default.
pub(crate) async fn insert_configuration(
    conn: &mut PgConnection,
    project_id: Uuid,
    new: &NewConfiguration,
) -> StoreResult<()> {
    let done = sqlx::query(
        "INSERT INTO credential_configurations
             (id, project_id, credential_id, is_default, external_id, meta, created_at, updated_at)
         SELECT $1, project_id, id, FALSE, $2, $3, $4, $4 FROM credentials
         WHERE project_id = $5 AND id = $6",
    )
    .bind(new.id)
    .bind(&new.external_id)
    .bind(Json(&new.meta))
    .bind(now())
    .bind(project_id)
    .bind(new.credential_id)
    .execute(&mut *conn)
    .await?;
    changed_a_row(done.rows_affected())
}

/// Deletes a configuration that is not the default.
pub(crate) async fn delete_configuration(
    conn: &mut PgConnection,
    project_id: Uuid,
    credential_id: Uuid,
    configuration_id: Uuid,
) -> StoreResult<()> {
    let done = sqlx::query(
        "DELETE FROM credential_configurations
         WHERE project_id = $1 AND credential_id = $2 AND id = $3 AND NOT is_default",
    )
    .bind(project_id)
    .bind(credential_id)
    .bind(configuration_id)
    .execute(&mut *conn)
    .await?;
    changed_a_row(done.rows_affected())
}

pub(crate) async fn get<'c, E: Executor<'c, Database = Postgres>>(
    executor: E,
    project_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<CredentialRecord>> {
    let row = get_query(&get_sql(), project_id, id)
        .try_map(|row: PgRow| CredentialRow::from_row(&row))
        .fetch_optional(executor)
        .await?;
    row.map(TryInto::try_into).transpose()
}

/// The statement of [`get`], also explained by `plans.rs`.
pub(crate) fn get_sql() -> String {
    format!("{SELECT_CREDENTIAL} WHERE c.project_id = $1 AND c.id = $2")
}

pub(crate) fn get_query(sql: &str, project_id: Uuid, id: Uuid) -> Query<'_, Postgres, PgArguments> {
    sqlx::query(sql).bind(project_id).bind(id)
}

pub(crate) async fn list(
    pool: &PgPool,
    project_id: Uuid,
    filter: &CredentialFilter,
) -> StoreResult<Vec<CredentialRecord>> {
    let rows: Vec<CredentialRow> = list_query("", project_id, filter)
        .build_query_as()
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// The statement of [`list`] after `head` (`EXPLAIN ` in `plans.rs`).
/// Only the filters given become conditions, so the planner can use the
/// (project, user, integration) index instead of scanning the project.
pub(crate) fn list_query(
    head: &str,
    project_id: Uuid,
    filter: &CredentialFilter,
) -> QueryBuilder<'static, Postgres> {
    let mut query = QueryBuilder::new(format!("{head}{SELECT_CREDENTIAL} WHERE c.project_id = "));
    query.push_bind(project_id);
    if let Some(user_id) = &filter.user_id {
        query.push(" AND c.user_id = ").push_bind(user_id.clone());
    }
    if let Some(integration_id) = filter.integration_id {
        query
            .push(" AND c.integration_id = ")
            .push_bind(integration_id);
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
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    query.push(" ORDER BY c.created_at, c.id");
    if let Some(limit) = filter.limit {
        query.push(" LIMIT ").push_bind(limit);
    }
    query
}

pub(crate) async fn update(
    conn: &mut PgConnection,
    project_id: Uuid,
    id: Uuid,
    changes: &CredentialChanges,
) -> StoreResult<()> {
    let at = now();
    let touched = sqlx::query(
        "UPDATE credentials SET external_id = CASE WHEN $1 THEN $2 ELSE external_id END,
                account_vars = COALESCE($6, account_vars), updated_at = $3
         WHERE project_id = $4 AND id = $5",
    )
    .bind(changes.external_id.is_some())
    .bind(changes.external_id.clone().flatten())
    .bind(at)
    .bind(project_id)
    .bind(id)
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
        .bind(id)
        .bind(configuration_id)
        .execute(&mut *conn)
        .await?;
        changed_a_row(done.rows_affected())?;
    }
    Ok(())
}

pub(crate) async fn replace_account(
    conn: &mut PgConnection,
    project_id: Uuid,
    id: Uuid,
    replacement: &AccountReplacement,
) -> StoreResult<()> {
    let at = now();
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
    .bind(replacement.valid_until)
    .bind(at)
    .bind(project_id)
    .bind(id)
    .bind(replacement.next_refresh_at)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Takes the lease only if it is free and the version has not moved. The
/// conditional UPDATE is atomic, so across replicas exactly one caller wins.
pub(crate) async fn claim_refresh(
    conn: &mut PgConnection,
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
    .bind(lease_until)
    .bind(project_id)
    .bind(id)
    .bind(version)
    .bind(now())
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
    conn: &mut PgConnection,
    project_id: Uuid,
    id: Uuid,
    version: i64,
    tokens: &RefreshedTokens,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE credentials
         SET secrets = $1, valid_until = $2, next_refresh_at = $3, refreshed_at = $4, updated_at = $4,
             status = 'VALID', refresh_failure_count = 0, refresh_claimed_until = NULL,
             version = version + 1
         WHERE project_id = $5 AND id = $6 AND version = $7",
    )
    .bind(&tokens.secrets)
    .bind(tokens.valid_until)
    .bind(tokens.next_refresh_at)
    .bind(now())
    .bind(project_id)
    .bind(id)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    version_checked(done.rows_affected())
}

pub(crate) async fn record_refresh_failure(
    conn: &mut PgConnection,
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
    .bind(failure.retry_at)
    .bind(now())
    .bind(project_id)
    .bind(id)
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
    pool: &PgPool,
    before: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<DueRefresh>> {
    let rows = due_refreshes_query(DUE_REFRESHES, before, limit)
        .try_map(|row: PgRow| <(Uuid, Uuid)>::from_row(&row))
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(project_id, credential_id)| DueRefresh {
            project_id,
            credential_id,
        })
        .collect())
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
) -> Query<'_, Postgres, PgArguments> {
    sqlx::query(sql).bind(before).bind(now()).bind(limit)
}
