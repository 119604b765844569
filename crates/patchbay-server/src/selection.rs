//! The one reader of `X-Paragon-Credential` and `X-Paragon-Configuration-Id`, the headers
//! that select which of the user's accounts, and which configuration of it, an operation acts
//! as.

use axum::http::HeaderMap;
use patchbay_api::ErrorCode;
use patchbay_engine::accounts::AccountSelection;

use crate::error::ApiError;

pub const CREDENTIAL_HEADER: &str = "x-paragon-credential";
pub const CONFIGURATION_HEADER: &str = "x-paragon-configuration-id";

/// The account and configuration the request selects, if any.
pub fn account_selection(headers: &HeaderMap) -> Result<AccountSelection<'_>, ApiError> {
    Ok(AccountSelection {
        credential: credential_selection(headers)?,
        configuration: configuration_selection(headers)?,
    })
}

/// The configuration the request selects, if any, read like `X-Paragon-Credential`.
pub fn configuration_selection(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    one_header(
        headers,
        CONFIGURATION_HEADER,
        "X-Paragon-Configuration-Id",
        || patchbay_engine::EngineError::ConfigurationNotFound.into(),
    )
}

/// The account the request selects, if any; an empty value selects none.
/// Several headers are refused: acting as the first or the last would be a
/// guess. A value that is not text cannot name an account of the user.
pub fn credential_selection(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    one_header(headers, CREDENTIAL_HEADER, "X-Paragon-Credential", || {
        patchbay_engine::EngineError::CredentialNotFound.into()
    })
}

fn one_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
    display_name: &str,
    not_found: impl FnOnce() -> ApiError,
) -> Result<Option<&'h str>, ApiError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value
            .to_str()
            .map(|value| Some(value.trim()).filter(|value| !value.is_empty()))
            .map_err(|_| not_found()),
        (Some(_), Some(_)) => Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("Send one {display_name} header, not several."),
        )),
    }
}
