//! Picks the store implementation from the database URL, once.

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

pub async fn migrate(args: DatabaseArgs) -> anyhow::Result<()> {
    let store = open_migrated(&args.resolve()).await?;
    println!("Migrations applied ({}).", store.backend().as_str());
    Ok(())
}
