//! The caller's accounts: what their token lets them see, and which one an
//! operation acts as; an account as the admin API names it; and writing a
//! change to one.

use patchbay_core::selection::{self, Operation, SelectionError, SelectionPolicy};
use patchbay_store::{
    CredentialChanges, CredentialFilter, CredentialRecord, NewEvent, Store, StoreError,
};
use uuid::Uuid;

use crate::caller::Caller;
use crate::configurations;
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
    let credentials = store
        .credentials()
        .list_credentials(user.project.id, &filter)
        .await?;
    Ok(credentials
        .into_iter()
        .filter_map(|c| {
            let type_name = types.get(&c.integration_id)?;
            user.visible(type_name, c)
        })
        .collect())
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
    if credential.user_id != user.user.user_id {
        return Err(EngineError::CredentialNotFound);
    }
    runtime
        .integration_by_id(credential.integration_id)
        .and_then(|i| user.visible(&i.config.type_name, credential))
        .ok_or(EngineError::CredentialNotFound)
}

/// What a request names of the account it acts as: `X-Paragon-Credential` (or a
/// `selectedCredentialId`) and `X-Paragon-Configuration-Id` (or a `selectedConfigurationId`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountSelection<'a> {
    pub credential: Option<&'a str>,
    pub configuration: Option<&'a str>,
}

/// The account an operation on `integration` acts as: the one `selection` names (directly, or
/// as the owner of the configuration it names), or the default.
pub async fn selected_credential(
    store: &dyn Store,
    user: &Caller,
    runtime: &ProjectRuntime,
    integration: &Integration,
    selection: AccountSelection<'_>,
    operation: Operation,
) -> EngineResult<CredentialRecord> {
    let accounts = visible_credentials(store, user, runtime, Some(integration)).await?;
    let type_name = &integration.config.type_name;
    if let (None, Some(configuration)) = (selection.credential, selection.configuration) {
        let owners: Vec<&CredentialRecord> = accounts
            .iter()
            .filter(|account| configurations::find(account, configuration).is_ok())
            .collect();
        return match owners.as_slice() {
            [owner] => Ok((*owner).clone()),
            [] => Err(EngineError::ConfigurationNotFound),
            several => Err(EngineError::SelectionRequired {
                integration: type_name.clone(),
                credential_ids: several.iter().map(|account| account.id).collect(),
            }),
        };
    }
    let policy = SelectionPolicy {
        require_explicit: runtime.settings.require_explicit_credential,
    };
    match selection::select(&accounts, selection.credential, operation, policy) {
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

/// The account and the configuration of it an operation on `integration` acts as: what
/// `selection` names, else the account's default configuration.
pub async fn selected_configuration(
    store: &dyn Store,
    user: &Caller,
    runtime: &ProjectRuntime,
    integration: &Integration,
    selection: AccountSelection<'_>,
    operation: Operation,
) -> EngineResult<(CredentialRecord, Uuid)> {
    let credential =
        selected_credential(store, user, runtime, integration, selection, operation).await?;
    let configuration = configurations::select(&credential, selection.configuration)?.id;
    Ok((credential, configuration))
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
