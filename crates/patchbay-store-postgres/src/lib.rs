//! The scale-out store: PostgreSQL, shared by any number of `patchbay serve`
//! replicas.
//!
//! Cross-replica coordination uses PostgreSQL itself (row locks and version
//! checks, `SKIP LOCKED` claiming, `LISTEN/NOTIFY`), so no other service is
//! needed to scale out.

mod bulk;
mod config;
mod credentials;
mod dashboard;
mod data_keys;
mod event_row;
mod events;
mod inbound;
mod install;
mod notices;
mod plans;
mod runs;
mod webhooks;

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patchbay_core::crypto::WrappedDataKey;
use patchbay_core::secret_key::SecretKeyHash;
use patchbay_store::{
    AccountReplacement, Backend, ChangeNotice, ClaimedDelivery, ConfigWrite, ConnectedUser,
    CredentialChanges, CredentialCount, CredentialFilter, CredentialRecord, CredentialStore,
    DashboardStore, DataKeyRecord, DataKeyStore, DeliveryFilter, DeliveryOutcome, DueRefresh,
    EventNotice, EventRecord, EventStore, ExecutionFilter, ExecutionOutcome, ExecutionRecord,
    ExecutionsInHour, HotQuery, InboundDelivery, InboundFilter, InstallSession,
    InstallSessionStore, InstallStatus, IntegrationRecord, JobRecord, NewConfiguration,
    NewCredential, NewEvent, NewExecution, NewInstallSession, NewJob, NewProject,
    NewSecretKeyRecord, NewSigningKey, NewWebhookEndpoint, Project, ProjectStore, Readiness,
    RefreshClaim, RefreshFailure, RefreshedTokens, RefuseNul, SealedColumn, SealedValue,
    SecretKeyRecord, SecretKeyStore, SigningKeyRecord, StepRecord, Store, StoreError, StoreResult,
    UserFilter, UserStore, UserSummary, WebhookDeliveryRecord, WebhookEndpointRecord,
    WorkflowRecord, WorkflowStore, check_active_keys, now, refuse_nul_in_user,
};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

/// The schema migrations compiled into this binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    notices: Arc<notices::Notices>,
}

impl PgStore {
    /// Connects to the database named by a `postgres://` URL.
    ///
    /// Every statement is planned for the values it runs with
    /// (`plan_cache_mode=force_custom_plan`). sqlx prepares each statement
    /// once per connection, and PostgreSQL otherwise switches a prepared
    /// statement to one generic plan after five executions and keeps it until
    /// the table's statistics change, which on a database that started empty
    /// (or runs without autovacuum) can be never: a lookup by project and id
    /// planned when `credentials` held ten rows went on walking the project's
    /// `(project_id, user_id, …)` index at a hundred thousand, 12 ms instead
    /// of 0.1 ms on every write (issue 23, `tests/it/growth.rs` of
    /// patchbay-store). Planning these short statements costs a few tens of
    /// microseconds; a custom plan also sees the table's current size.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options =
            PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]);
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            notices: notices::Notices::new(url),
        })
    }

    /// Stores many accounts at once (see `bulk.rs`), with their users and
    /// default configurations; nothing is announced to caches.
    pub async fn insert_credentials_in_bulk(
        &self,
        credentials: &[NewCredential],
    ) -> StoreResult<()> {
        bulk::insert_credentials(&self.pool, credentials).await
    }

    /// Stores finished runs in Task History at once.
    pub async fn insert_executions_in_bulk(&self, executions: &[NewExecution]) -> StoreResult<()> {
        bulk::insert_executions(&self.pool, executions).await
    }

    /// Stores past events at once, delivered to every webhook endpoint.
    pub async fn insert_delivered_events_in_bulk(&self, events: &[NewEvent]) -> StoreResult<()> {
        bulk::insert_delivered_events(&self.pool, events).await
    }

    /// Brings the planner's statistics and the visibility map up to date
    /// after a bulk load, as autovacuum would.
    pub async fn analyze(&self) -> StoreResult<()> {
        bulk::analyze(&self.pool).await
    }

    /// The plan PostgreSQL would choose now for a hot-path statement (see
    /// `plans.rs`), one line per node: for tests and benchmarks that check
    /// a loaded database is read through its indexes.
    pub async fn explain(&self, query: &HotQuery) -> StoreResult<Vec<String>> {
        plans::explain(&self.pool, query).await
    }
}

#[derive(FromRow)]
struct ProjectRow {
    id: Uuid,
    name: String,
    settings: Json<serde_json::Value>,
    config_version: i64,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<ProjectRow> for Project {
    fn from(row: ProjectRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            settings: row.settings.0,
            config_version: row.config_version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(FromRow)]
struct SecretKeyRow {
    id: Uuid,
    project_id: Uuid,
    display_prefix: String,
    created_at: chrono::DateTime<chrono::Utc>,
    revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<SecretKeyRow> for SecretKeyRecord {
    fn from(row: SecretKeyRow) -> Self {
        Self {
            id: row.id,
            project_id: row.project_id,
            display_prefix: row.display_prefix,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        }
    }
}

#[derive(FromRow)]
struct DataKeyRow {
    id: Uuid,
    wrapped_key: Vec<u8>,
    created_at: chrono::DateTime<chrono::Utc>,
    retired_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<DataKeyRow> for DataKeyRecord {
    fn from(row: DataKeyRow) -> Self {
        Self {
            key: WrappedDataKey {
                id: row.id,
                wrapped: row.wrapped_key,
            },
            created_at: row.created_at,
            retired_at: row.retired_at,
        }
    }
}

/// Serializes the transactions that add keys of one kind to one project, so
/// that each counts the active keys with every earlier insert committed: two
/// concurrent inserts cannot both see room for one more. Held until commit.
async fn lock_project_keys(
    conn: &mut PgConnection,
    project_id: Uuid,
    kind: &str,
) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("{kind}:{project_id}"))
        .execute(conn)
        .await?;
    Ok(())
}

async fn insert_secret_key(
    conn: &mut PgConnection,
    key: &NewSecretKeyRecord,
) -> StoreResult<SecretKeyRecord> {
    let row: SecretKeyRow = sqlx::query_as(
        "INSERT INTO secret_keys (id, project_id, key_hash, display_prefix, created_at)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, project_id, display_prefix, created_at, revoked_at",
    )
    .bind(key.id)
    .bind(key.project_id)
    .bind(&key.hash.0)
    .bind(&key.display_prefix)
    .bind(now())
    .fetch_one(conn)
    .await?;
    Ok(row.into())
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> StoreResult<()> {
        // The migrator takes an advisory lock, so replicas starting together
        // apply each migration once.
        MIGRATOR.run(&self.pool).await.map_err(StoreError::backend)
    }

    async fn readiness(&self) -> StoreResult<Readiness> {
        let table_exists: bool =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        let applied: Vec<i64> = if table_exists {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await?
        } else {
            Vec::new()
        };
        let pending = MIGRATOR
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .count();
        Ok(Readiness {
            pending_migrations: pending,
        })
    }

    async fn announce_change(&self, notice: &ChangeNotice) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(notices::CHANGES)
            .bind(notices::change_payload(notice))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    fn change_notices(&self) -> Option<tokio::sync::broadcast::Receiver<ChangeNotice>> {
        Some(self.notices.subscribe_changes())
    }

    fn projects(&self) -> &dyn ProjectStore {
        self
    }

    fn secret_keys(&self) -> &dyn SecretKeyStore {
        self
    }

    fn users(&self) -> &dyn UserStore {
        self
    }

    fn credentials(&self) -> &dyn CredentialStore {
        self
    }

    fn install_sessions(&self) -> &dyn InstallSessionStore {
        self
    }

    fn workflows(&self) -> &dyn WorkflowStore {
        self
    }

    fn events(&self) -> &dyn EventStore {
        self
    }

    fn data_keys(&self) -> &dyn DataKeyStore {
        self
    }

    fn dashboard(&self) -> &dyn DashboardStore {
        self
    }
}

#[async_trait]
impl ProjectStore for PgStore {
    async fn create_project(
        &self,
        project: &NewProject,
        first_key: &NewSecretKeyRecord,
    ) -> StoreResult<Project> {
        project.refuse_nul()?;
        let mut tx = self.pool.begin().await?;
        let at = now();
        let row: ProjectRow = sqlx::query_as(
            "INSERT INTO projects (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)
             RETURNING id, name, settings, config_version, created_at, updated_at",
        )
        .bind(project.id)
        .bind(&project.name)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        insert_secret_key(&mut tx, first_key).await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn get_project(&self, id: Uuid) -> StoreResult<Option<Project>> {
        let row: Option<ProjectRow> = sqlx::query_as(
            "SELECT id, name, settings, config_version, created_at, updated_at
             FROM projects WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn list_projects(&self) -> StoreResult<Vec<Project>> {
        let rows: Vec<ProjectRow> = sqlx::query_as(
            "SELECT id, name, settings, config_version, created_at, updated_at
             FROM projects ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn get_project_with_active_keys(
        &self,
        project_id: Uuid,
    ) -> StoreResult<Option<(Project, Vec<SigningKeyRecord>)>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            project: ProjectRow,
            kid: Option<String>,
            algorithm: Option<String>,
            public_key_pem: Option<String>,
            key_created_at: Option<DateTime<Utc>>,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT p.id, p.name, p.settings, p.config_version, p.created_at, p.updated_at,
                    k.kid, k.algorithm, k.public_key_pem, k.created_at AS key_created_at
             FROM projects p
             LEFT JOIN signing_keys k ON k.project_id = p.id AND k.revoked_at IS NULL
             WHERE p.id = $1
             ORDER BY k.created_at, k.kid",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        let keys = rows
            .iter()
            .filter_map(|row| {
                Some(SigningKeyRecord {
                    project_id,
                    kid: row.kid.clone()?,
                    algorithm: row.algorithm.clone()?,
                    public_key_pem: row.public_key_pem.clone()?,
                    created_at: row.key_created_at?,
                    revoked_at: None,
                })
            })
            .collect();
        Ok(rows
            .into_iter()
            .next()
            .map(|first| (first.project.into(), keys)))
    }

    async fn insert_signing_key(
        &self,
        key: &NewSigningKey,
        max_active: usize,
    ) -> StoreResult<SigningKeyRecord> {
        let mut tx = self.pool.begin().await?;
        lock_project_keys(&mut tx, key.project_id, "signing_keys").await?;
        let inserted = config::insert_signing_key(&mut tx, key, max_active).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    async fn list_signing_keys(&self, project_id: Uuid) -> StoreResult<Vec<SigningKeyRecord>> {
        config::list_signing_keys(&self.pool, project_id).await
    }

    async fn revoke_signing_key(&self, project_id: Uuid, kid: &str) -> StoreResult<()> {
        config::revoke_signing_key(&self.pool, project_id, kid).await
    }

    async fn apply_config(
        &self,
        project_id: Uuid,
        config: &ConfigWrite,
        deleted: &[NewEvent],
    ) -> StoreResult<Project> {
        config.refuse_nul()?;
        deleted.refuse_nul()?;
        let mut tx = self.pool.begin().await?;
        config::apply(&mut tx, project_id, config, deleted).await?;
        events::insert(&mut tx, deleted).await?;
        let row: ProjectRow = sqlx::query_as(
            "SELECT id, name, settings, config_version, created_at, updated_at
             FROM projects WHERE id = $1",
        )
        .bind(project_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn get_config_document(
        &self,
        project_id: Uuid,
    ) -> StoreResult<Option<serde_json::Value>> {
        config::document(&self.pool, project_id).await
    }

    async fn list_integrations(&self, project_id: Uuid) -> StoreResult<Vec<IntegrationRecord>> {
        config::list_integrations(&self.pool, project_id).await
    }
}

#[async_trait]
impl SecretKeyStore for PgStore {
    async fn insert_secret_key(
        &self,
        key: &NewSecretKeyRecord,
        max_active: usize,
    ) -> StoreResult<SecretKeyRecord> {
        let mut tx = self.pool.begin().await?;
        lock_project_keys(&mut tx, key.project_id, "secret_keys").await?;
        let active: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM secret_keys WHERE project_id = $1 AND revoked_at IS NULL",
        )
        .bind(key.project_id)
        .fetch_one(&mut *tx)
        .await?;
        check_active_keys(active, max_active)?;
        let inserted = insert_secret_key(&mut tx, key).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    async fn find_active_secret_key(
        &self,
        hash: &SecretKeyHash,
    ) -> StoreResult<Option<SecretKeyRecord>> {
        let row: Option<SecretKeyRow> = sqlx::query_as(
            "SELECT id, project_id, display_prefix, created_at, revoked_at
             FROM secret_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(&hash.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn list_secret_keys(&self, project_id: Uuid) -> StoreResult<Vec<SecretKeyRecord>> {
        let rows: Vec<SecretKeyRow> = sqlx::query_as(
            "SELECT id, project_id, display_prefix, created_at, revoked_at
             FROM secret_keys WHERE project_id = $1 ORDER BY created_at, id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn revoke_secret_key(&self, project_id: Uuid, key_id: Uuid) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE secret_keys SET revoked_at = $1
             WHERE project_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(now())
        .bind(project_id)
        .bind(key_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn upsert_user(
        &self,
        project_id: Uuid,
        user_id: &str,
        meta: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> StoreResult<ConnectedUser> {
        refuse_nul_in_user(user_id, meta)?;
        let mut conn = self.pool.acquire().await?;
        credentials::upsert_user(&mut conn, project_id, user_id, meta).await
    }

    async fn get_user(
        &self,
        project_id: Uuid,
        user_id: &str,
    ) -> StoreResult<Option<ConnectedUser>> {
        credentials::get_user(&self.pool, project_id, user_id).await
    }

    async fn list_users(
        &self,
        project_id: Uuid,
        filter: &UserFilter,
    ) -> StoreResult<Vec<UserSummary>> {
        dashboard::list_users(&self.pool, project_id, filter).await
    }
}

#[async_trait]
impl CredentialStore for PgStore {
    async fn insert_credential(
        &self,
        credential: &NewCredential,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        credential.refuse_nul()?;
        let mut tx = self.pool.begin().await?;
        credentials::upsert_user(&mut tx, credential.project_id, &credential.user_id, None).await?;
        credentials::insert(&mut tx, credential).await?;
        events::insert(&mut tx, events).await?;
        let created = credentials::get(&mut *tx, credential.project_id, credential.id).await?;
        tx.commit().await?;
        created.ok_or(StoreError::NotFound)
    }

    async fn replace_credential_account(
        &self,
        project_id: Uuid,
        id: Uuid,
        replacement: &AccountReplacement,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        replacement.refuse_nul()?;
        events.refuse_nul()?;
        let mut tx = self.pool.begin().await?;
        credentials::replace_account(&mut tx, project_id, id, replacement).await?;
        events::insert(&mut tx, events).await?;
        let replaced = credentials::get(&mut *tx, project_id, id).await?;
        tx.commit().await?;
        replaced.ok_or(StoreError::NotFound)
    }

    async fn get_credential(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<CredentialRecord>> {
        credentials::get(&self.pool, project_id, id).await
    }

    async fn count_credentials(&self, project_id: Uuid) -> StoreResult<Vec<CredentialCount>> {
        dashboard::count_credentials(&self.pool, project_id).await
    }

    async fn list_credentials(
        &self,
        project_id: Uuid,
        filter: &CredentialFilter,
    ) -> StoreResult<Vec<CredentialRecord>> {
        credentials::list(&self.pool, project_id, filter).await
    }

    async fn update_credential(
        &self,
        project_id: Uuid,
        id: Uuid,
        changes: &CredentialChanges,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        changes.refuse_nul()?;
        events.refuse_nul()?;
        let mut tx = self.pool.begin().await?;
        credentials::update(&mut tx, project_id, id, changes).await?;
        events::insert(&mut tx, events).await?;
        let updated = credentials::get(&mut *tx, project_id, id).await?;
        tx.commit().await?;
        updated.ok_or(StoreError::NotFound)
    }

    async fn insert_configuration(
        &self,
        project_id: Uuid,
        configuration: &NewConfiguration,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        configuration.refuse_nul()?;
        events.refuse_nul()?;
        let mut tx = self.pool.begin().await?;
        credentials::insert_configuration(&mut tx, project_id, configuration).await?;
        events::insert(&mut tx, events).await?;
        let updated = credentials::get(&mut *tx, project_id, configuration.credential_id).await?;
        tx.commit().await?;
        updated.ok_or(StoreError::NotFound)
    }

    async fn delete_configuration(
        &self,
        project_id: Uuid,
        credential_id: Uuid,
        configuration_id: Uuid,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        let mut tx = self.pool.begin().await?;
        credentials::delete_configuration(&mut tx, project_id, credential_id, configuration_id)
            .await?;
        events::insert(&mut tx, events).await?;
        let updated = credentials::get(&mut *tx, project_id, credential_id).await?;
        tx.commit().await?;
        updated.ok_or(StoreError::NotFound)
    }

    async fn delete_credential(
        &self,
        project_id: Uuid,
        id: Uuid,
        events: &[NewEvent],
    ) -> StoreResult<String> {
        let mut tx = self.pool.begin().await?;
        let user_id: Option<String> = sqlx::query_scalar(
            "DELETE FROM credentials WHERE project_id = $1 AND id = $2 RETURNING user_id",
        )
        .bind(project_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = user_id else {
            return Err(StoreError::NotFound);
        };
        events::insert(&mut tx, events).await?;
        tx.commit().await?;
        Ok(user_id)
    }

    async fn claim_refresh(
        &self,
        project_id: Uuid,
        id: Uuid,
        version: i64,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<RefreshClaim> {
        let mut conn = self.pool.acquire().await?;
        credentials::claim_refresh(&mut conn, project_id, id, version, lease_until).await
    }

    async fn complete_refresh(
        &self,
        project_id: Uuid,
        id: Uuid,
        version: i64,
        tokens: &RefreshedTokens,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        let mut tx = self.pool.begin().await?;
        credentials::complete_refresh(&mut tx, project_id, id, version, tokens).await?;
        events::insert(&mut tx, events).await?;
        let refreshed = credentials::get(&mut *tx, project_id, id).await?;
        tx.commit().await?;
        refreshed.ok_or(StoreError::NotFound)
    }

    async fn record_refresh_failure(
        &self,
        project_id: Uuid,
        id: Uuid,
        version: i64,
        failure: &RefreshFailure,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        let mut tx = self.pool.begin().await?;
        credentials::record_refresh_failure(&mut tx, project_id, id, version, failure).await?;
        events::insert(&mut tx, events).await?;
        let failed = credentials::get(&mut *tx, project_id, id).await?;
        tx.commit().await?;
        failed.ok_or(StoreError::NotFound)
    }

    async fn due_refreshes(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<DueRefresh>> {
        credentials::due_refreshes(&self.pool, before, limit).await
    }
}

#[async_trait]
impl InstallSessionStore for PgStore {
    async fn create_install_session(&self, session: &NewInstallSession) -> StoreResult<()> {
        session.refuse_nul()?;
        install::create(&self.pool, session).await
    }

    async fn get_install_session(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<InstallSession>> {
        install::get(&self.pool, project_id, id).await
    }

    async fn consume_install_state(&self, state_hash: &str) -> StoreResult<Option<InstallSession>> {
        install::consume_state(&self.pool, state_hash).await
    }

    async fn rearm_install_session(
        &self,
        id: Uuid,
        state_hash: &str,
        secrets: &[u8],
    ) -> StoreResult<()> {
        install::rearm(&self.pool, id, state_hash, secrets).await
    }

    async fn finish_install_session(
        &self,
        id: Uuid,
        status: InstallStatus,
        credential_id: Option<Uuid>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        install::finish(&self.pool, id, status, credential_id, error).await
    }
}

#[async_trait]
impl WorkflowStore for PgStore {
    async fn list_workflows(&self, project_id: Uuid) -> StoreResult<Vec<WorkflowRecord>> {
        config::list_workflows(&self.pool, project_id).await
    }

    async fn list_workflows_with_trigger(
        &self,
        trigger_type: &str,
    ) -> StoreResult<Vec<WorkflowRecord>> {
        config::list_workflows_with_trigger(&self.pool, trigger_type).await
    }

    async fn insert_execution(
        &self,
        execution: &NewExecution,
        job: Option<&NewJob>,
    ) -> StoreResult<bool> {
        execution.refuse_nul()?;
        runs::insert_execution(&self.pool, execution, job).await
    }

    async fn start_execution(
        &self,
        project_id: Uuid,
        id: Uuid,
        started_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        runs::start_execution(&self.pool, project_id, id, started_at).await
    }

    async fn finish_execution(
        &self,
        project_id: Uuid,
        id: Uuid,
        outcome: &ExecutionOutcome,
        events: &[NewEvent],
        job: Option<Uuid>,
    ) -> StoreResult<()> {
        outcome.refuse_nul()?;
        runs::finish_execution(&self.pool, project_id, id, outcome, events, job).await
    }

    async fn get_execution(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<(ExecutionRecord, Vec<StepRecord>)>> {
        runs::get_execution(&self.pool, project_id, id).await
    }

    async fn list_executions(
        &self,
        project_id: Uuid,
        filter: &ExecutionFilter,
    ) -> StoreResult<Vec<ExecutionRecord>> {
        runs::list_executions(&self.pool, project_id, filter).await
    }

    async fn count_executions(
        &self,
        project_id: Uuid,
        filter: &ExecutionFilter,
    ) -> StoreResult<i64> {
        runs::count_executions(&self.pool, project_id, filter).await
    }

    async fn count_finished_executions_by_hour(
        &self,
        project_id: Uuid,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<ExecutionsInHour>> {
        runs::count_finished_by_hour(&self.pool, project_id, since).await
    }

    async fn claim_jobs(
        &self,
        kind: &str,
        worker: &str,
        limit: i64,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Vec<JobRecord>> {
        runs::claim_jobs(&self.pool, kind, worker, limit, lease_until).await
    }

    async fn extend_job_leases(
        &self,
        worker: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<u64> {
        runs::extend_job_leases(&self.pool, worker, lease_until).await
    }

    async fn finish_job(&self, id: Uuid, worker: &str, error: Option<&str>) -> StoreResult<()> {
        runs::finish_job(&self.pool, id, worker, error).await
    }

    async fn release_jobs(&self, worker: &str) -> StoreResult<u64> {
        runs::release_jobs(&self.pool, worker).await
    }

    async fn purge_finished_jobs(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        runs::purge_finished_jobs(&self.pool, before).await
    }

    async fn count_pending_jobs(&self, kind: &str) -> StoreResult<i64> {
        runs::count_pending_jobs(&self.pool, kind).await
    }

    async fn record_inbound_delivery(
        &self,
        delivery: &InboundDelivery,
        runs: &[(NewExecution, NewJob)],
    ) -> StoreResult<bool> {
        delivery.refuse_nul()?;
        for (execution, _) in runs {
            execution.refuse_nul()?;
        }
        inbound::record(&self.pool, delivery, runs).await
    }

    async fn list_inbound_deliveries(
        &self,
        project_id: Uuid,
        filter: &InboundFilter,
    ) -> StoreResult<Vec<InboundDelivery>> {
        inbound::list(&self.pool, project_id, filter).await
    }

    async fn purge_inbound_deliveries(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        inbound::purge(&self.pool, before).await
    }
}

#[async_trait]
impl EventStore for PgStore {
    fn event_notices(&self) -> tokio::sync::broadcast::Receiver<EventNotice> {
        self.notices.subscribe_events()
    }

    async fn list_user_events(
        &self,
        project_id: Uuid,
        user_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>> {
        events::list_for_user(&self.pool, project_id, user_id, after_seq, limit).await
    }

    async fn last_user_event_seq(&self, project_id: Uuid, user_id: &str) -> StoreResult<i64> {
        events::last_seq_of_user(&self.pool, project_id, user_id).await
    }

    async fn list_project_events(
        &self,
        project_id: Uuid,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>> {
        events::list_for_project(&self.pool, project_id, after_seq, limit).await
    }

    async fn last_project_event_seq(&self, project_id: Uuid) -> StoreResult<i64> {
        events::last_seq_of_project(&self.pool, project_id).await
    }

    async fn create_webhook_endpoint(
        &self,
        endpoint: &NewWebhookEndpoint,
    ) -> StoreResult<WebhookEndpointRecord> {
        endpoint.refuse_nul()?;
        webhooks::create_endpoint(&self.pool, endpoint).await
    }

    async fn list_webhook_endpoints(
        &self,
        project_id: Uuid,
    ) -> StoreResult<Vec<WebhookEndpointRecord>> {
        webhooks::list_endpoints(&self.pool, project_id).await
    }

    async fn get_webhook_endpoint(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<WebhookEndpointRecord>> {
        webhooks::get_endpoint(&self.pool, project_id, id).await
    }

    async fn set_webhook_endpoint_disabled(
        &self,
        project_id: Uuid,
        id: Uuid,
        disabled: bool,
    ) -> StoreResult<WebhookEndpointRecord> {
        webhooks::set_endpoint_disabled(&self.pool, project_id, id, disabled).await
    }

    async fn set_webhook_endpoint_secret(
        &self,
        project_id: Uuid,
        id: Uuid,
        secret: &[u8],
    ) -> StoreResult<WebhookEndpointRecord> {
        webhooks::set_endpoint_secret(&self.pool, project_id, id, secret).await
    }

    async fn delete_webhook_endpoint(&self, project_id: Uuid, id: Uuid) -> StoreResult<()> {
        webhooks::delete_endpoint(&self.pool, project_id, id).await
    }

    async fn claim_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        webhooks::claim(&self.pool, now, lease_until, limit).await
    }

    async fn record_delivery_attempt(
        &self,
        id: Uuid,
        outcome: &DeliveryOutcome,
    ) -> StoreResult<()> {
        webhooks::record_attempt(&self.pool, id, outcome).await
    }

    async fn list_webhook_deliveries(
        &self,
        project_id: Uuid,
        endpoint_id: Uuid,
        filter: &DeliveryFilter,
    ) -> StoreResult<Vec<WebhookDeliveryRecord>> {
        webhooks::list_deliveries(&self.pool, project_id, endpoint_id, filter).await
    }

    async fn replay_webhook_delivery(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<WebhookDeliveryRecord> {
        webhooks::replay(&self.pool, project_id, id).await
    }
}

#[async_trait]
impl DataKeyStore for PgStore {
    async fn list_data_keys(&self) -> StoreResult<Vec<DataKeyRecord>> {
        let rows: Vec<DataKeyRow> = sqlx::query_as(
            "SELECT id, wrapped_key, created_at, retired_at FROM data_keys ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn insert_data_key(&self, key: &WrappedDataKey) -> StoreResult<DataKeyRecord> {
        let row: DataKeyRow = sqlx::query_as(
            "INSERT INTO data_keys (id, wrapped_key, created_at) VALUES ($1, $2, $3)
             RETURNING id, wrapped_key, created_at, retired_at",
        )
        .bind(key.id)
        .bind(&key.wrapped)
        .bind(now())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.into())
    }

    async fn insert_standby_data_key(&self, key: &WrappedDataKey) -> StoreResult<DataKeyRecord> {
        data_keys::insert_standby(&self.pool, key).await
    }

    async fn activate_data_key(&self, id: Uuid) -> StoreResult<()> {
        data_keys::activate(&self.pool, id).await
    }

    async fn retire_data_keys_except(&self, id: Uuid) -> StoreResult<u64> {
        data_keys::retire_except(&self.pool, id).await
    }

    async fn list_sealed(
        &self,
        column: SealedColumn,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<SealedValue>> {
        data_keys::list_sealed(&self.pool, column, after, limit).await
    }

    async fn swap_sealed(
        &self,
        column: SealedColumn,
        record_id: Uuid,
        old: &[u8],
        new: &[u8],
    ) -> StoreResult<bool> {
        data_keys::swap_sealed(&self.pool, column, record_id, old, new).await
    }
}
