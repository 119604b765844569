//! The cursor of a page ordered by time then id (Task History, the admin
//! account list): the last item's position, `<milliseconds>.<id>`. Opaque to
//! callers, who pass back what a page gave them.

use chrono::{DateTime, Utc};
use patchbay_api::ErrorCode;
use uuid::Uuid;

use crate::error::ApiError;

pub fn encode(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}.{}", at.timestamp_millis(), id)
}

pub fn decode(text: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bad = || {
        ApiError::new(
            ErrorCode::InvalidParameter,
            "cursor is not one this API returned.",
        )
    };
    let (millis, id) = text.split_once('.').ok_or_else(bad)?;
    let at = millis
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(bad)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| bad())?))
}
