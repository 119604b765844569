//! Key rotation: standby and retired data keys, and compare-and-swap over
//! sealed columns.

use patchbay_core::crypto::WrappedDataKey;
use patchbay_store::{DataKeyRecord, SealedColumn, SealedValue, StoreError, StoreResult, now};
use sqlx::Row as _;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::rows::uuid;
use crate::time::{from_millis, opt_from_millis, to_millis};

fn record(row: &SqliteRow) -> StoreResult<DataKeyRecord> {
    Ok(DataKeyRecord {
        key: WrappedDataKey {
            id: uuid(row, "id")?,
            wrapped: row.try_get("wrapped_key")?,
        },
        created_at: from_millis(row.try_get("created_at")?)?,
        retired_at: opt_from_millis(row.try_get("retired_at")?)?,
    })
}

pub(crate) async fn insert_standby(
    writer: &SqlitePool,
    key: &WrappedDataKey,
) -> StoreResult<DataKeyRecord> {
    let at = to_millis(now());
    let row = sqlx::query(
        "INSERT INTO data_keys (id, wrapped_key, created_at, retired_at) VALUES ($1, $2, $3, $3)
         RETURNING id, wrapped_key, created_at, retired_at",
    )
    .bind(key.id.hyphenated())
    .bind(&key.wrapped)
    .bind(at)
    .fetch_one(writer)
    .await?;
    record(&row)
}

pub(crate) async fn activate(writer: &SqlitePool, id: Uuid) -> StoreResult<()> {
    let done = sqlx::query("UPDATE data_keys SET retired_at = NULL WHERE id = $1")
        .bind(id.hyphenated())
        .execute(writer)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) async fn retire_except(writer: &SqlitePool, id: Uuid) -> StoreResult<u64> {
    let done =
        sqlx::query("UPDATE data_keys SET retired_at = $1 WHERE id <> $2 AND retired_at IS NULL")
            .bind(to_millis(now()))
            .bind(id.hyphenated())
            .execute(writer)
            .await?;
    Ok(done.rows_affected())
}

pub(crate) async fn list_sealed(
    reader: &SqlitePool,
    column: SealedColumn,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<SealedValue>> {
    // Table and column names come from a closed enum, never from input.
    let sql = format!(
        "SELECT id, project_id, {col} AS sealed FROM {table}
         WHERE {col} IS NOT NULL AND ($1 IS NULL OR id > $1)
         ORDER BY id LIMIT $2",
        table = column.table(),
        col = column.column(),
    );
    sqlx::query(&sql)
        .bind(after.map(|id| id.hyphenated()))
        .bind(limit)
        .fetch_all(reader)
        .await?
        .iter()
        .map(|row| {
            Ok(SealedValue {
                project_id: uuid(row, "project_id")?,
                record_id: uuid(row, "id")?,
                ciphertext: row.try_get("sealed")?,
            })
        })
        .collect()
}

pub(crate) async fn swap_sealed(
    writer: &SqlitePool,
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
        .bind(record_id.hyphenated())
        .bind(old)
        .execute(writer)
        .await?;
    Ok(done.rows_affected() == 1)
}
