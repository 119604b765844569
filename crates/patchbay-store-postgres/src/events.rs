//! The event log of user-object changes.

use chrono::{DateTime, Utc};
use patchbay_store::{EventRecord, NewEvent, StoreResult, now};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

/// Appends `events` inside the caller's transaction.
pub(crate) async fn insert(conn: &mut PgConnection, events: &[NewEvent]) -> StoreResult<()> {
    let at = now();
    for event in events {
        sqlx::query(
            "INSERT INTO events (id, project_id, user_id, integration_id, credential_id, name, payload, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(event.id)
        .bind(event.project_id)
        .bind(&event.user_id)
        .bind(event.integration_id)
        .bind(event.credential_id)
        .bind(&event.name)
        .bind(Json(&event.payload))
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(FromRow)]
struct EventRow {
    seq: i64,
    id: Uuid,
    project_id: Uuid,
    user_id: String,
    integration_id: Option<Uuid>,
    credential_id: Option<Uuid>,
    name: String,
    payload: Json<serde_json::Value>,
    created_at: DateTime<Utc>,
}

pub(crate) async fn list_for_user(
    pool: &PgPool,
    project_id: Uuid,
    user_id: &str,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<EventRecord>> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT seq, id, project_id, user_id, integration_id, credential_id, name, payload, created_at
         FROM events WHERE project_id = $1 AND user_id = $2 AND seq > $3
         ORDER BY seq LIMIT $4",
    )
    .bind(project_id)
    .bind(user_id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| EventRecord {
            seq: row.seq,
            id: row.id,
            project_id: row.project_id,
            user_id: row.user_id,
            integration_id: row.integration_id,
            credential_id: row.credential_id,
            name: row.name,
            payload: row.payload.0,
            created_at: row.created_at,
        })
        .collect())
}
