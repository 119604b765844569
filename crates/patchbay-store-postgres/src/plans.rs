//! How this store would run its hot-path statements (`EXPLAIN`), for tests
//! and benchmarks that check the plans on a loaded database. Each statement
//! comes from the function that sends it, with the same parameters, so what
//! is explained is exactly what runs.

use patchbay_store::{HotQuery, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row as _};

use crate::{credentials, events, runs};

/// The plan PostgreSQL would choose now for `query`, one line per node.
pub(crate) async fn explain(pool: &PgPool, query: &HotQuery) -> StoreResult<Vec<String>> {
    let line = |row: PgRow| row.try_get::<String, _>(0);
    let explain = |sql: &str| format!("EXPLAIN {sql}");
    Ok(match query {
        HotQuery::Credential { project_id, id } => {
            let sql = explain(&credentials::get_sql());
            credentials::get_query(&sql, *project_id, *id)
                .try_map(line)
                .fetch_all(pool)
                .await?
        }
        HotQuery::Credentials { project_id, filter } => {
            credentials::list_query("EXPLAIN ", *project_id, filter)
                .build()
                .try_map(line)
                .fetch_all(pool)
                .await?
        }
        HotQuery::DueRefreshes { before, limit } => {
            let sql = explain(credentials::DUE_REFRESHES);
            credentials::due_refreshes_query(&sql, *before, *limit)
                .try_map(line)
                .fetch_all(pool)
                .await?
        }
        HotQuery::Executions { project_id, filter } => {
            runs::list_executions_query("EXPLAIN ", *project_id, filter)
                .build()
                .try_map(line)
                .fetch_all(pool)
                .await?
        }
        HotQuery::ExecutionCount { project_id, filter } => {
            runs::count_executions_query("EXPLAIN ", *project_id, filter)
                .build()
                .try_map(line)
                .fetch_all(pool)
                .await?
        }
        HotQuery::DueJobs { kind, limit } => {
            let sql = explain(runs::CLAIM_JOBS);
            runs::claim_jobs_query(&sql, kind, "explain", *limit, patchbay_store::now())
                .try_map(line)
                .fetch_all(pool)
                .await?
        }
        HotQuery::UserEvents {
            project_id,
            user_id,
            after_seq,
            limit,
        } => {
            let sql = explain(events::LIST_FOR_USER);
            events::list_for_user_query(&sql, *project_id, user_id, *after_seq, *limit)
                .try_map(line)
                .fetch_all(pool)
                .await?
        }
    })
}
