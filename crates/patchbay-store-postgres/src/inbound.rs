//! Providers' deliveries and the runs each one starts, written in one transaction.

use chrono::{DateTime, Utc};
use patchbay_store::{
    InboundDelivery, InboundFilter, InboundStatus, NewExecution, NewJob, StoreError, StoreResult,
};
use sqlx::types::Json;
use sqlx::{FromRow, PgPool, QueryBuilder};
use uuid::Uuid;

use crate::runs::{insert_job, insert_run};

pub(crate) async fn record(
    pool: &PgPool,
    delivery: &InboundDelivery,
    runs: &[(NewExecution, NewJob)],
) -> StoreResult<bool> {
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO inbound_deliveries
           (id, project_id, integration_id, event_type, event_id, account_key, status,
            credential_ids, execution_ids, payload, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (integration_id, event_id) WHERE event_id IS NOT NULL DO NOTHING",
    )
    .bind(delivery.id)
    .bind(delivery.project_id)
    .bind(delivery.integration_id)
    .bind(&delivery.event_type)
    .bind(&delivery.event_id)
    .bind(&delivery.account_key)
    .bind(delivery.status.as_str())
    .bind(&delivery.credential_ids)
    .bind(&delivery.execution_ids)
    .bind(Json(&delivery.payload))
    .bind(delivery.received_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    for (execution, job) in runs {
        if !insert_job(&mut tx, job).await? {
            return Err(StoreError::Conflict {
                constraint: "jobs_dedupe_key".to_owned(),
            });
        }
        insert_run(&mut tx, execution).await?;
    }
    tx.commit().await?;
    Ok(true)
}

#[derive(FromRow)]
struct DeliveryRow {
    id: Uuid,
    project_id: Uuid,
    integration_id: Uuid,
    event_type: String,
    event_id: Option<String>,
    account_key: String,
    status: String,
    credential_ids: Vec<Uuid>,
    execution_ids: Vec<Uuid>,
    payload: Json<serde_json::Value>,
    received_at: DateTime<Utc>,
}

pub(crate) async fn list(
    pool: &PgPool,
    project_id: Uuid,
    filter: &InboundFilter,
) -> StoreResult<Vec<InboundDelivery>> {
    let mut query = QueryBuilder::new(
        "SELECT id, project_id, integration_id, event_type, event_id, account_key, status,
                credential_ids, execution_ids, payload, received_at
         FROM inbound_deliveries WHERE project_id = ",
    );
    query.push_bind(project_id);
    if let Some(integration_id) = filter.integration_id {
        query
            .push(" AND integration_id = ")
            .push_bind(integration_id);
    }
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some((at, id)) = filter.before {
        query
            .push(" AND (received_at, id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    query
        .push(" ORDER BY received_at DESC, id DESC LIMIT ")
        .push_bind(filter.limit);
    let rows: Vec<DeliveryRow> = query.build_query_as().fetch_all(pool).await?;
    rows.into_iter().map(from_row).collect()
}

pub(crate) async fn purge(pool: &PgPool, before: DateTime<Utc>) -> StoreResult<u64> {
    Ok(
        sqlx::query("DELETE FROM inbound_deliveries WHERE received_at < $1")
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

fn from_row(row: DeliveryRow) -> StoreResult<InboundDelivery> {
    Ok(InboundDelivery {
        id: row.id,
        project_id: row.project_id,
        integration_id: row.integration_id,
        event_type: row.event_type,
        event_id: row.event_id,
        account_key: row.account_key,
        status: InboundStatus::parse(&row.status).ok_or_else(|| {
            StoreError::Corrupt(format!("unknown delivery status `{}`", row.status))
        })?,
        credential_ids: row.credential_ids,
        execution_ids: row.execution_ids,
        payload: row.payload.0,
        received_at: row.received_at,
    })
}
