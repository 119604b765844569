//! An account's configurations, for its end user (docs/api.md): list, create, update and
//! destroy, Paragon's `createConfiguration`, `updateConfiguration` and
//! `destroyConfiguration`.

use axum::extract::State;
use axum::http::StatusCode;
use patchbay_api::{
    CreateConfigurationRequest, CredentialConfiguration, ErrorBody, UpdateConfigurationRequest,
};
use patchbay_engine::accounts::visible_credential;
use patchbay_engine::configurations::{self, SettingsWriter};
use patchbay_engine::runtime::{Integration, ProjectRuntime};
use patchbay_engine::user_object;
use patchbay_engine::workflows::enabled::queue_newly_enabled;
use patchbay_store::CredentialRecord;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::ConnectUser;
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParams};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct CredentialPath {
    #[serde(rename = "credentialId")]
    credential_id: String,
}

#[derive(Debug, Deserialize)]
pub struct ConfigurationPath {
    #[serde(rename = "credentialId")]
    credential_id: String,
    /// An id, or `ext:` and a label.
    #[serde(rename = "configurationId")]
    configuration_id: String,
}

/// The account as the caller may see it, with its integration.
struct Account {
    runtime: std::sync::Arc<ProjectRuntime>,
    credential: CredentialRecord,
}

impl Account {
    async fn load(state: &AppState, user: &ConnectUser, id: &str) -> Result<Self, ApiError> {
        let runtime = state.engine.runtimes().load(&user.project).await?;
        let credential = visible_credential(state.store(), user, &runtime, id).await?;
        Ok(Self {
            runtime,
            credential,
        })
    }

    fn integration(&self) -> Result<&Integration, ApiError> {
        self.runtime
            .integration_by_id(self.credential.integration_id)
            .ok_or_else(ApiError::internal)
    }

    /// `configuration_id` of `updated`, as the caller may see it.
    fn view(
        &self,
        user: &ConnectUser,
        updated: CredentialRecord,
        configuration_id: Uuid,
    ) -> Result<CredentialConfiguration, ApiError> {
        let integration = self.integration()?;
        user.visible(&integration.config.type_name, updated)
            .and_then(|visible| {
                user_object::credential(&visible, &self.runtime)
                    .configurations
                    .into_iter()
                    .find(|c| c.id == configuration_id)
            })
            .ok_or_else(|| patchbay_engine::EngineError::ConfigurationNotFound.into())
    }
}

/// The account's configurations, the default first.
#[utoipa::path(get, path = "/projects/{projectId}/sdk/credentials/{credentialId}/configurations", operation_id = "listConfigurations", tag = "sdk",
    params(("projectId" = Uuid, Path), ("credentialId" = Uuid, Path)),
    responses((status = 200, body = Vec<CredentialConfiguration>), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn list(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<CredentialPath>,
) -> Result<axum::Json<Vec<CredentialConfiguration>>, ApiError> {
    let account = Account::load(&state, &user, &path.credential_id).await?;
    let view = user_object::credential(&account.credential, &account.runtime);
    Ok(axum::Json(view.configurations))
}

/// Adds a configuration to the account: its own settings and workflow states, starting empty.
#[utoipa::path(post, path = "/projects/{projectId}/sdk/credentials/{credentialId}/configurations", operation_id = "createConfiguration", tag = "sdk",
    params(("projectId" = Uuid, Path), ("credentialId" = Uuid, Path)),
    request_body = CreateConfigurationRequest,
    responses((status = 200, body = CredentialConfiguration), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn create(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<CredentialPath>,
    JsonBody(request): JsonBody<CreateConfigurationRequest>,
) -> Result<axum::Json<CredentialConfiguration>, ApiError> {
    let account = Account::load(&state, &user, &path.credential_id).await?;
    let integration = account.integration()?;
    let (created, id) = configurations::create(
        state.store(),
        &account.credential,
        &integration.config.type_name,
        request.external_id,
        request.meta.unwrap_or_default(),
    )
    .await?;
    // Workflows enabled by default run their `integration_enabled` start for it too.
    queue_newly_enabled(state.engine.workflows(), None, &created, id).await;
    Ok(axum::Json(account.view(&user, created, id)?))
}

/// Changes a configuration's label, metadata, settings or workflow states.
#[utoipa::path(patch, path = "/projects/{projectId}/sdk/credentials/{credentialId}/configurations/{configurationId}", operation_id = "updateConfiguration", tag = "sdk",
    params(("projectId" = Uuid, Path), ("credentialId" = Uuid, Path),
           ("configurationId" = String, Path, description = "An id, or `ext:` and a label")),
    request_body = UpdateConfigurationRequest,
    responses((status = 200, body = CredentialConfiguration), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn update(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<ConfigurationPath>,
    JsonBody(request): JsonBody<UpdateConfigurationRequest>,
) -> Result<axum::Json<CredentialConfiguration>, ApiError> {
    let account = Account::load(&state, &user, &path.credential_id).await?;
    let integration = account.integration()?;
    let configuration = configurations::find(&account.credential, &path.configuration_id)?;
    let writer = SettingsWriter {
        keyring: state.engine.keyring(),
        runtime: &account.runtime,
        integration,
        credential: &account.credential,
        configuration,
    };
    let (mut changes, mut events) = writer.changes(request.settings())?;
    events.extend(configurations::relabel(
        &account.credential,
        &integration.config.type_name,
        configuration,
        request.external_id,
        request.meta,
        &mut changes,
    ));
    let updated = configurations::write(
        state.store(),
        &account.credential,
        configuration.id,
        changes,
        &events,
    )
    .await?;
    queue_newly_enabled(
        state.engine.workflows(),
        Some(&configuration.workflow_settings),
        &updated,
        configuration.id,
    )
    .await;
    Ok(axum::Json(account.view(
        &user,
        updated,
        configuration.id,
    )?))
}

/// Destroys a configuration other than the account's default.
#[utoipa::path(delete, path = "/projects/{projectId}/sdk/credentials/{credentialId}/configurations/{configurationId}", operation_id = "destroyConfiguration", tag = "sdk",
    params(("projectId" = Uuid, Path), ("credentialId" = Uuid, Path),
           ("configurationId" = String, Path, description = "An id, or `ext:` and a label")),
    responses((status = 204), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn destroy(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<ConfigurationPath>,
) -> Result<StatusCode, ApiError> {
    let account = Account::load(&state, &user, &path.credential_id).await?;
    let integration = account.integration()?;
    let configuration = configurations::find(&account.credential, &path.configuration_id)?;
    configurations::destroy(
        state.store(),
        &account.credential,
        &integration.config.type_name,
        configuration,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
