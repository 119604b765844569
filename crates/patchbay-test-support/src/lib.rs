//! Test fixtures shared by every crate's integration tests.
//!
//! [`TestDb`] is a brand-new database for one test: a SQLite file in a
//! temporary directory, or a PostgreSQL database created on the server named
//! by `PATCHBAY_TEST_POSTGRES_URL` (default: the local trust-auth server) and
//! dropped afterwards. [`backend_tests!`] turns a list of `async fn(TestDb)`
//! into one test per backend, so both backends run the very same test code.

#![expect(clippy::unwrap_used, reason = "test fixtures fail loudly by design")]

use std::sync::Arc;

use patchbay_store::{CACHE_TTL, CachedStore, ChangeNotice, Store};
use patchbay_store_postgres::PgStore;
use patchbay_store_sqlite::SqliteStore;
use sqlx::{Connection as _, Executor as _, PgConnection};

mod bulk;
mod project;
mod provider;
mod server;
mod upstream;
mod webhook_receiver;

pub use bulk::BulkStore;
pub use patchbay_store::Backend;
pub use project::{TEST_CONFIG, TestProject, install_fields};
pub use provider::{
    CallbackReply, FakeProvider, authorize, connect_another_crm, connect_crm, consent, open,
};
pub use server::{ADMIN_TOKEN, TestServer, WEBHOOK_POLICY};
pub use upstream::EchoUpstream;
pub use webhook_receiver::{ReceivedWebhook, WebhookReceiver};

/// `len` pseudo-random bytes (xorshift, seeded anew on every call): a body
/// with no structure to hide a corruption behind, that nothing on the way
/// can compress.
pub fn noise(len: usize) -> Vec<u8> {
    let mut state = (uuid::Uuid::new_v4().as_u128() as u64) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("PATCHBAY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The store as `patchbay serve` uses it: behind the read cache.
fn cached(store: impl Store + 'static) -> Arc<dyn Store> {
    Arc::new(CachedStore::new(Arc::new(store), CACHE_TTL))
}

/// A fresh, migrated database that lives as long as this value.
#[derive(Debug)]
pub struct TestDb {
    url: String,
    store: Arc<dyn Store>,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    // Held so the directory outlives the test.
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, database: String },
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("patchbay.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        Self {
            url,
            store: cached(store),
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// Creates `patchbay_test_<random>` on the test server. Fails the test
    /// (never skips it) when PostgreSQL is unreachable: both backends always run.
    pub async fn postgres() -> Self {
        let admin_url = postgres_admin_url();
        let database = format!("patchbay_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|err| panic!("PostgreSQL is required for tests ({admin_url}): {err}"));
        admin
            .execute(format!("CREATE DATABASE {database}").as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
        let url = database_url(&admin_url, &database);
        let store = PgStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        Self {
            url,
            store: cached(store),
            cleanup: Cleanup::Postgres {
                admin_url,
                database,
            },
        }
    }

    /// A store without migrations applied, on a fresh database of the same
    /// backend, for testing migration itself.
    pub async fn unmigrated_store(&self) -> Arc<dyn Store> {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => {
                let url = format!("sqlite://{}", dir.path().join("unmigrated.db").display());
                Arc::new(SqliteStore::connect(&url).await.unwrap())
            }
            Cleanup::Postgres {
                admin_url,
                database,
            } => {
                let fresh = format!("{database}_bare");
                let mut admin = PgConnection::connect(admin_url).await.unwrap();
                admin
                    .execute(format!("CREATE DATABASE {fresh}").as_str())
                    .await
                    .unwrap();
                Arc::new(
                    PgStore::connect(&database_url(admin_url, &fresh))
                        .await
                        .unwrap(),
                )
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// The URL `patchbay --database-url` accepts for this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// The concrete store's bulk writers and plan probes, on connections of
    /// their own.
    pub async fn bulk_store(&self) -> BulkStore {
        match &self.cleanup {
            Cleanup::Sqlite(_) => BulkStore::Sqlite(SqliteStore::connect(&self.url).await.unwrap()),
            Cleanup::Postgres { .. } => {
                BulkStore::Postgres(PgStore::connect(&self.url).await.unwrap())
            }
        }
    }

    /// The same database as another replica sees it: its own connections,
    /// its own cache (entries kept for `cache_ttl`), and on PostgreSQL its
    /// own listener for the change notices of the others.
    pub async fn replica_store(&self, cache_ttl: std::time::Duration) -> Arc<dyn Store> {
        let inner: Arc<dyn Store> = match &self.cleanup {
            Cleanup::Sqlite(_) => Arc::new(SqliteStore::connect(&self.url).await.unwrap()),
            Cleanup::Postgres { .. } => Arc::new(PgStore::connect(&self.url).await.unwrap()),
        };
        Arc::new(CachedStore::new(inner, cache_ttl))
    }

    /// Runs raw SQL on the database, for tests that must put it in a state
    /// no API produces (an expired session, say).
    pub async fn execute(&self, sql: &str) {
        match &self.cleanup {
            Cleanup::Sqlite(_) => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                conn.execute(sql).await.unwrap();
            }
            Cleanup::Postgres { .. } => {
                let mut conn = PgConnection::connect(&self.url).await.unwrap();
                conn.execute(sql).await.unwrap();
            }
        }
        // Written behind the store's back: caches must not keep what was there.
        self.store
            .announce_change(&ChangeNotice::Everything)
            .await
            .unwrap();
    }
}

fn database_url(admin_url: &str, database: &str) -> String {
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    format!("{base}/{database}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Cleanup::Postgres {
            admin_url,
            database,
        } = &self.cleanup
        else {
            return;
        };
        let (admin_url, database) = (admin_url.clone(), database.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on;
        // a short-lived thread with its own runtime removes the databases.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                for name in [database.clone(), format!("{database}_bare")] {
                    admin
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await?;
                }
                Ok::<_, sqlx::Error>(())
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if let Ok(Err(err)) = dropped {
            eprintln!("could not drop test database: {err}");
        }
    }
}

/// Generates, for each listed `async fn name(db: TestDb)`, a test
/// `sqlite::name` and a test `postgres::name` running it on a fresh database.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestDb::new($crate::Backend::Sqlite).await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestDb::new($crate::Backend::Postgres).await).await;
                }
            )+
        }
    };
}
