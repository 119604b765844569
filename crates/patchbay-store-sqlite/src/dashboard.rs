//! The dashboard's sessions, the audit log, configuration versions, and the reads of its
//! listings (users with their account counts, accounts per integration and status).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patchbay_store::{
    AuditEntry, ConfigVersion, CredentialCount, CredentialStatus, DashboardSession, DashboardStore,
    NewDashboardSession, SessionScope, StoreError, StoreResult, UsageHour, UserFilter, UserSummary,
};
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row as _, Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::SqliteStore;
use crate::credentials::user_from_row;
use crate::rows::{json, optional_uuid, uuid};
use crate::time::{from_millis, to_millis};

#[async_trait]
impl DashboardStore for SqliteStore {
    async fn create_session(&self, session: &NewDashboardSession) -> StoreResult<()> {
        let (project_id, secret_key_id) = match session.scope {
            SessionScope::Project {
                project_id,
                secret_key_id,
            } => (Some(project_id), Some(secret_key_id)),
            SessionScope::Instance => (None, None),
        };
        sqlx::query(
            "INSERT INTO dashboard_sessions (token_hash, project_id, secret_key_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.token_hash)
        .bind(project_id.map(|id| id.hyphenated()))
        .bind(secret_key_id.map(|id| id.hyphenated()))
        .bind(to_millis(Utc::now()))
        .bind(to_millis(session.expires_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DashboardSession>> {
        let row = sqlx::query(
            "SELECT s.project_id, s.secret_key_id, s.created_at, s.expires_at
             FROM dashboard_sessions s LEFT JOIN secret_keys k ON k.id = s.secret_key_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND k.revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(to_millis(now))
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM dashboard_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn purge_sessions(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let purged = sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at < $1")
            .bind(to_millis(before))
            .execute(&self.writer)
            .await?;
        Ok(purged.rows_affected())
    }

    async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, project_id, actor, action, status, at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(entry.id.hyphenated())
        .bind(entry.project_id.hyphenated())
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(i64::from(entry.status))
        .bind(to_millis(entry.at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn list_audit(
        &self,
        project_id: Uuid,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>> {
        let (at, id) = after.map_or((None, None), |(at, id)| {
            (Some(to_millis(at)), Some(id.hyphenated()))
        });
        let rows = sqlx::query(
            "SELECT id, project_id, actor, action, status, at FROM audit_log
             WHERE project_id = $1 AND ($2 IS NULL OR (at, id) < ($2, $3))
             ORDER BY at DESC, id DESC LIMIT $4",
        )
        .bind(project_id.hyphenated())
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: uuid(row, "id")?,
                    project_id: uuid(row, "project_id")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    status: u16::try_from(row.try_get::<i64, _>("status")?)
                        .map_err(|_| StoreError::Corrupt("audit status out of range".into()))?,
                    at: from_millis(row.try_get("at")?)?,
                })
            })
            .collect()
    }

    async fn list_config_versions(
        &self,
        project_id: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<ConfigVersion>> {
        let rows = sqlx::query(
            "SELECT version, document, applied_at FROM config_versions
             WHERE project_id = $1 ORDER BY version DESC LIMIT $2",
        )
        .bind(project_id.hyphenated())
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(config_version_from_row).collect()
    }

    async fn get_config_version(
        &self,
        project_id: Uuid,
        version: i64,
    ) -> StoreResult<Option<ConfigVersion>> {
        let row = sqlx::query(
            "SELECT version, document, applied_at FROM config_versions
             WHERE project_id = $1 AND version = $2",
        )
        .bind(project_id.hyphenated())
        .bind(version)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(config_version_from_row).transpose()
    }

    async fn add_usage(&self, rows: &[UsageHour]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for row in rows {
            sqlx::query(
                "INSERT INTO usage_hourly
                   (project_id, integration_id, hour, proxy_calls, proxy_errors, refresh_failures)
                 SELECT $1, $2, $3, $4, $5, $6
                 WHERE EXISTS (SELECT 1 FROM integrations WHERE id = $2 AND project_id = $1)
                 ON CONFLICT (project_id, hour, integration_id) DO UPDATE SET
                   proxy_calls = proxy_calls + excluded.proxy_calls,
                   proxy_errors = proxy_errors + excluded.proxy_errors,
                   refresh_failures = refresh_failures + excluded.refresh_failures",
            )
            .bind(row.project_id.hyphenated())
            .bind(row.integration_id.hyphenated())
            .bind(to_millis(row.hour))
            .bind(row.proxy_calls)
            .bind(row.proxy_errors)
            .bind(row.refresh_failures)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_usage(
        &self,
        project_id: Uuid,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<UsageHour>> {
        let rows = sqlx::query(
            "SELECT project_id, integration_id, hour, proxy_calls, proxy_errors, refresh_failures
             FROM usage_hourly WHERE project_id = $1 AND hour >= $2
             ORDER BY hour, integration_id",
        )
        .bind(project_id.hyphenated())
        .bind(to_millis(since))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(UsageHour {
                    project_id: uuid(row, "project_id")?,
                    integration_id: uuid(row, "integration_id")?,
                    hour: from_millis(row.try_get("hour")?)?,
                    proxy_calls: row.try_get("proxy_calls")?,
                    proxy_errors: row.try_get("proxy_errors")?,
                    refresh_failures: row.try_get("refresh_failures")?,
                })
            })
            .collect()
    }

    async fn purge_usage(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let purged = sqlx::query("DELETE FROM usage_hourly WHERE hour < $1")
            .bind(to_millis(before))
            .execute(&self.writer)
            .await?;
        Ok(purged.rows_affected())
    }
}

/// Keeps the document just applied as the project's `config_version`, inside the applying
/// transaction.
pub(crate) async fn keep_config_version(
    conn: &mut SqliteConnection,
    project_id: Uuid,
    document: &serde_json::Value,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO config_versions (project_id, version, document, applied_at)
         SELECT id, config_version, $2, updated_at FROM projects WHERE id = $1",
    )
    .bind(project_id.hyphenated())
    .bind(Json(document))
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn list_users(
    pool: &SqlitePool,
    project_id: Uuid,
    filter: &UserFilter,
) -> StoreResult<Vec<UserSummary>> {
    // Conditions are added only when given, so a page reads the primary key from its cursor.
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT u.project_id, u.user_id, u.meta, u.created_at, u.updated_at,
                (SELECT count(*) FROM credentials c
                  WHERE c.project_id = u.project_id AND c.user_id = u.user_id) AS accounts,
                (SELECT count(*) FROM credentials c
                  WHERE c.project_id = u.project_id AND c.user_id = u.user_id
                    AND c.status = 'INVALID') AS invalid_accounts
         FROM connected_users u WHERE u.project_id = ",
    );
    query.push_bind(project_id.hyphenated());
    if let Some(after) = &filter.after {
        query.push(" AND u.user_id > ").push_bind(after.clone());
    }
    if let Some(pattern) = filter.like_pattern() {
        query
            .push(" AND (lower(u.user_id) LIKE ")
            .push_bind(pattern.clone());
        query
            .push(" ESCAPE '\\' OR lower(coalesce(json_extract(u.meta, '$.name'), json_extract(u.meta, '$.Name'), '')) LIKE ")
            .push_bind(pattern.clone());
        query
            .push(" ESCAPE '\\' OR lower(coalesce(json_extract(u.meta, '$.email'), json_extract(u.meta, '$.Email'), '')) LIKE ")
            .push_bind(pattern);
        query.push(" ESCAPE '\\')");
    }
    query
        .push(" ORDER BY u.user_id LIMIT ")
        .push_bind(filter.limit);
    let rows = query.build().fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok(UserSummary {
                user: user_from_row(row)?,
                accounts: row.try_get("accounts")?,
                invalid_accounts: row.try_get("invalid_accounts")?,
            })
        })
        .collect()
}

pub(crate) async fn count_credentials(
    pool: &SqlitePool,
    project_id: Uuid,
) -> StoreResult<Vec<CredentialCount>> {
    let rows = sqlx::query(
        "SELECT integration_id, status, count(*) AS count FROM credentials
         WHERE project_id = $1 GROUP BY integration_id, status",
    )
    .bind(project_id.hyphenated())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            Ok(CredentialCount {
                integration_id: uuid(row, "integration_id")?,
                status: CredentialStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("credential status {status}")))?,
                count: row.try_get("count")?,
            })
        })
        .collect()
}

fn session_from_row(row: &SqliteRow) -> StoreResult<DashboardSession> {
    let scope = match (
        optional_uuid(row, "project_id")?,
        optional_uuid(row, "secret_key_id")?,
    ) {
        (Some(project_id), Some(secret_key_id)) => SessionScope::Project {
            project_id,
            secret_key_id,
        },
        _ => SessionScope::Instance,
    };
    Ok(DashboardSession {
        scope,
        created_at: from_millis(row.try_get("created_at")?)?,
        expires_at: from_millis(row.try_get("expires_at")?)?,
    })
}

fn config_version_from_row(row: &SqliteRow) -> StoreResult<ConfigVersion> {
    Ok(ConfigVersion {
        version: row.try_get("version")?,
        document: json(row, "document")?,
        applied_at: from_millis(row.try_get("applied_at")?)?,
    })
}
