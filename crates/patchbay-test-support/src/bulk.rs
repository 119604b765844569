//! The concrete stores' bulk writers and plan probes behind one handle, for
//! what loads a large dataset and looks at it from below the `Store` trait:
//! `bench/run scale` and the plan tests of patchbay-store.

use patchbay_store::{HotQuery, NewCredential, NewEvent, NewExecution, StoreResult};
use patchbay_store_postgres::PgStore;
use patchbay_store_sqlite::SqliteStore;

/// Its own connections to a [`TestDb`](crate::TestDb)'s database.
#[derive(Debug)]
pub enum BulkStore {
    Postgres(PgStore),
    Sqlite(SqliteStore),
}

impl BulkStore {
    /// Accounts with their users and default configurations; nothing is
    /// announced to caches.
    pub async fn credentials(&self, rows: &[NewCredential]) -> StoreResult<()> {
        match self {
            Self::Postgres(store) => store.insert_credentials_in_bulk(rows).await,
            Self::Sqlite(store) => store.insert_credentials_in_bulk(rows).await,
        }
    }

    /// Finished Task History runs.
    pub async fn executions(&self, rows: &[NewExecution]) -> StoreResult<()> {
        match self {
            Self::Postgres(store) => store.insert_executions_in_bulk(rows).await,
            Self::Sqlite(store) => store.insert_executions_in_bulk(rows).await,
        }
    }

    /// Past events, delivered to every webhook endpoint.
    pub async fn events(&self, rows: &[NewEvent]) -> StoreResult<()> {
        match self {
            Self::Postgres(store) => store.insert_delivered_events_in_bulk(rows).await,
            Self::Sqlite(store) => store.insert_delivered_events_in_bulk(rows).await,
        }
    }

    /// The planner's statistics, as autovacuum would bring them after a load.
    pub async fn analyze(&self) -> StoreResult<()> {
        match self {
            Self::Postgres(store) => store.analyze().await,
            Self::Sqlite(store) => store.analyze().await,
        }
    }

    /// The plan the database would choose now for a hot-path statement.
    pub async fn explain(&self, query: &HotQuery) -> StoreResult<Vec<String>> {
        match self {
            Self::Postgres(store) => store.explain(query).await,
            Self::Sqlite(store) => store.explain(query).await,
        }
    }
}
