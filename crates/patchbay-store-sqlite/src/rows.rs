//! Decoding helpers shared by this crate's modules.

use patchbay_store::{StoreError, StoreResult};
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use uuid::Uuid;
use uuid::fmt::Hyphenated;

pub(crate) fn uuid(row: &SqliteRow, column: &str) -> StoreResult<Uuid> {
    Ok(row.try_get::<Hyphenated, _>(column)?.into_uuid())
}

pub(crate) fn optional_uuid(row: &SqliteRow, column: &str) -> StoreResult<Option<Uuid>> {
    Ok(row
        .try_get::<Option<Hyphenated>, _>(column)?
        .map(Hyphenated::into_uuid))
}

pub(crate) fn json(row: &SqliteRow, column: &str) -> StoreResult<serde_json::Value> {
    Ok(row.try_get::<Json<serde_json::Value>, _>(column)?.0)
}

pub(crate) fn json_object(
    row: &SqliteRow,
    column: &str,
) -> StoreResult<serde_json::Map<String, serde_json::Value>> {
    match json(row, column)? {
        serde_json::Value::Object(map) => Ok(map),
        other => Err(StoreError::Corrupt(format!(
            "{column} is not an object: {other}"
        ))),
    }
}
