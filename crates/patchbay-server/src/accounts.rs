//! The caller's accounts: what their token lets them see, and which one an
//! operation acts as.

use axum::http::{HeaderMap, StatusCode};
use patchbay_api::ErrorCode;
use patchbay_core::selection::{self, Operation, SelectionError, SelectionPolicy};
use patchbay_store::{CredentialFilter, CredentialRecord};
use serde_json::json;

use crate::auth::ConnectUser;
use crate::error::ApiError;
use crate::runtime::{Integration, ProjectRuntime};
use crate::state::AppState;

/// The header that selects an account (SPEC §3).
pub const CREDENTIAL_HEADER: &str = "x-paragon-credential";

pub fn credential_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::CredentialNotFound,
        "Credential not found.",
    )
}

pub fn integration_not_found(type_or_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::IntegrationNotFound,
        format!("Integration \"{type_or_id}\" is not enabled in this project."),
    )
}

/// The user's accounts the token may see, oldest first, optionally of one
/// integration only.
pub async fn visible_credentials(
    state: &AppState,
    user: &ConnectUser,
    runtime: &ProjectRuntime,
    integration: Option<&Integration>,
) -> Result<Vec<CredentialRecord>, ApiError> {
    let filter = CredentialFilter {
        user_id: Some(user.user.user_id.clone()),
        integration_id: integration.map(|i| i.id),
        status: None,
    };
    let types = runtime.integration_types();
    let mut credentials = state
        .store
        .list_credentials(user.project.id, &filter)
        .await?;
    credentials.retain(|c| {
        types
            .get(&c.integration_id)
            .is_some_and(|type_name| user.token.allows_credential(type_name, c.id))
    });
    Ok(credentials)
}

/// One of the user's visible accounts by id; anything else, including
/// another user's account, is `404 credential_not_found`.
pub async fn visible_credential(
    state: &AppState,
    user: &ConnectUser,
    runtime: &ProjectRuntime,
    id: &str,
) -> Result<CredentialRecord, ApiError> {
    let id = uuid::Uuid::parse_str(id).map_err(|_| credential_not_found())?;
    let credential = state
        .store
        .get_credential(user.project.id, id)
        .await?
        .ok_or_else(credential_not_found)?;
    let allowed = credential.user_id == user.user.user_id
        && runtime
            .integration_by_id(credential.integration_id)
            .is_some_and(|i| {
                user.token
                    .allows_credential(&i.config.type_name, credential.id)
            });
    if allowed {
        Ok(credential)
    } else {
        Err(credential_not_found())
    }
}

/// The account an operation on `integration` acts as, chosen by the
/// `X-Paragon-Credential` header or by default (SPEC §3).
pub async fn selected_credential(
    state: &AppState,
    user: &ConnectUser,
    runtime: &ProjectRuntime,
    integration: &Integration,
    headers: &HeaderMap,
    operation: Operation,
) -> Result<CredentialRecord, ApiError> {
    let mut values = headers.get_all(CREDENTIAL_HEADER).iter();
    let selection = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(value), None) => Some(value.to_str().map_err(|_| credential_not_found())?),
        // Acting as the first or the last would be a guess.
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidParameter,
                "Send one X-Paragon-Credential header, not several.",
            ));
        }
    };
    let accounts = visible_credentials(state, user, runtime, Some(integration)).await?;
    let policy = SelectionPolicy {
        require_explicit: runtime.settings.require_explicit_credential,
    };
    match selection::select(&accounts, selection, operation, policy) {
        Ok(account) => Ok(account.clone()),
        Err(SelectionError::NotFound) => Err(credential_not_found()),
        Err(SelectionError::NoAccount) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::IntegrationNotInstalled,
            format!(
                "No account of \"{}\" is connected.",
                integration.config.type_name
            ),
        )),
        Err(SelectionError::SelectionRequired(ids)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::CredentialSelectionRequired,
            format!(
                "This user has {} accounts of \"{}\": select one with the X-Paragon-Credential \
                 header or the selectedCredentialId option.",
                ids.len(),
                integration.config.type_name
            ),
        )
        .with_meta(json!({ "credentialIds": ids }))),
    }
}
