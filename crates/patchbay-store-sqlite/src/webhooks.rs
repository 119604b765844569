//! Webhook endpoints and the delivery outbox.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use patchbay_store::{
    ClaimedDelivery, DeliveryFilter, DeliveryOutcome, DeliveryStatus, EventRecord, NewEvent,
    NewWebhookEndpoint, SealedValue, StoreError, StoreResult, WebhookDeliveryRecord,
    WebhookEndpointRecord, now,
};
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{Row as _, SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::event_row::event_from_row;
use crate::rows::uuid;
use crate::time::{from_millis, opt_from_millis, to_millis};

const ENDPOINT_COLUMNS: &str =
    "id, project_id, url, event_types, disabled_at, created_at, updated_at";

fn endpoint_from_row(row: &SqliteRow) -> StoreResult<WebhookEndpointRecord> {
    Ok(WebhookEndpointRecord {
        id: uuid(row, "id")?,
        project_id: uuid(row, "project_id")?,
        url: row.try_get("url")?,
        event_types: row.try_get::<Json<Vec<String>>, _>("event_types")?.0,
        disabled_at: opt_from_millis(row.try_get("disabled_at")?)?,
        created_at: from_millis(row.try_get("created_at")?)?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
    })
}

/// Queues `event` (already inserted as `seq`) for every enabled endpoint of
/// its project that wants it, inside the caller's transaction.
pub(crate) async fn queue_deliveries(
    conn: &mut SqliteConnection,
    event: &NewEvent,
    seq: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let endpoints = sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
         WHERE project_id = $1 AND disabled_at IS NULL"
    ))
    .bind(event.project_id.hyphenated())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(endpoint_from_row)
    .collect::<StoreResult<Vec<_>>>()?;
    let key = event.delivery_ordering_key();
    for endpoint in endpoints {
        if !endpoint.wants(&event.name) {
            continue;
        }
        sqlx::query(
            "INSERT INTO webhook_deliveries
                 (id, endpoint_id, event_seq, status, next_attempt_at, ordering_key, queued_at, created_at)
             VALUES ($1, $2, $3, 'pending', $4, $5, $4, $4)",
        )
        .bind(Uuid::new_v4().hyphenated())
        .bind(endpoint.id.hyphenated())
        .bind(seq)
        .bind(to_millis(at))
        .bind(&key)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn create_endpoint(
    writer: &SqlitePool,
    endpoint: &NewWebhookEndpoint,
) -> StoreResult<WebhookEndpointRecord> {
    let at = to_millis(now());
    let row = sqlx::query(&format!(
        "INSERT INTO webhook_endpoints (id, project_id, url, secret, event_types, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(endpoint.id.hyphenated())
    .bind(endpoint.project_id.hyphenated())
    .bind(&endpoint.url)
    .bind(&endpoint.secret)
    .bind(Json(&endpoint.event_types))
    .bind(at)
    .fetch_one(writer)
    .await?;
    endpoint_from_row(&row)
}

pub(crate) async fn list_endpoints(
    reader: &SqlitePool,
    project_id: Uuid,
) -> StoreResult<Vec<WebhookEndpointRecord>> {
    sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE project_id = $1
         ORDER BY created_at, id"
    ))
    .bind(project_id.hyphenated())
    .fetch_all(reader)
    .await?
    .iter()
    .map(endpoint_from_row)
    .collect()
}

pub(crate) async fn get_endpoint(
    reader: &SqlitePool,
    project_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<WebhookEndpointRecord>> {
    sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .fetch_optional(reader)
    .await?
    .as_ref()
    .map(endpoint_from_row)
    .transpose()
}

pub(crate) async fn set_endpoint_disabled(
    writer: &SqlitePool,
    project_id: Uuid,
    id: Uuid,
    disabled: bool,
) -> StoreResult<WebhookEndpointRecord> {
    let row = sqlx::query(&format!(
        "UPDATE webhook_endpoints
         SET disabled_at = CASE WHEN $3 THEN COALESCE(disabled_at, $4) END, updated_at = $4
         WHERE project_id = $1 AND id = $2 RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .bind(disabled)
    .bind(to_millis(now()))
    .fetch_optional(writer)
    .await?;
    endpoint_from_row(&row.ok_or(StoreError::NotFound)?)
}

pub(crate) async fn set_endpoint_secret(
    writer: &SqlitePool,
    project_id: Uuid,
    id: Uuid,
    secret: &[u8],
) -> StoreResult<WebhookEndpointRecord> {
    let row = sqlx::query(&format!(
        "UPDATE webhook_endpoints SET secret = $3, updated_at = $4
         WHERE project_id = $1 AND id = $2 RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .bind(secret)
    .bind(to_millis(now()))
    .fetch_optional(writer)
    .await?;
    endpoint_from_row(&row.ok_or(StoreError::NotFound)?)
}

pub(crate) async fn delete_endpoint(
    writer: &SqlitePool,
    project_id: Uuid,
    id: Uuid,
) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE project_id = $1 AND id = $2")
        .bind(project_id.hyphenated())
        .bind(id.hyphenated())
        .execute(writer)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

const DELIVERY_COLUMNS: &str = "d.id, d.endpoint_id, d.event_seq, ev.id AS event_id, ev.name AS event_name, \
     d.status, d.attempts, d.next_attempt_at, d.queued_at, d.last_status_code, d.last_error, \
     d.created_at, d.delivered_at";

fn delivery_from_row(row: &SqliteRow) -> StoreResult<WebhookDeliveryRecord> {
    let status: String = row.try_get("status")?;
    Ok(WebhookDeliveryRecord {
        id: uuid(row, "id")?,
        endpoint_id: uuid(row, "endpoint_id")?,
        event_seq: row.try_get("event_seq")?,
        event_id: uuid(row, "event_id")?,
        event_name: row.try_get("event_name")?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown delivery status {status:?}")))?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: from_millis(row.try_get("next_attempt_at")?)?,
        queued_at: from_millis(row.try_get("queued_at")?)?,
        last_status_code: row.try_get("last_status_code")?,
        last_error: row.try_get("last_error")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        delivered_at: opt_from_millis(row.try_get("delivered_at")?)?,
    })
}

/// Claims due deliveries. The writer pool has one connection, so claims of
/// this process never overlap; the lease covers another process on the file.
pub(crate) async fn claim(
    writer: &SqlitePool,
    at: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<ClaimedDelivery>> {
    let at = to_millis(at);
    let mut tx = writer.begin().await?;
    // The `NOT EXISTS` keeps a later event of an account waiting while an
    // earlier one is pending.
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT d.id FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.id = d.endpoint_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1
           AND (d.locked_until IS NULL OR d.locked_until <= $1)
           AND e.disabled_at IS NULL
           AND NOT EXISTS (
               SELECT 1 FROM webhook_deliveries earlier
               WHERE earlier.endpoint_id = d.endpoint_id
                 AND earlier.ordering_key = d.ordering_key
                 AND earlier.status = 'pending'
                 AND earlier.event_seq < d.event_seq)
         ORDER BY d.event_seq
         LIMIT $2",
    )
    .bind(at)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = Json(ids);
    sqlx::query(
        "UPDATE webhook_deliveries SET locked_until = $2
         WHERE id IN (SELECT value FROM json_each($1))",
    )
    .bind(&ids)
    .bind(to_millis(lease_until))
    .execute(&mut *tx)
    .await?;
    let rows = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS}, e.url, e.project_id AS endpoint_project_id, e.secret
         FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.id = d.endpoint_id
         JOIN events ev ON ev.seq = d.event_seq
         WHERE d.id IN (SELECT value FROM json_each($1))
         ORDER BY d.event_seq"
    ))
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut events: HashMap<i64, EventRecord> = sqlx::query(
        "SELECT seq, id, project_id, user_id, integration_id, credential_id, name, payload, created_at
         FROM events WHERE seq IN (
             SELECT event_seq FROM webhook_deliveries WHERE id IN (SELECT value FROM json_each($1)))",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|row| event_from_row(row).map(|event| (event.seq, event)))
    .collect::<StoreResult<_>>()?;
    tx.commit().await?;
    rows.iter()
        .map(|row| {
            let delivery = delivery_from_row(row)?;
            let event = events
                .remove(&delivery.event_seq)
                .ok_or_else(|| StoreError::Corrupt("a delivery without its event".into()))?;
            Ok(ClaimedDelivery {
                secret: SealedValue {
                    project_id: uuid(row, "endpoint_project_id")?,
                    record_id: delivery.endpoint_id,
                    ciphertext: row.try_get("secret")?,
                },
                url: row.try_get("url")?,
                delivery,
                event,
            })
        })
        .collect()
}

pub(crate) async fn record_attempt(
    writer: &SqlitePool,
    id: Uuid,
    outcome: &DeliveryOutcome,
) -> StoreResult<()> {
    let update = outcome.row_update();
    sqlx::query(
        "UPDATE webhook_deliveries
         SET status = $2, attempts = attempts + 1, last_status_code = $3, last_error = $4,
             next_attempt_at = COALESCE($5, next_attempt_at), delivered_at = $6,
             locked_until = NULL
         WHERE id = $1",
    )
    .bind(id.hyphenated())
    .bind(update.status.as_str())
    .bind(update.status_code)
    .bind(update.error)
    .bind(update.next_attempt_at.map(to_millis))
    .bind(update.delivered.then(|| to_millis(now())))
    .execute(writer)
    .await?;
    Ok(())
}

pub(crate) async fn list_deliveries(
    reader: &SqlitePool,
    project_id: Uuid,
    endpoint_id: Uuid,
    filter: &DeliveryFilter,
) -> StoreResult<Vec<WebhookDeliveryRecord>> {
    sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS}
         FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.id = d.endpoint_id
         JOIN events ev ON ev.seq = d.event_seq
         WHERE e.project_id = $1 AND d.endpoint_id = $2
           AND ($3 IS NULL OR d.status = $3)
           AND ($4 IS NULL OR d.event_seq < $4)
         ORDER BY d.event_seq DESC
         LIMIT $5"
    ))
    .bind(project_id.hyphenated())
    .bind(endpoint_id.hyphenated())
    .bind(filter.status.map(DeliveryStatus::as_str))
    .bind(filter.before_seq)
    .bind(filter.limit)
    .fetch_all(reader)
    .await?
    .iter()
    .map(delivery_from_row)
    .collect()
}

pub(crate) async fn replay(
    writer: &SqlitePool,
    project_id: Uuid,
    id: Uuid,
) -> StoreResult<WebhookDeliveryRecord> {
    let mut tx = writer.begin().await?;
    let done = sqlx::query(
        "UPDATE webhook_deliveries
         SET status = 'pending', next_attempt_at = $3, queued_at = $3, delivered_at = NULL
         WHERE id = $2 AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE project_id = $1)",
    )
    .bind(project_id.hyphenated())
    .bind(id.hyphenated())
    .bind(to_millis(now()))
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    let row = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS}
         FROM webhook_deliveries d JOIN events ev ON ev.seq = d.event_seq
         WHERE d.id = $1"
    ))
    .bind(id.hyphenated())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    delivery_from_row(&row)
}
