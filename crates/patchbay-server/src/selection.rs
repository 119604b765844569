//! The one reader of `X-Paragon-Credential`, the header that selects which
//! of the user's accounts an operation acts as.

use axum::http::HeaderMap;
use patchbay_api::ErrorCode;

use crate::error::ApiError;

pub const CREDENTIAL_HEADER: &str = "x-paragon-credential";

/// The account the request selects, if any; an empty value selects none.
/// Several headers are refused: acting as the first or the last would be a
/// guess. A value that is not text cannot name an account of the user.
pub fn credential_selection(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let mut values = headers.get_all(CREDENTIAL_HEADER).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value
            .to_str()
            .map(|value| Some(value.trim()).filter(|value| !value.is_empty()))
            .map_err(|_| ApiError::from(patchbay_engine::EngineError::CredentialNotFound)),
        (Some(_), Some(_)) => Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "Send one X-Paragon-Credential header, not several.",
        )),
    }
}
