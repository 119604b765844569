//! The embedded default store: one SQLite file in WAL mode.
//!
//! SQLite allows one writer at a time. Rather than letting concurrent writers
//! collide and retry on `SQLITE_BUSY`, every write goes through a pool of a
//! single connection, so writes queue in-process; reads use their own pool and
//! run concurrently with the writer thanks to WAL. A second process on the same
//! file (a CLI command next to `serve`) is covered by the busy timeout.

mod time;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use patchbay_core::crypto::WrappedDataKey;
use patchbay_core::secret_key::SecretKeyHash;
use patchbay_store::{
    Backend, DataKeyRecord, NewProject, NewSecretKeyRecord, Project, Readiness, SecretKeyRecord,
    Store, StoreError, StoreResult, now,
};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row as _, SqliteConnection};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use crate::time::{from_millis, opt_from_millis, to_millis};

/// The schema migrations compiled into this binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

const READ_CONNECTIONS: u32 = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database named by a `sqlite://` URL.
    /// The file's directory is created too, so the zero-config default works
    /// on a fresh checkout.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        if let Some(dir) = options
            .get_filename()
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            create_dir(dir)?;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options)
            .await?;
        Ok(Self { writer, reader })
    }
}

fn create_dir(dir: &Path) -> StoreResult<()> {
    std::fs::create_dir_all(dir).map_err(StoreError::backend)
}

fn uuid(row: &SqliteRow, column: &str) -> StoreResult<Uuid> {
    Ok(row.try_get::<Hyphenated, _>(column)?.into_uuid())
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

    async fn create_project(
        &self,
        project: &NewProject,
        first_key: &NewSecretKeyRecord,
    ) -> StoreResult<Project> {
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

    async fn insert_secret_key(&self, key: &NewSecretKeyRecord) -> StoreResult<SecretKeyRecord> {
        let mut conn = self.writer.acquire().await?;
        insert_secret_key(&mut conn, key).await
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
}
