//! How this store would run its hot-path statements (`EXPLAIN QUERY PLAN`),
//! for tests and benchmarks that check the plans on a loaded database. Each
//! statement comes from the function that sends it, with the same
//! parameters, so what is explained is exactly what runs.

use patchbay_store::{HotQuery, StoreResult, now};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{QueryBuilder, Row as _, Sqlite, SqlitePool};

use crate::{credentials, events, runs};

/// The plan SQLite would choose now for `query`, one line per step.
pub(crate) async fn explain(pool: &SqlitePool, query: &HotQuery) -> StoreResult<Vec<String>> {
    const HEAD: &str = "EXPLAIN QUERY PLAN ";
    // Each arm leaves the statement's text or builder here, for the query
    // borrowing it to outlive the match.
    let sql: String;
    let mut built: QueryBuilder<'static, Sqlite>;
    let statement: Query<'_, Sqlite, SqliteArguments<'_>> = match query {
        HotQuery::User {
            project_id,
            user_id,
        } => {
            sql = format!("{HEAD}{}", credentials::GET_USER);
            credentials::get_user_query(&sql, *project_id, user_id)
        }
        HotQuery::Credential { project_id, id } => {
            sql = format!("{HEAD}{}", credentials::get_sql());
            credentials::get_query(&sql, *project_id, *id)
        }
        HotQuery::Credentials { project_id, filter } => {
            built = credentials::list_query(HEAD, *project_id, filter);
            built.build()
        }
        HotQuery::DueRefreshes { before, limit } => {
            sql = format!("{HEAD}{}", credentials::DUE_REFRESHES);
            credentials::due_refreshes_query(&sql, *before, *limit)
        }
        HotQuery::Executions { project_id, filter } => {
            built = runs::list_executions_query(HEAD, *project_id, filter);
            built.build()
        }
        HotQuery::ExecutionCount { project_id, filter } => {
            built = runs::count_executions_query(HEAD, *project_id, filter);
            built.build()
        }
        HotQuery::DueJobs { kind, limit } => {
            sql = format!("{HEAD}{}", runs::CLAIM_JOBS);
            runs::claim_jobs_query(&sql, kind, "explain", *limit, now())
        }
        HotQuery::UserEvents {
            project_id,
            user_id,
            after_seq,
            limit,
        } => {
            sql = format!("{HEAD}{}", events::LIST_FOR_USER);
            events::list_for_user_query(&sql, *project_id, user_id, *after_seq, *limit)
        }
        HotQuery::ProjectEvents {
            project_id,
            after_seq,
            limit,
        } => {
            sql = format!("{HEAD}{}", events::LIST_FOR_PROJECT);
            events::list_for_project_query(&sql, *project_id, *after_seq, *limit)
        }
    };
    Ok(statement
        .try_map(|row: SqliteRow| row.try_get::<String, _>("detail"))
        .fetch_all(pool)
        .await?)
}
