//! The caller's accounts: what their token lets them see, and which one an
//! operation acts as; an account as the admin API names it; and writing a
//! change to one.

use patchbay_core::selection::{self, Operation, SelectionError, SelectionPolicy};
use patchbay_store::{
    CredentialChanges, CredentialFilter, CredentialRecord, NewEvent, Store, StoreError,
};
use uuid::Uuid;

use crate::caller::Caller;
use crate::error::{EngineError, EngineResult};
use crate::runtime::{Integration, ProjectRuntime};

/// The user's accounts the token may see, oldest first, optionally of one
/// integration only.
pub async fn visible_credentials(
    store: &dyn Store,
    user: &Caller,
    runtime: &ProjectRuntime,
    integration: Option<&Integration>,
) -> EngineResult<Vec<CredentialRecord>> {
    let filter = CredentialFilter {
        user_id: Some(user.user.user_id.clone()),
        integration_id: integration.map(|i| i.id),
        ..CredentialFilter::default()
    };
    let types = runtime.integration_types();
    let mut credentials = store
        .credentials()
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
    store: &dyn Store,
    user: &Caller,
    runtime: &ProjectRuntime,
    id: &str,
) -> EngineResult<CredentialRecord> {
    let id = Uuid::parse_str(id).map_err(|_| EngineError::CredentialNotFound)?;
    let credential = store
        .credentials()
        .get_credential(user.project.id, id)
        .await?
        .ok_or(EngineError::CredentialNotFound)?;
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
        Err(EngineError::CredentialNotFound)
    }
}

/// The account an operation on `integration` acts as: the one `selection`
/// names (the `X-Paragon-Credential` header or a `selectedCredentialId`),
/// or the default.
pub async fn selected_credential(
    store: &dyn Store,
    user: &Caller,
    runtime: &ProjectRuntime,
    integration: &Integration,
    selection: Option<&str>,
    operation: Operation,
) -> EngineResult<CredentialRecord> {
    let accounts = visible_credentials(store, user, runtime, Some(integration)).await?;
    let policy = SelectionPolicy {
        require_explicit: runtime.settings.require_explicit_credential,
    };
    let type_name = &integration.config.type_name;
    match selection::select(&accounts, selection, operation, policy) {
        Ok(account) => Ok(account.clone()),
        Err(SelectionError::NotFound) => Err(EngineError::CredentialNotFound),
        Err(SelectionError::NoAccount) => {
            Err(EngineError::IntegrationNotInstalled(type_name.clone()))
        }
        Err(SelectionError::SelectionRequired(ids)) => Err(EngineError::SelectionRequired {
            integration: type_name.clone(),
            credential_ids: ids,
        }),
    }
}

/// One of the project's accounts by id, whoever it belongs to: the admin API's view. An id
/// that is not a UUID names no account, like an unknown one.
pub async fn project_credential(
    store: &dyn Store,
    project_id: Uuid,
    id: &str,
) -> EngineResult<CredentialRecord> {
    let id = Uuid::parse_str(id).map_err(|_| EngineError::CredentialNotFound)?;
    store
        .credentials()
        .get_credential(project_id, id)
        .await?
        .ok_or(EngineError::CredentialNotFound)
}

/// Writes `changes` to an account together with the events describing them.
pub async fn update(
    store: &dyn Store,
    credential: &CredentialRecord,
    changes: &CredentialChanges,
    events: &[NewEvent],
) -> EngineResult<CredentialRecord> {
    store
        .credentials()
        .update_credential(credential.project_id, credential.id, changes, events)
        .await
        .map_err(|err| match err {
            StoreError::Conflict { .. } => EngineError::ExternalIdTaken,
            StoreError::NotFound => EngineError::CredentialNotFound,
            other => other.into(),
        })
}
