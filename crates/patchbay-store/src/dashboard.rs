//! What the dashboard keeps: its sign-in sessions, the record of what was changed through the
//! admin API, the configuration documents applied before the current one, and hourly usage
//! per integration.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::StoreResult;

/// Who a dashboard session signed in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionScope {
    /// A project's secret key: that project only. The session ends when the key is revoked.
    Project {
        project_id: Uuid,
        secret_key_id: Uuid,
    },
    /// The instance admin token: every project.
    Instance,
}

/// A session as written. Only the hash of its token is stored, so a copy of the database
/// opens no session.
#[derive(Debug, Clone)]
pub struct NewDashboardSession {
    pub token_hash: String,
    pub scope: SessionScope,
    pub expires_at: DateTime<Utc>,
}

/// A session that has not expired, and whose key has not been revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardSession {
    pub scope: SessionScope,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// One change made through the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: Uuid,
    pub project_id: Uuid,
    /// Who: `secret key sk_live_ab…` or `dashboard (admin token)`, never a secret.
    pub actor: String,
    /// What: the method and the path, `DELETE /api/v1/projects/…/credentials/…`.
    pub action: String,
    /// The HTTP status it was answered with.
    pub status: u16,
    pub at: DateTime<Utc>,
}

/// An applied configuration document, kept so that it can be read and applied again.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigVersion {
    pub version: i64,
    pub applied_at: DateTime<Utc>,
    /// As `GET /config` returned it then: secrets masked.
    pub document: serde_json::Value,
}

/// What one integration of a project did in one hour: the figures of the dashboard's charts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageHour {
    pub project_id: Uuid,
    pub integration_id: Uuid,
    /// The hour's start.
    pub hour: DateTime<Utc>,
    /// Calls through the Proxy API, and those answered with an error (Patchbay's or the
    /// provider's, any status from 400).
    pub proxy_calls: i64,
    pub proxy_errors: i64,
    /// Token refreshes (or new grants) that failed, for good or for now.
    pub refresh_failures: i64,
}

#[async_trait]
pub trait DashboardStore: Send + Sync {
    async fn create_session(&self, session: &NewDashboardSession) -> StoreResult<()>;

    /// The session of this token hash at `now`, if it is still open.
    async fn find_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DashboardSession>>;

    /// Signs out; deleting a session that is already gone is not an error.
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    /// Forgets sessions that expired before `before`.
    async fn purge_sessions(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()>;

    /// The project's audit entries, newest first, after a page's last `(at, id)`.
    async fn list_audit(
        &self,
        project_id: Uuid,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>>;

    /// The project's applied documents, newest first, at most `limit`.
    async fn list_config_versions(
        &self,
        project_id: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<ConfigVersion>>;

    async fn get_config_version(
        &self,
        project_id: Uuid,
        version: i64,
    ) -> StoreResult<Option<ConfigVersion>>;

    /// Adds counts to what is stored for each row's hour (every replica adds its own). Rows of
    /// an integration deleted meanwhile are dropped.
    async fn add_usage(&self, rows: &[UsageHour]) -> StoreResult<()>;

    /// The project's usage from `since` on, by hour then integration.
    async fn list_usage(
        &self,
        project_id: Uuid,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<UsageHour>>;

    /// Forgets usage of hours before `before`.
    async fn purge_usage(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}
