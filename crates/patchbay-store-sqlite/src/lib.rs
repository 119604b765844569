//! The embedded default store: one SQLite file in WAL mode.
//!
//! SQLite allows one writer at a time. Rather than letting concurrent writers
//! collide and retry on `SQLITE_BUSY`, every write goes through a pool of a
//! single connection, so writes queue in-process; reads use their own pool and
//! run concurrently with the writer thanks to WAL. A second process on the same
//! file (a CLI command next to `serve`) is covered by the busy timeout.

mod bulk;
mod config;
mod credentials;
mod dashboard;
mod data_keys;
mod event_row;
mod events;
mod inbound;
mod install;
mod plans;
mod rows;
mod runs;
mod time;
mod webhooks;

use std::path::{Path, PathBuf};
use std::str::FromStr;
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
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row as _, SqliteConnection};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::rows::uuid;
use crate::time::{from_millis, opt_from_millis, to_millis};

/// The schema migrations compiled into this binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

const READ_CONNECTIONS: u32 = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Announces committed events to this process's listeners; a file has
    /// one serving process, so in-process is everywhere that matters.
    notices: broadcast::Sender<EventNotice>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database named by a `sqlite://` URL.
    /// The file's directory is created too, so the zero-config default works
    /// on a fresh checkout.
    ///
    /// What this creates only its owner may open: the directory `0700`, the
    /// file `0600`. The file holds sealed tokens, the hashes of secret keys
    /// and every account's metadata; SQLite gives its `-wal` and `-shm`
    /// files the database file's mode.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        if !is_in_memory(url) {
            let file = options.get_filename();
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_private_dir(dir)?;
            }
            create_private_file(file)?;
        }
        // A connection to a file in this process cannot go stale the way a
        // network one can: checking it before each use (sqlx's default, a
        // round trip to its worker thread) buys nothing.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(Self {
            writer,
            reader,
            notices: broadcast::channel(1024).0,
        })
    }

    /// Stores many accounts at once (see `bulk.rs`), with their users and
    /// default configurations; nothing is announced to caches.
    pub async fn insert_credentials_in_bulk(
        &self,
        credentials: &[NewCredential],
    ) -> StoreResult<()> {
        bulk::insert_credentials(&self.writer, credentials).await
    }

    /// Stores finished runs in Task History at once.
    pub async fn insert_executions_in_bulk(&self, executions: &[NewExecution]) -> StoreResult<()> {
        bulk::insert_executions(&self.writer, executions).await
    }

    /// Stores past events at once, delivered to every webhook endpoint.
    pub async fn insert_delivered_events_in_bulk(&self, events: &[NewEvent]) -> StoreResult<()> {
        bulk::insert_delivered_events(&self.writer, events).await
    }

    /// Brings the planner's statistics up to date after a bulk load.
    pub async fn analyze(&self) -> StoreResult<()> {
        bulk::analyze(&self.writer).await
    }

    /// The plan SQLite would choose now for a hot-path statement (see
    /// `plans.rs`), one line per step: for tests and benchmarks that check
    /// a loaded database is read through its indexes.
    pub async fn explain(&self, query: &HotQuery) -> StoreResult<Vec<String>> {
        plans::explain(&self.reader, query).await
    }

    /// Commits a transaction that wrote `events`, then tells listeners.
    async fn commit_announcing(
        &self,
        tx: sqlx::Transaction<'_, sqlx::Sqlite>,
        events: &[NewEvent],
    ) -> StoreResult<()> {
        tx.commit().await?;
        self.announce(events);
        Ok(())
    }

    /// Tells listeners that `events`, just committed, exist.
    fn announce(&self, events: &[NewEvent]) {
        let mut announced: Vec<(Uuid, &str)> = Vec::new();
        for event in events {
            let user = (event.project_id, event.user_id.as_str());
            if !announced.contains(&user) {
                announced.push(user);
                // No listener is not an error.
                let _ = self.notices.send(EventNotice {
                    project_id: event.project_id,
                    user_id: Some(event.user_id.clone()),
                });
            }
        }
    }
}

/// What a `sqlite://` URL names on disk: the database's directory, the
/// database file, and its `-wal` and `-shm` files (whether they exist or
/// not); nothing for an in-memory database.
pub fn database_paths(url: &str) -> StoreResult<Vec<PathBuf>> {
    if is_in_memory(url) {
        return Ok(Vec::new());
    }
    let options = SqliteConnectOptions::from_str(url)?;
    let file = options.get_filename();
    let mut paths: Vec<PathBuf> = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .into_iter()
        .collect();
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        paths.push(PathBuf::from(name));
    }
    Ok(paths)
}

/// `sqlite::memory:` and `?mode=memory` name no file.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

fn create_private_dir(dir: &Path) -> StoreResult<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(StoreError::backend)
}

/// Creates the database file empty (an empty file is an empty SQLite
/// database) unless it exists, so that SQLite does not create it with the
/// process's default mode.
fn create_private_file(file: &Path) -> StoreResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(StoreError::backend(err)),
    }
}

fn project_from_row(row: &SqliteRow) -> StoreResult<Project> {
    Ok(Project {
        id: uuid(row, "id")?,
        name: row.try_get("name")?,
        settings: serde_json::from_str(row.try_get("settings")?)
            .map_err(|e| StoreError::Corrupt(format!("projects.settings: {e}")))?,
        config_version: row.try_get("config_version")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
    })
}

fn secret_key_from_row(row: &SqliteRow) -> StoreResult<SecretKeyRecord> {
    Ok(SecretKeyRecord {
        id: uuid(row, "id")?,
        project_id: uuid(row, "project_id")?,
        display_prefix: row.try_get("display_prefix")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        revoked_at: opt_from_millis(row.try_get("revoked_at")?)?,
    })
}

fn data_key_from_row(row: &SqliteRow) -> StoreResult<DataKeyRecord> {
    Ok(DataKeyRecord {
        key: WrappedDataKey {
            id: uuid(row, "id")?,
            wrapped: row.try_get("wrapped_key")?,
        },
        created_at: from_millis(row.try_get("created_at")?)?,
        retired_at: opt_from_millis(row.try_get("retired_at")?)?,
    })
}

async fn insert_secret_key(
    conn: &mut SqliteConnection,
    key: &NewSecretKeyRecord,
) -> StoreResult<SecretKeyRecord> {
    let row = sqlx::query(
        "INSERT INTO secret_keys (id, project_id, key_hash, display_prefix, created_at)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, project_id, display_prefix, created_at, revoked_at",
    )
    .bind(key.id.hyphenated())
    .bind(key.project_id.hyphenated())
    .bind(&key.hash.0)
    .bind(&key.display_prefix)
    .bind(to_millis(now()))
    .fetch_one(conn)
    .await?;
    secret_key_from_row(&row)
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.writer)
            .await
            .map_err(StoreError::backend)
    }

    async fn readiness(&self) -> StoreResult<Readiness> {
        let table_exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
        )
        .fetch_one(&self.reader)
        .await?;
        let applied: Vec<i64> = if table_exists {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.reader)
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

    /// SQLite has no channel between processes: a server sees what another
    /// process (`patchbay apply`, say) wrote to the same file once its cached
    /// entries expire.
    async fn announce_change(&self, _notice: &ChangeNotice) -> StoreResult<()> {
        Ok(())
    }

    fn change_notices(&self) -> Option<broadcast::Receiver<ChangeNotice>> {
        None
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
impl ProjectStore for SqliteStore {
    async fn create_project(
        &self,
        project: &NewProject,
        first_key: &NewSecretKeyRecord,
    ) -> StoreResult<Project> {
        project.refuse_nul()?;
        let mut tx = self.writer.begin().await?;
        let at = to_millis(now());
        let row = sqlx::query(
            "INSERT INTO projects (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)
             RETURNING id, name, settings, config_version, created_at, updated_at",
        )
        .bind(project.id.hyphenated())
        .bind(&project.name)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        let created = project_from_row(&row)?;
        insert_secret_key(&mut tx, first_key).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn get_project(&self, id: Uuid) -> StoreResult<Option<Project>> {
        let row = sqlx::query(
            "SELECT id, name, settings, config_version, created_at, updated_at
             FROM projects WHERE id = $1",
        )
        .bind(id.hyphenated())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    async fn list_projects(&self) -> StoreResult<Vec<Project>> {
        let rows = sqlx::query(
            "SELECT id, name, settings, config_version, created_at, updated_at
             FROM projects ORDER BY created_at, id",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(project_from_row).collect()
    }

    async fn get_project_with_active_keys(
        &self,
        project_id: Uuid,
    ) -> StoreResult<Option<(Project, Vec<SigningKeyRecord>)>> {
        let rows = sqlx::query(
            "SELECT p.id, p.name, p.settings, p.config_version, p.created_at, p.updated_at,
                    k.kid, k.algorithm, k.public_key_pem, k.created_at AS key_created_at
             FROM projects p
             LEFT JOIN signing_keys k ON k.project_id = p.id AND k.revoked_at IS NULL
             WHERE p.id = $1
             ORDER BY k.created_at, k.kid",
        )
        .bind(project_id.hyphenated())
        .fetch_all(&self.reader)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let project = project_from_row(first)?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(kid) = row.try_get::<Option<String>, _>("kid")? else {
                continue;
            };
            keys.push(SigningKeyRecord {
                project_id,
                kid,
                algorithm: row.try_get("algorithm")?,
                public_key_pem: row.try_get("public_key_pem")?,
                created_at: from_millis(row.try_get("key_created_at")?)?,
                revoked_at: None,
            });
        }
        Ok(Some((project, keys)))
    }

    async fn insert_signing_key(
        &self,
        key: &NewSigningKey,
        max_active: usize,
    ) -> StoreResult<SigningKeyRecord> {
        let mut tx = self.writer.begin().await?;
        let inserted = config::insert_signing_key(&mut tx, key, max_active).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    async fn list_signing_keys(&self, project_id: Uuid) -> StoreResult<Vec<SigningKeyRecord>> {
        config::list_signing_keys(&self.reader, project_id).await
    }

    async fn revoke_signing_key(&self, project_id: Uuid, kid: &str) -> StoreResult<()> {
        config::revoke_signing_key(&self.writer, project_id, kid).await
    }

    async fn apply_config(
        &self,
        project_id: Uuid,
        config: &ConfigWrite,
        deleted: &[NewEvent],
    ) -> StoreResult<Project> {
        config.refuse_nul()?;
        deleted.refuse_nul()?;
        let mut tx = self.writer.begin().await?;
        config::apply(&mut tx, project_id, config, deleted).await?;
        events::insert(&mut tx, deleted).await?;
        let row = sqlx::query(
            "SELECT id, name, settings, config_version, created_at, updated_at
             FROM projects WHERE id = $1",
        )
        .bind(project_id.hyphenated())
        .fetch_one(&mut *tx)
        .await?;
        self.commit_announcing(tx, deleted).await?;
        project_from_row(&row)
    }

    async fn get_config_document(
        &self,
        project_id: Uuid,
    ) -> StoreResult<Option<serde_json::Value>> {
        config::document(&self.reader, project_id).await
    }

    async fn list_integrations(&self, project_id: Uuid) -> StoreResult<Vec<IntegrationRecord>> {
        config::list_integrations(&self.reader, project_id).await
    }
}

#[async_trait]
impl SecretKeyStore for SqliteStore {
    async fn insert_secret_key(
        &self,
        key: &NewSecretKeyRecord,
        max_active: usize,
    ) -> StoreResult<SecretKeyRecord> {
        // One writer: nothing inserts between the count and the insert.
        let mut tx = self.writer.begin().await?;
        let active: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM secret_keys WHERE project_id = $1 AND revoked_at IS NULL",
        )
        .bind(key.project_id.hyphenated())
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
        let row = sqlx::query(
            "SELECT id, project_id, display_prefix, created_at, revoked_at
             FROM secret_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(&hash.0)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(secret_key_from_row).transpose()
    }

    async fn list_secret_keys(&self, project_id: Uuid) -> StoreResult<Vec<SecretKeyRecord>> {
        sqlx::query(
            "SELECT id, project_id, display_prefix, created_at, revoked_at
             FROM secret_keys WHERE project_id = $1 ORDER BY created_at, id",
        )
        .bind(project_id.hyphenated())
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(secret_key_from_row)
        .collect()
    }

    async fn revoke_secret_key(&self, project_id: Uuid, key_id: Uuid) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE secret_keys SET revoked_at = $1
             WHERE project_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(to_millis(now()))
        .bind(project_id.hyphenated())
        .bind(key_id.hyphenated())
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn upsert_user(
        &self,
        project_id: Uuid,
        user_id: &str,
        meta: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> StoreResult<ConnectedUser> {
        refuse_nul_in_user(user_id, meta)?;
        let mut tx = self.writer.begin().await?;
        let user = credentials::upsert_user(&mut tx, project_id, user_id, meta).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn get_user(
        &self,
        project_id: Uuid,
        user_id: &str,
    ) -> StoreResult<Option<ConnectedUser>> {
        credentials::get_user(&self.reader, project_id, user_id).await
    }

    async fn list_users(
        &self,
        project_id: Uuid,
        filter: &UserFilter,
    ) -> StoreResult<Vec<UserSummary>> {
        dashboard::list_users(&self.reader, project_id, filter).await
    }
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn insert_credential(
        &self,
        credential: &NewCredential,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        credential.refuse_nul()?;
        let mut tx = self.writer.begin().await?;
        credentials::upsert_user(&mut tx, credential.project_id, &credential.user_id, None).await?;
        credentials::insert(&mut tx, credential).await?;
        events::insert(&mut tx, events).await?;
        let created = credentials::get(&mut *tx, credential.project_id, credential.id).await?;
        self.commit_announcing(tx, events).await?;
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
        let mut tx = self.writer.begin().await?;
        credentials::replace_account(&mut tx, project_id, id, replacement).await?;
        events::insert(&mut tx, events).await?;
        let replaced = credentials::get(&mut *tx, project_id, id).await?;
        self.commit_announcing(tx, events).await?;
        replaced.ok_or(StoreError::NotFound)
    }

    async fn get_credential(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<CredentialRecord>> {
        credentials::get(&self.reader, project_id, id).await
    }

    async fn count_credentials(&self, project_id: Uuid) -> StoreResult<Vec<CredentialCount>> {
        dashboard::count_credentials(&self.reader, project_id).await
    }

    async fn list_credentials(
        &self,
        project_id: Uuid,
        filter: &CredentialFilter,
    ) -> StoreResult<Vec<CredentialRecord>> {
        credentials::list(&self.reader, project_id, filter).await
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
        let mut tx = self.writer.begin().await?;
        credentials::update(&mut tx, project_id, id, changes).await?;
        events::insert(&mut tx, events).await?;
        let updated = credentials::get(&mut *tx, project_id, id).await?;
        self.commit_announcing(tx, events).await?;
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
        let mut tx = self.writer.begin().await?;
        credentials::insert_configuration(&mut tx, project_id, configuration).await?;
        events::insert(&mut tx, events).await?;
        let updated = credentials::get(&mut *tx, project_id, configuration.credential_id).await?;
        self.commit_announcing(tx, events).await?;
        updated.ok_or(StoreError::NotFound)
    }

    async fn delete_configuration(
        &self,
        project_id: Uuid,
        credential_id: Uuid,
        configuration_id: Uuid,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        let mut tx = self.writer.begin().await?;
        credentials::delete_configuration(&mut tx, project_id, credential_id, configuration_id)
            .await?;
        events::insert(&mut tx, events).await?;
        let updated = credentials::get(&mut *tx, project_id, credential_id).await?;
        self.commit_announcing(tx, events).await?;
        updated.ok_or(StoreError::NotFound)
    }

    async fn delete_credential(
        &self,
        project_id: Uuid,
        id: Uuid,
        events: &[NewEvent],
    ) -> StoreResult<String> {
        let mut tx = self.writer.begin().await?;
        let user_id: Option<String> = sqlx::query_scalar(
            "DELETE FROM credentials WHERE project_id = $1 AND id = $2 RETURNING user_id",
        )
        .bind(project_id.hyphenated())
        .bind(id.hyphenated())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = user_id else {
            return Err(StoreError::NotFound);
        };
        events::insert(&mut tx, events).await?;
        self.commit_announcing(tx, events).await?;
        Ok(user_id)
    }

    async fn claim_refresh(
        &self,
        project_id: Uuid,
        id: Uuid,
        version: i64,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<RefreshClaim> {
        let mut conn = self.writer.acquire().await?;
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
        let mut tx = self.writer.begin().await?;
        credentials::complete_refresh(&mut tx, project_id, id, version, tokens).await?;
        events::insert(&mut tx, events).await?;
        let refreshed = credentials::get(&mut *tx, project_id, id).await?;
        self.commit_announcing(tx, events).await?;
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
        let mut tx = self.writer.begin().await?;
        credentials::record_refresh_failure(&mut tx, project_id, id, version, failure).await?;
        events::insert(&mut tx, events).await?;
        let failed = credentials::get(&mut *tx, project_id, id).await?;
        self.commit_announcing(tx, events).await?;
        failed.ok_or(StoreError::NotFound)
    }

    async fn due_refreshes(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<DueRefresh>> {
        credentials::due_refreshes(&self.reader, before, limit).await
    }
}

#[async_trait]
impl InstallSessionStore for SqliteStore {
    async fn create_install_session(&self, session: &NewInstallSession) -> StoreResult<()> {
        session.refuse_nul()?;
        install::create(&self.writer, session).await
    }

    async fn get_install_session(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<InstallSession>> {
        install::get(&self.reader, project_id, id).await
    }

    async fn consume_install_state(&self, state_hash: &str) -> StoreResult<Option<InstallSession>> {
        install::consume_state(&self.writer, state_hash).await
    }

    async fn rearm_install_session(
        &self,
        id: Uuid,
        state_hash: &str,
        secrets: &[u8],
    ) -> StoreResult<()> {
        install::rearm(&self.writer, id, state_hash, secrets).await
    }

    async fn finish_install_session(
        &self,
        id: Uuid,
        status: InstallStatus,
        credential_id: Option<Uuid>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        install::finish(&self.writer, id, status, credential_id, error).await
    }
}

#[async_trait]
impl WorkflowStore for SqliteStore {
    async fn list_workflows(&self, project_id: Uuid) -> StoreResult<Vec<WorkflowRecord>> {
        config::list_workflows(&self.reader, project_id).await
    }

    async fn list_workflows_with_trigger(
        &self,
        trigger_type: &str,
    ) -> StoreResult<Vec<WorkflowRecord>> {
        config::list_workflows_with_trigger(&self.reader, trigger_type).await
    }

    async fn insert_execution(
        &self,
        execution: &NewExecution,
        job: Option<&NewJob>,
    ) -> StoreResult<bool> {
        execution.refuse_nul()?;
        runs::insert_execution(&self.writer, execution, job).await
    }

    async fn start_execution(
        &self,
        project_id: Uuid,
        id: Uuid,
        started_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        runs::start_execution(&self.writer, project_id, id, started_at).await
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
        let tx = runs::finish_execution(&self.writer, project_id, id, outcome, events, job).await?;
        self.commit_announcing(tx, events).await
    }

    async fn get_execution(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<(ExecutionRecord, Vec<StepRecord>)>> {
        runs::get_execution(&self.reader, project_id, id).await
    }

    async fn list_executions(
        &self,
        project_id: Uuid,
        filter: &ExecutionFilter,
    ) -> StoreResult<Vec<ExecutionRecord>> {
        runs::list_executions(&self.reader, project_id, filter).await
    }

    async fn count_executions(
        &self,
        project_id: Uuid,
        filter: &ExecutionFilter,
    ) -> StoreResult<i64> {
        runs::count_executions(&self.reader, project_id, filter).await
    }

    async fn count_finished_executions_by_hour(
        &self,
        project_id: Uuid,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<ExecutionsInHour>> {
        runs::count_finished_by_hour(&self.reader, project_id, since).await
    }

    async fn claim_jobs(
        &self,
        kind: &str,
        worker: &str,
        limit: i64,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Vec<JobRecord>> {
        runs::claim_jobs(&self.writer, kind, worker, limit, lease_until).await
    }

    async fn extend_job_leases(
        &self,
        worker: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<u64> {
        runs::extend_job_leases(&self.writer, worker, lease_until).await
    }

    async fn finish_job(&self, id: Uuid, worker: &str, error: Option<&str>) -> StoreResult<()> {
        runs::finish_job(&self.writer, id, worker, error).await
    }

    async fn release_jobs(&self, worker: &str) -> StoreResult<u64> {
        runs::release_jobs(&self.writer, worker).await
    }

    async fn purge_finished_jobs(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        runs::purge_finished_jobs(&self.writer, before).await
    }

    async fn count_pending_jobs(&self, kind: &str) -> StoreResult<i64> {
        runs::count_pending_jobs(&self.reader, kind).await
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
        inbound::record(&self.writer, delivery, runs).await
    }

    async fn list_inbound_deliveries(
        &self,
        project_id: Uuid,
        filter: &InboundFilter,
    ) -> StoreResult<Vec<InboundDelivery>> {
        inbound::list(&self.reader, project_id, filter).await
    }

    async fn purge_inbound_deliveries(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        inbound::purge(&self.writer, before).await
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    fn event_notices(&self) -> broadcast::Receiver<EventNotice> {
        self.notices.subscribe()
    }

    async fn list_user_events(
        &self,
        project_id: Uuid,
        user_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>> {
        events::list_for_user(&self.reader, project_id, user_id, after_seq, limit).await
    }

    async fn last_user_event_seq(&self, project_id: Uuid, user_id: &str) -> StoreResult<i64> {
        events::last_seq_of_user(&self.reader, project_id, user_id).await
    }

    async fn list_project_events(
        &self,
        project_id: Uuid,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>> {
        events::list_for_project(&self.reader, project_id, after_seq, limit).await
    }

    async fn last_project_event_seq(&self, project_id: Uuid) -> StoreResult<i64> {
        events::last_seq_of_project(&self.reader, project_id).await
    }

    async fn create_webhook_endpoint(
        &self,
        endpoint: &NewWebhookEndpoint,
    ) -> StoreResult<WebhookEndpointRecord> {
        endpoint.refuse_nul()?;
        webhooks::create_endpoint(&self.writer, endpoint).await
    }

    async fn list_webhook_endpoints(
        &self,
        project_id: Uuid,
    ) -> StoreResult<Vec<WebhookEndpointRecord>> {
        webhooks::list_endpoints(&self.reader, project_id).await
    }

    async fn get_webhook_endpoint(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<WebhookEndpointRecord>> {
        webhooks::get_endpoint(&self.reader, project_id, id).await
    }

    async fn set_webhook_endpoint_disabled(
        &self,
        project_id: Uuid,
        id: Uuid,
        disabled: bool,
    ) -> StoreResult<WebhookEndpointRecord> {
        webhooks::set_endpoint_disabled(&self.writer, project_id, id, disabled).await
    }

    async fn set_webhook_endpoint_secret(
        &self,
        project_id: Uuid,
        id: Uuid,
        secret: &[u8],
    ) -> StoreResult<WebhookEndpointRecord> {
        webhooks::set_endpoint_secret(&self.writer, project_id, id, secret).await
    }

    async fn delete_webhook_endpoint(&self, project_id: Uuid, id: Uuid) -> StoreResult<()> {
        webhooks::delete_endpoint(&self.writer, project_id, id).await
    }

    async fn claim_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        webhooks::claim(&self.writer, now, lease_until, limit).await
    }

    async fn record_delivery_attempt(
        &self,
        id: Uuid,
        outcome: &DeliveryOutcome,
    ) -> StoreResult<()> {
        webhooks::record_attempt(&self.writer, id, outcome).await
    }

    async fn list_webhook_deliveries(
        &self,
        project_id: Uuid,
        endpoint_id: Uuid,
        filter: &DeliveryFilter,
    ) -> StoreResult<Vec<WebhookDeliveryRecord>> {
        webhooks::list_deliveries(&self.reader, project_id, endpoint_id, filter).await
    }

    async fn replay_webhook_delivery(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<WebhookDeliveryRecord> {
        webhooks::replay(&self.writer, project_id, id).await
    }
}

#[async_trait]
impl DataKeyStore for SqliteStore {
    async fn list_data_keys(&self) -> StoreResult<Vec<DataKeyRecord>> {
        sqlx::query(
            "SELECT id, wrapped_key, created_at, retired_at FROM data_keys ORDER BY created_at, id",
        )
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(data_key_from_row)
        .collect()
    }

    async fn insert_data_key(&self, key: &WrappedDataKey) -> StoreResult<DataKeyRecord> {
        let row = sqlx::query(
            "INSERT INTO data_keys (id, wrapped_key, created_at) VALUES ($1, $2, $3)
             RETURNING id, wrapped_key, created_at, retired_at",
        )
        .bind(key.id.hyphenated())
        .bind(&key.wrapped)
        .bind(to_millis(now()))
        .fetch_one(&self.writer)
        .await?;
        data_key_from_row(&row)
    }

    async fn insert_standby_data_key(&self, key: &WrappedDataKey) -> StoreResult<DataKeyRecord> {
        data_keys::insert_standby(&self.writer, key).await
    }

    async fn activate_data_key(&self, id: Uuid) -> StoreResult<()> {
        data_keys::activate(&self.writer, id).await
    }

    async fn retire_data_keys_except(&self, id: Uuid) -> StoreResult<u64> {
        data_keys::retire_except(&self.writer, id).await
    }

    async fn list_sealed(
        &self,
        column: SealedColumn,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<SealedValue>> {
        data_keys::list_sealed(&self.reader, column, after, limit).await
    }

    async fn swap_sealed(
        &self,
        column: SealedColumn,
        record_id: Uuid,
        old: &[u8],
        new: &[u8],
    ) -> StoreResult<bool> {
        data_keys::swap_sealed(&self.writer, column, record_id, old, new).await
    }
}
