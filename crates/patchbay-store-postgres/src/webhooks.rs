//! Webhook endpoints and the delivery outbox.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use patchbay_store::{
    ClaimedDelivery, DeliveryFilter, DeliveryOutcome, DeliveryStatus, EventRecord, NewEvent,
    NewWebhookEndpoint, SealedValue, StoreError, StoreResult, WebhookDeliveryRecord,
    WebhookEndpointRecord, now,
};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::event_row::EventRow;

const ENDPOINT_COLUMNS: &str =
    "id, project_id, url, event_types, disabled_at, created_at, updated_at";

#[derive(FromRow)]
struct EndpointRow {
    id: Uuid,
    project_id: Uuid,
    url: String,
    event_types: Json<Vec<String>>,
    disabled_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<EndpointRow> for WebhookEndpointRecord {
    fn from(row: EndpointRow) -> Self {
        Self {
            id: row.id,
            project_id: row.project_id,
            url: row.url,
            event_types: row.event_types.0,
            disabled_at: row.disabled_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Queues `event` (already inserted as `seq`) for every enabled endpoint of
/// its project that wants it, inside the caller's transaction.
pub(crate) async fn queue_deliveries(
    conn: &mut PgConnection,
    event: &NewEvent,
    seq: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let endpoints: Vec<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
         WHERE project_id = $1 AND disabled_at IS NULL"
    ))
    .bind(event.project_id)
    .fetch_all(&mut *conn)
    .await?;
    let key = event.delivery_ordering_key();
    for endpoint in endpoints.into_iter().map(WebhookEndpointRecord::from) {
        if !endpoint.wants(&event.name) {
            continue;
        }
        sqlx::query(
            "INSERT INTO webhook_deliveries
                 (id, endpoint_id, event_seq, status, next_attempt_at, ordering_key, queued_at, created_at)
             VALUES ($1, $2, $3, 'pending', $4, $5, $4, $4)",
        )
        .bind(Uuid::new_v4())
        .bind(endpoint.id)
        .bind(seq)
        .bind(at)
        .bind(&key)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn create_endpoint(
    pool: &PgPool,
    endpoint: &NewWebhookEndpoint,
) -> StoreResult<WebhookEndpointRecord> {
    let at = now();
    let row: EndpointRow = sqlx::query_as(&format!(
        "INSERT INTO webhook_endpoints (id, project_id, url, secret, event_types, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(endpoint.id)
    .bind(endpoint.project_id)
    .bind(&endpoint.url)
    .bind(&endpoint.secret)
    .bind(Json(&endpoint.event_types))
    .bind(at)
    .fetch_one(pool)
    .await?;
    Ok(row.into())
}

pub(crate) async fn list_endpoints(
    pool: &PgPool,
    project_id: Uuid,
) -> StoreResult<Vec<WebhookEndpointRecord>> {
    let rows: Vec<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE project_id = $1
         ORDER BY created_at, id"
    ))
    .bind(project_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub(crate) async fn get_endpoint(
    pool: &PgPool,
    project_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<WebhookEndpointRecord>> {
    let row: Option<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Into::into))
}

pub(crate) async fn set_endpoint_disabled(
    pool: &PgPool,
    project_id: Uuid,
    id: Uuid,
    disabled: bool,
) -> StoreResult<WebhookEndpointRecord> {
    let at = now();
    let row: Option<EndpointRow> = sqlx::query_as(&format!(
        "UPDATE webhook_endpoints
         SET disabled_at = CASE WHEN $3 THEN COALESCE(disabled_at, $4) END, updated_at = $4
         WHERE project_id = $1 AND id = $2 RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(project_id)
    .bind(id)
    .bind(disabled)
    .bind(at)
    .fetch_optional(pool)
    .await?;
    row.map(Into::into).ok_or(StoreError::NotFound)
}

pub(crate) async fn set_endpoint_secret(
    pool: &PgPool,
    project_id: Uuid,
    id: Uuid,
    secret: &[u8],
) -> StoreResult<WebhookEndpointRecord> {
    let row: Option<EndpointRow> = sqlx::query_as(&format!(
        "UPDATE webhook_endpoints SET secret = $3, updated_at = $4
         WHERE project_id = $1 AND id = $2 RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(project_id)
    .bind(id)
    .bind(secret)
    .bind(now())
    .fetch_optional(pool)
    .await?;
    row.map(Into::into).ok_or(StoreError::NotFound)
}

pub(crate) async fn delete_endpoint(pool: &PgPool, project_id: Uuid, id: Uuid) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

const DELIVERY_COLUMNS: &str = "d.id, d.endpoint_id, d.event_seq, ev.id AS event_id, ev.name AS event_name, \
     d.status, d.attempts, d.next_attempt_at, d.queued_at, d.last_status_code, d.last_error, \
     d.created_at, d.delivered_at";

#[derive(FromRow)]
struct DeliveryRow {
    id: Uuid,
    endpoint_id: Uuid,
    event_seq: i64,
    event_id: Uuid,
    event_name: String,
    status: String,
    attempts: i64,
    next_attempt_at: DateTime<Utc>,
    queued_at: DateTime<Utc>,
    last_status_code: Option<i64>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

impl TryFrom<DeliveryRow> for WebhookDeliveryRecord {
    type Error = StoreError;

    fn try_from(row: DeliveryRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.id,
            endpoint_id: row.endpoint_id,
            event_seq: row.event_seq,
            event_id: row.event_id,
            event_name: row.event_name,
            status: DeliveryStatus::parse(&row.status).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown delivery status {:?}", row.status))
            })?,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            queued_at: row.queued_at,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
        })
    }
}

#[derive(FromRow)]
struct ClaimedRow {
    #[sqlx(flatten)]
    delivery: DeliveryRow,
    url: String,
    endpoint_project_id: Uuid,
    secret: Vec<u8>,
}

pub(crate) async fn claim(
    pool: &PgPool,
    at: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<ClaimedDelivery>> {
    let mut tx = pool.begin().await?;
    // `SKIP LOCKED` lets replicas claim side by side; the `NOT EXISTS` keeps
    // a later event of an account waiting while an earlier one is pending,
    // and the lease keeps a delivery from being attempted twice at once.
    let ids: Vec<Uuid> = sqlx::query_scalar(
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
         LIMIT $2
         FOR UPDATE OF d SKIP LOCKED",
    )
    .bind(at)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query("UPDATE webhook_deliveries SET locked_until = $2 WHERE id = ANY($1)")
        .bind(&ids)
        .bind(lease_until)
        .execute(&mut *tx)
        .await?;
    let rows: Vec<ClaimedRow> = sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS}, e.url, e.project_id AS endpoint_project_id, e.secret
         FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.id = d.endpoint_id
         JOIN events ev ON ev.seq = d.event_seq
         WHERE d.id = ANY($1)
         ORDER BY d.event_seq"
    ))
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let seqs: Vec<i64> = rows.iter().map(|row| row.delivery.event_seq).collect();
    let events: Vec<EventRow> = sqlx::query_as(
        "SELECT seq, id, project_id, user_id, integration_id, credential_id, name, payload, created_at
         FROM events WHERE seq = ANY($1)",
    )
    .bind(&seqs)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut events: HashMap<i64, EventRecord> = events
        .into_iter()
        .map(|row| (row.seq, EventRecord::from(row)))
        .collect();
    rows.into_iter()
        .map(|row| {
            let delivery = WebhookDeliveryRecord::try_from(row.delivery)?;
            let event = events
                .remove(&delivery.event_seq)
                .ok_or_else(|| StoreError::Corrupt("a delivery without its event".into()))?;
            Ok(ClaimedDelivery {
                secret: SealedValue {
                    project_id: row.endpoint_project_id,
                    record_id: delivery.endpoint_id,
                    ciphertext: row.secret,
                },
                delivery,
                url: row.url,
                event,
            })
        })
        .collect()
}

pub(crate) async fn record_attempt(
    pool: &PgPool,
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
    .bind(id)
    .bind(update.status.as_str())
    .bind(update.status_code)
    .bind(update.error)
    .bind(update.next_attempt_at)
    .bind(update.delivered.then(now))
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn list_deliveries(
    pool: &PgPool,
    project_id: Uuid,
    endpoint_id: Uuid,
    filter: &DeliveryFilter,
) -> StoreResult<Vec<WebhookDeliveryRecord>> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS}
         FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.id = d.endpoint_id
         JOIN events ev ON ev.seq = d.event_seq
         WHERE e.project_id = $1 AND d.endpoint_id = $2
           AND ($3::text IS NULL OR d.status = $3)
           AND ($4::bigint IS NULL OR d.event_seq < $4)
         ORDER BY d.event_seq DESC
         LIMIT $5"
    ))
    .bind(project_id)
    .bind(endpoint_id)
    .bind(filter.status.map(DeliveryStatus::as_str))
    .bind(filter.before_seq)
    .bind(filter.limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

pub(crate) async fn replay(
    pool: &PgPool,
    project_id: Uuid,
    id: Uuid,
) -> StoreResult<WebhookDeliveryRecord> {
    let at = now();
    let done = sqlx::query(
        "UPDATE webhook_deliveries d
         SET status = 'pending', next_attempt_at = $3, queued_at = $3, delivered_at = NULL
         FROM webhook_endpoints e
         WHERE e.id = d.endpoint_id AND e.project_id = $1 AND d.id = $2",
    )
    .bind(project_id)
    .bind(id)
    .bind(at)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    let row: DeliveryRow = sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS}
         FROM webhook_deliveries d JOIN events ev ON ev.seq = d.event_seq
         WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_one(pool)
    .await?;
    row.try_into()
}
