//! A stored event as a row: read by the event log and by the webhook
//! outbox, which sends each delivery's event.

use patchbay_store::{EventRecord, StoreResult};
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;

use crate::rows::{json, optional_uuid, uuid};
use crate::time::from_millis;

pub(crate) fn event_from_row(row: &SqliteRow) -> StoreResult<EventRecord> {
    Ok(EventRecord {
        seq: row.try_get("seq")?,
        id: uuid(row, "id")?,
        project_id: uuid(row, "project_id")?,
        user_id: row.try_get("user_id")?,
        integration_id: optional_uuid(row, "integration_id")?,
        credential_id: optional_uuid(row, "credential_id")?,
        name: row.try_get("name")?,
        payload: json(row, "payload")?,
        created_at: from_millis(row.try_get("created_at")?)?,
    })
}
