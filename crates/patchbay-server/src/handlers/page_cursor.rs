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

/// A page's size: `default` when `limit` is absent, else a whole number from 1 to `max`.
pub fn limit(text: Option<&str>, default: i64, max: i64) -> Result<i64, ApiError> {
    let Some(text) = text else {
        return Ok(default);
    };
    text.parse::<i64>()
        .ok()
        .filter(|limit| (1..=max).contains(limit))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                format!("limit must be a whole number from 1 to {max}."),
            )
        })
}

/// Cuts a read of one more than `limit` items down to the page, and answers the cursor of
/// the page after it: the last item's position, when there was one more.
pub fn next_page<T>(
    items: &mut Vec<T>,
    limit: i64,
    position: impl Fn(&T) -> (DateTime<Utc>, Uuid),
) -> Option<String> {
    next_page_by(items, limit, |last| {
        let (at, id) = position(last);
        encode(at, id)
    })
}

/// [`next_page`] for pages ordered otherwise: `cursor` writes the last item's position.
pub fn next_page_by<T>(
    items: &mut Vec<T>,
    limit: i64,
    cursor: impl Fn(&T) -> String,
) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = items.len() > limit;
    items.truncate(limit);
    more.then(|| items.last()).flatten().map(cursor)
}
