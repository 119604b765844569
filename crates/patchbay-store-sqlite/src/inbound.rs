//! Providers' deliveries and the runs each one starts, written in one transaction.

use chrono::{DateTime, Utc};
use patchbay_store::{
    InboundDelivery, InboundFilter, InboundStatus, NewExecution, NewJob, StoreError, StoreResult,
};
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row as _, SqlitePool};
use uuid::Uuid;

use crate::rows::{json, uuid};
use crate::runs::{insert_job, insert_run};
use crate::time::{from_millis, to_millis};

pub(crate) async fn record(
    writer: &SqlitePool,
    delivery: &InboundDelivery,
    runs: &[(NewExecution, NewJob)],
) -> StoreResult<bool> {
    let mut tx = writer.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO inbound_deliveries
           (id, project_id, integration_id, event_type, event_id, account_key, status,
            credential_ids, execution_ids, payload, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (integration_id, event_id) WHERE event_id IS NOT NULL DO NOTHING",
    )
    .bind(delivery.id.hyphenated())
    .bind(delivery.project_id.hyphenated())
    .bind(delivery.integration_id.hyphenated())
    .bind(&delivery.event_type)
    .bind(&delivery.event_id)
    .bind(&delivery.account_key)
    .bind(delivery.status.as_str())
    .bind(Json(&delivery.credential_ids))
    .bind(Json(&delivery.execution_ids))
    .bind(Json(&delivery.payload))
    .bind(to_millis(delivery.received_at))
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
        insert_run(&mut tx, execution, false).await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn list(
    reader: &SqlitePool,
    project_id: Uuid,
    filter: &InboundFilter,
) -> StoreResult<Vec<InboundDelivery>> {
    let mut query = QueryBuilder::new(
        "SELECT id, project_id, integration_id, event_type, event_id, account_key, status,
                credential_ids, execution_ids, payload, received_at
         FROM inbound_deliveries WHERE project_id = ",
    );
    query.push_bind(project_id.hyphenated().to_string());
    if let Some(integration_id) = filter.integration_id {
        query
            .push(" AND integration_id = ")
            .push_bind(integration_id.hyphenated().to_string());
    }
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some((at, id)) = filter.before {
        query
            .push(" AND (received_at, id) < (")
            .push_bind(to_millis(at))
            .push(", ")
            .push_bind(id.hyphenated().to_string())
            .push(")");
    }
    query
        .push(" ORDER BY received_at DESC, id DESC LIMIT ")
        .push_bind(filter.limit);
    query
        .build()
        .fetch_all(reader)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub(crate) async fn purge(writer: &SqlitePool, before: DateTime<Utc>) -> StoreResult<u64> {
    Ok(
        sqlx::query("DELETE FROM inbound_deliveries WHERE received_at < $1")
            .bind(to_millis(before))
            .execute(writer)
            .await?
            .rows_affected(),
    )
}

fn from_row(row: &SqliteRow) -> StoreResult<InboundDelivery> {
    let status: String = row.try_get("status")?;
    Ok(InboundDelivery {
        id: uuid(row, "id")?,
        project_id: uuid(row, "project_id")?,
        integration_id: uuid(row, "integration_id")?,
        event_type: row.try_get("event_type")?,
        event_id: row.try_get("event_id")?,
        account_key: row.try_get("account_key")?,
        status: InboundStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown delivery status `{status}`")))?,
        credential_ids: row.try_get::<Json<Vec<Uuid>>, _>("credential_ids")?.0,
        execution_ids: row.try_get::<Json<Vec<Uuid>>, _>("execution_ids")?.0,
        payload: json(row, "payload")?,
        received_at: from_millis(row.try_get("received_at")?)?,
    })
}
