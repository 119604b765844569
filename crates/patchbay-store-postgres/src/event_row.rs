//! A stored event as a row: read by the event log and by the webhook
//! outbox, which sends each delivery's event.

use chrono::{DateTime, Utc};
use patchbay_store::EventRecord;
use sqlx::FromRow;
use sqlx::types::Json;
use uuid::Uuid;

#[derive(FromRow)]
pub(crate) struct EventRow {
    pub(crate) seq: i64,
    id: Uuid,
    project_id: Uuid,
    user_id: String,
    integration_id: Option<Uuid>,
    credential_id: Option<Uuid>,
    name: String,
    payload: Json<serde_json::Value>,
    created_at: DateTime<Utc>,
}

impl From<EventRow> for EventRecord {
    fn from(row: EventRow) -> Self {
        Self {
            seq: row.seq,
            id: row.id,
            project_id: row.project_id,
            user_id: row.user_id,
            integration_id: row.integration_id,
            credential_id: row.credential_id,
            name: row.name,
            payload: row.payload.0,
            created_at: row.created_at,
        }
    }
}
