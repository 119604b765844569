//! Key rotation: standby and retired data keys, and compare-and-swap over
//! sealed columns.

use chrono::{DateTime, Utc};
use patchbay_core::crypto::WrappedDataKey;
use patchbay_store::{DataKeyRecord, SealedColumn, SealedValue, StoreError, StoreResult, now};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

#[derive(FromRow)]
struct KeyRow {
    id: Uuid,
    wrapped_key: Vec<u8>,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct SealedRow {
    id: Uuid,
    project_id: Uuid,
    sealed: Vec<u8>,
}

pub(crate) async fn insert_standby(
    pool: &PgPool,
    key: &WrappedDataKey,
) -> StoreResult<DataKeyRecord> {
    let row: KeyRow = sqlx::query_as(
        "INSERT INTO data_keys (id, wrapped_key, created_at, retired_at) VALUES ($1, $2, $3, $3)
         RETURNING id, wrapped_key, created_at, retired_at",
    )
    .bind(key.id)
    .bind(&key.wrapped)
    .bind(now())
    .fetch_one(pool)
    .await?;
    Ok(DataKeyRecord {
        key: WrappedDataKey {
            id: row.id,
            wrapped: row.wrapped_key,
        },
        created_at: row.created_at,
        retired_at: row.retired_at,
    })
}

pub(crate) async fn activate(pool: &PgPool, id: Uuid) -> StoreResult<()> {
    let done = sqlx::query("UPDATE data_keys SET retired_at = NULL WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) async fn retire_except(pool: &PgPool, id: Uuid) -> StoreResult<u64> {
    let done =
        sqlx::query("UPDATE data_keys SET retired_at = $1 WHERE id <> $2 AND retired_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(pool)
            .await?;
    Ok(done.rows_affected())
}

pub(crate) async fn list_sealed(
    pool: &PgPool,
    column: SealedColumn,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<SealedValue>> {
    // Table and column names come from a closed enum, never from input.
    let sql = format!(
        "SELECT id, project_id, {col} AS sealed FROM {table}
         WHERE {col} IS NOT NULL AND ($1::uuid IS NULL OR id > $1)
         ORDER BY id LIMIT $2",
        table = column.table(),
        col = column.column(),
    );
    let rows: Vec<SealedRow> = sqlx::query_as(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| SealedValue {
            project_id: row.project_id,
            record_id: row.id,
            ciphertext: row.sealed,
        })
        .collect())
}

pub(crate) async fn swap_sealed(
    pool: &PgPool,
    column: SealedColumn,
    record_id: Uuid,
    old: &[u8],
    new: &[u8],
) -> StoreResult<bool> {
    let sql = format!(
        "UPDATE {table} SET {col} = $1 WHERE id = $2 AND {col} = $3",
        table = column.table(),
        col = column.column(),
    );
    let done = sqlx::query(&sql)
        .bind(new)
        .bind(record_id)
        .bind(old)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
