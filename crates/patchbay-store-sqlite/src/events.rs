//! The event log of user-object changes.

use patchbay_store::{EventRecord, NewEvent, RefuseNul, StoreResult, now};
use sqlx::types::Json;
use sqlx::{SqliteConnection, SqlitePool};
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
    sqlx::query(
        "SELECT seq, id, project_id, user_id, integration_id, credential_id, name, payload, created_at
         FROM events WHERE project_id = $1 AND user_id = $2 AND seq > $3
         ORDER BY seq LIMIT $4",
    )
    .bind(project_id.hyphenated())
    .bind(user_id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(event_from_row)
    .collect()
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
