//! The event log of user-object changes.

use patchbay_store::{EventRecord, NewEvent, RefuseNul, StoreResult, now};
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::types::Json;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::event_row::event_from_row;
use crate::time::to_millis;
use crate::webhooks;

/// Appends `events` inside the caller's transaction and queues their webhook
/// deliveries. The caller announces them once the transaction commits
/// (`SqliteStore::commit_announcing`). SQLite has one writer at a time, so
/// events commit in `seq` order.
pub(crate) async fn insert(conn: &mut SqliteConnection, events: &[NewEvent]) -> StoreResult<()> {
    events.refuse_nul()?;
    let at = now();
    for event in events {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO events (id, project_id, user_id, integration_id, credential_id, name, payload, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq",
        )
        .bind(event.id.hyphenated())
        .bind(event.project_id.hyphenated())
        .bind(&event.user_id)
        .bind(event.integration_id.map(Uuid::hyphenated))
        .bind(event.credential_id.map(Uuid::hyphenated))
        .bind(&event.name)
        .bind(Json(&event.payload))
        .bind(to_millis(at))
        .fetch_one(&mut *conn)
        .await?;
        webhooks::queue_deliveries(conn, event, seq, at).await?;
    }
    Ok(())
}

pub(crate) async fn list_for_user(
    pool: &SqlitePool,
    project_id: Uuid,
    user_id: &str,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<EventRecord>> {
    list_for_user_query(LIST_FOR_USER, project_id, user_id, after_seq, limit)
        .fetch_all(pool)
        .await?
        .iter()
        .map(event_from_row)
        .collect()
}

/// The statement of [`list_for_user`], also explained by `plans.rs`.
pub(crate) const LIST_FOR_USER: &str =
    "SELECT seq, id, project_id, user_id, integration_id, credential_id, name, payload, created_at
     FROM events WHERE project_id = $1 AND user_id = $2 AND seq > $3
     ORDER BY seq LIMIT $4";

pub(crate) fn list_for_user_query<'q>(
    sql: &'q str,
    project_id: Uuid,
    user_id: &str,
    after_seq: i64,
    limit: i64,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    sqlx::query(sql)
        .bind(project_id.hyphenated())
        .bind(user_id.to_owned())
        .bind(after_seq)
        .bind(limit)
}

pub(crate) async fn list_for_project(
    pool: &SqlitePool,
    project_id: Uuid,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<EventRecord>> {
    list_for_project_query(LIST_FOR_PROJECT, project_id, after_seq, limit)
        .fetch_all(pool)
        .await?
        .iter()
        .map(event_from_row)
        .collect()
}

/// The statement of [`list_for_project`], also explained by `plans.rs`.
pub(crate) const LIST_FOR_PROJECT: &str =
    "SELECT seq, id, project_id, user_id, integration_id, credential_id, name, payload, created_at
     FROM events WHERE project_id = $1 AND seq > $2
     ORDER BY seq LIMIT $3";

pub(crate) fn list_for_project_query(
    sql: &str,
    project_id: Uuid,
    after_seq: i64,
    limit: i64,
) -> Query<'_, Sqlite, SqliteArguments<'_>> {
    sqlx::query(sql)
        .bind(project_id.hyphenated())
        .bind(after_seq)
        .bind(limit)
}

pub(crate) async fn last_seq_of_project(pool: &SqlitePool, project_id: Uuid) -> StoreResult<i64> {
    let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE project_id = $1")
        .bind(project_id.hyphenated())
        .fetch_one(pool)
        .await?;
    Ok(seq.unwrap_or(0))
}

pub(crate) async fn last_seq_of_user(
    pool: &SqlitePool,
    project_id: Uuid,
    user_id: &str,
) -> StoreResult<i64> {
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE project_id = $1 AND user_id = $2")
            .bind(project_id.hyphenated())
            .bind(user_id)
            .fetch_one(pool)
            .await?;
    Ok(seq.unwrap_or(0))
}
