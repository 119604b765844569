//! Picks the store implementation from the database URL, once.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use patchbay_store::{CACHE_TTL, CachedStore, Store};
use patchbay_store_postgres::PgStore;
use patchbay_store_sqlite::SqliteStore;

/// Where the embedded default keeps its database and key file.
pub const DEFAULT_DATA_DIR: &str = "./patchbay-data";

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    /// [default: sqlite://./patchbay-data/patchbay.db]
    #[arg(long, env = "PATCHBAY_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    pub fn resolve(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| default_database_url(DEFAULT_DATA_DIR))
    }
}

pub fn default_database_url(data_dir: &str) -> String {
    format!("sqlite://{data_dir}/patchbay.db")
}

pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        warn_if_database_open(url);
        Arc::new(
            SqliteStore::connect(url)
                .await
                .context("opening the SQLite database")?,
        )
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(
            PgStore::connect(url)
                .await
                .context("connecting to PostgreSQL")?,
        )
    } else {
        anyhow::bail!(
            "unsupported database URL {:?}: use sqlite://... or postgres://...",
            url.split_once(':').map_or(url, |(scheme, _)| scheme)
        );
    };
    Ok(store)
}

/// The store behind the read cache, as every command uses it: `serve` for
/// its reads, and the commands that write (`apply`, `signing-key`, ...) so
/// that their writes are announced to the servers running on the same
/// PostgreSQL database, which then forget what they had cached.
pub async fn open_migrated(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store = open(url).await?;
    store
        .migrate()
        .await
        .context("applying database migrations")?;
    Ok(Arc::new(CachedStore::new(store, CACHE_TTL)))
}

/// Warns about an existing SQLite database, or its directory, that other
/// users of the machine may open. New ones are created private
/// (`SqliteStore::connect`); existing ones are the operator's to change.
fn warn_if_database_open(url: &str) {
    // A URL that does not parse is reported by connecting.
    for path in patchbay_store_sqlite::database_paths(url).unwrap_or_default() {
        warn_if_open(&path);
    }
}

/// Warns when `path` exists and its group or others may access it: the
/// data directory and its files hold the database and keys.
pub fn warn_if_open(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(metadata) = std::fs::metadata(path) else {
            return;
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            let private = if metadata.is_dir() { "700" } else { "600" };
            tracing::warn!(
                path = %path.display(),
                mode = %format!("{mode:o}"),
                "{} is open to other users of this machine; restrict it with chmod {private}",
                path.display()
            );
        }
    }
}

pub async fn migrate(args: DatabaseArgs) -> anyhow::Result<()> {
    let store = open_migrated(&args.resolve()).await?;
    println!("Migrations applied ({}).", store.backend().as_str());
    Ok(())
}
