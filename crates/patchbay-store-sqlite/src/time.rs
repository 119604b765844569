//! Timestamps are stored as Unix milliseconds so SQLite compares and orders
//! them numerically.

use chrono::{DateTime, Utc};
use patchbay_store::{StoreError, StoreResult};

pub(crate) fn to_millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_millis(millis: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {millis} out of range")))
}

pub(crate) fn opt_from_millis(millis: Option<i64>) -> StoreResult<Option<DateTime<Utc>>> {
    millis.map(from_millis).transpose()
}
