//! The end-user API: the user object, integrations, and each account's
//! configuration (docs/api.md).

use axum::extract::State;
use axum::http::HeaderMap;
use patchbay_api::{
    AccountTypeMetadata, Credential, ErrorBody, IntegrationMetadata, IntegrationPortal,
    PortalWorkflow, UpdateCredentialRequest, UpdateUserRequest, UserObject, WorkflowMetadata,
};
use patchbay_config::ProviderDefinition;
use patchbay_core::selection::Operation;
use patchbay_store::{CredentialChanges, CredentialRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::ConnectUser;
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::selection::{account_selection, configuration_selection};
use crate::state::AppState;
use patchbay_engine::EngineError;
use patchbay_engine::accounts::{
    self, selected_configuration, visible_credential, visible_credentials,
};
use patchbay_engine::configurations::{self, SettingsWriter};
use patchbay_engine::runtime::{Integration, ProjectRuntime};
use patchbay_engine::user_object;
use patchbay_engine::workflows::enabled::{self, queue_newly_enabled};

async fn user_object_of(state: &AppState, user: &ConnectUser) -> Result<UserObject, ApiError> {
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let credentials = visible_credentials(state.store(), user, &runtime, None).await?;
    Ok(user_object::user_object(
        &user.user,
        &runtime,
        &credentials,
        // The accounts are the ones the token may see already.
        |type_name, accounts| !accounts.is_empty() || user.token.allows_new_credentials(type_name),
    ))
}

/// The user object: every integration with all of the user's accounts.
#[utoipa::path(get, path = "/projects/{projectId}/sdk/me", operation_id = "getMe", tag = "sdk",
    params(("projectId" = Uuid, Path)),
    responses((status = 200, body = UserObject), (status = 401, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn me(
    user: ConnectUser,
    State(state): State<AppState>,
) -> Result<UserObjectBody, ApiError> {
    Ok(UserObjectBody(user_object_of(&state, &user).await?))
}

/// Merges `meta` into the user's metadata.
#[utoipa::path(patch, path = "/projects/{projectId}/sdk/me", operation_id = "updateMe", tag = "sdk",
    params(("projectId" = Uuid, Path)), request_body = UpdateUserRequest,
    responses((status = 200, body = UserObject), (status = 401, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn update_me(
    mut user: ConnectUser,
    State(state): State<AppState>,
    JsonBody(request): JsonBody<UpdateUserRequest>,
) -> Result<UserObjectBody, ApiError> {
    user.0.user = state
        .store()
        .users()
        .upsert_user(user.project.id, &user.user.user_id, Some(&request.meta))
        .await?;
    Ok(UserObjectBody(user_object_of(&state, &user).await?))
}

/// A user object as a response body, written into a buffer of about its
/// size: one with many accounts runs to hundreds of KiB, and a buffer grown
/// by doubling from a few bytes would be copied over and over.
pub struct UserObjectBody(pub UserObject);

impl UserObjectBody {
    /// What an account adds to the body, generously (with its
    /// configuration twice, Paragon's way).
    const BYTES_PER_ACCOUNT: usize = 2048;
    const BYTES_PER_INTEGRATION: usize = 512;
}

impl axum::response::IntoResponse for UserObjectBody {
    fn into_response(self) -> axum::response::Response {
        let integrations = &self.0.integrations;
        let accounts: usize = integrations.values().map(|i| i.all_credentials.len()).sum();
        let mut body = Vec::with_capacity(
            1024 + accounts * Self::BYTES_PER_ACCOUNT
                + integrations.len() * Self::BYTES_PER_INTEGRATION,
        );
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(_) => ApiError::internal().into_response(),
        }
    }
}

/// The integrations enabled in the project that this token may see.
#[utoipa::path(get, path = "/projects/{projectId}/sdk/integrations", operation_id = "listIntegrations", tag = "sdk",
    params(("projectId" = Uuid, Path)),
    responses((status = 200, body = Vec<IntegrationMetadata>), (status = 401, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn integrations(
    user: ConnectUser,
    State(state): State<AppState>,
) -> Result<axum::Json<Vec<IntegrationMetadata>>, ApiError> {
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let credentials = visible_credentials(state.store(), &user, &runtime, None).await?;
    let visible = runtime.integrations.iter().filter(|integration| {
        credentials
            .iter()
            .any(|c| c.integration_id == integration.id)
            || (user.token).allows_new_credentials(&integration.config.type_name)
    });
    let meta = Value::Object(user.user.meta.clone());
    Ok(axum::Json(
        visible
            .map(|i| integration_metadata(i, &runtime, &meta))
            .collect(),
    ))
}

fn integration_metadata(
    integration: &Integration,
    runtime: &ProjectRuntime,
    user_meta: &Value,
) -> IntegrationMetadata {
    let config = &integration.config;
    let default = WayIn::of(integration.provider_for(None));
    IntegrationMetadata {
        id: integration.id,
        type_name: config.type_name.clone(),
        name: config.name.clone(),
        description: config.description.clone(),
        icon: config.icon.clone(),
        brand_color: config.provider.brand_color.clone(),
        auth_type: default.auth_type,
        credential_fields: default.credential_fields,
        connection_fields: default.connection_fields,
        user_settings: config.user_settings.iter().map(|s| json!(s)).collect(),
        // A workflow its `showWhen` keeps from this user is not theirs to know of.
        workflows: runtime
            .workflows_of(integration.id)
            .filter(|w| w.config.shown_to(user_meta))
            .map(|w| WorkflowMetadata {
                id: w.config.id.clone(),
                description: w.config.description.clone(),
                default_enabled: w.config.default_enabled,
                inputs: w.config.inputs.iter().map(|s| json!(s)).collect(),
            })
            .collect(),
        account_types: (config.provider.account_types.iter())
            .map(|account_type| {
                let way_in = WayIn::of(integration.provider_for(Some(&account_type.id)));
                AccountTypeMetadata {
                    id: account_type.id.clone(),
                    name: account_type.name.clone(),
                    account_description: (account_type.description.clone())
                        .unwrap_or_else(|| account_type.name.clone()),
                    auth_type: way_in.auth_type,
                    credential_fields: way_in.credential_fields,
                    connection_fields: way_in.connection_fields,
                }
            })
            .collect(),
        portal: portal(integration, runtime, user_meta),
    }
}

/// How the Connect Portal presents `integration` to a user whose metadata is `user_meta`: its
/// accent colour, its overview as sanitised HTML, and the workflows the user may see that are
/// not hidden, in display order.
fn portal(
    integration: &Integration,
    runtime: &ProjectRuntime,
    user_meta: &Value,
) -> IntegrationPortal {
    let config = &integration.config;
    let workflows = runtime.workflows_of(integration.id).map(|w| &w.config);
    IntegrationPortal {
        accent_color: config.accent_color(&runtime.settings).map(str::to_owned),
        overview_html: config.overview_html(),
        workflows: (config.workflow_display_order(workflows).into_iter())
            .filter(|workflow| workflow.listed_for(user_meta))
            .map(|workflow| PortalWorkflow {
                id: workflow.id.clone(),
                help: workflow.portal_help().map(str::to_owned),
            })
            .collect(),
    }
}

/// What connecting one way in asks of the user.
struct WayIn {
    auth_type: String,
    credential_fields: Vec<Value>,
    connection_fields: Vec<Value>,
}

impl WayIn {
    fn of(provider: &ProviderDefinition) -> Self {
        Self {
            auth_type: provider.auth.auth_type().as_str().to_owned(),
            credential_fields: (provider.auth.credential_fields().iter())
                .map(|f| json!(f))
                .collect(),
            connection_fields: provider
                .connection_fields
                .iter()
                .map(|f| json!(f))
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CredentialQuery {
    integration: Option<String>,
}

/// The user's accounts, of every integration or of one.
#[utoipa::path(get, path = "/projects/{projectId}/sdk/credentials", operation_id = "listCredentials", tag = "sdk",
    params(("projectId" = Uuid, Path), ("integration" = Option<String>, Query)),
    responses((status = 200, body = Vec<Credential>), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn credentials(
    user: ConnectUser,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<CredentialQuery>,
) -> Result<axum::Json<Vec<Credential>>, ApiError> {
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let integration = match &query.integration {
        Some(type_or_id) => Some(runtime.require_integration(type_or_id)?),
        None => None,
    };
    let credentials = visible_credentials(state.store(), &user, &runtime, integration).await?;
    Ok(axum::Json(
        credentials
            .iter()
            .map(|c| user_object::credential(c, &runtime))
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct CredentialPath {
    #[serde(rename = "credentialId")]
    credential_id: String,
}

/// One of the user's accounts, with its configuration.
#[utoipa::path(get, path = "/projects/{projectId}/sdk/credentials/{credentialId}", operation_id = "getCredential", tag = "sdk",
    params(("projectId" = Uuid, Path), ("credentialId" = Uuid, Path)),
    responses((status = 200, body = Credential), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn credential(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<CredentialPath>,
) -> Result<axum::Json<Credential>, ApiError> {
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let credential =
        visible_credential(state.store(), &user, &runtime, &path.credential_id).await?;
    Ok(axum::Json(user_object::credential(&credential, &runtime)))
}

/// Updates one account's settings, workflow states or label.
#[utoipa::path(patch, path = "/projects/{projectId}/sdk/credentials/{credentialId}", operation_id = "updateCredential", tag = "sdk",
    params(("projectId" = Uuid, Path), ("credentialId" = Uuid, Path)),
    request_body = UpdateCredentialRequest,
    responses((status = 200, body = Credential), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn update_credential(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<CredentialPath>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<UpdateCredentialRequest>,
) -> Result<axum::Json<Credential>, ApiError> {
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let credential =
        visible_credential(state.store(), &user, &runtime, &path.credential_id).await?;
    let integration = runtime
        .integration_by_id(credential.integration_id)
        .ok_or_else(ApiError::internal)?;
    let configuration = configurations::select(&credential, configuration_selection(&headers)?)?;
    let writer = SettingsWriter {
        keyring: state.engine.keyring(),
        runtime: &runtime,
        integration,
        credential: &credential,
        configuration,
    };
    let (changes, events) = writer.changes(request.config.unwrap_or_default())?;
    let changes = CredentialChanges {
        external_id: request.external_id,
        configuration: Some((configuration.id, changes)),
        ..Default::default()
    };
    let updated = accounts::update(state.store(), &credential, &changes, &events).await?;
    queue_newly_enabled(
        state.engine.workflows(),
        Some(&configuration.workflow_settings),
        &updated,
        configuration.id,
    )
    .await;
    credential_view(&user, integration, updated, &runtime)
}

/// An account as the caller's token lets them see it, after a change.
fn credential_view(
    user: &ConnectUser,
    integration: &Integration,
    updated: CredentialRecord,
    runtime: &ProjectRuntime,
) -> Result<axum::Json<Credential>, ApiError> {
    let visible = user
        .visible(&integration.config.type_name, updated)
        .ok_or(EngineError::CredentialNotFound)?;
    Ok(axum::Json(user_object::credential(&visible, runtime)))
}

#[derive(Debug, Deserialize)]
pub struct WorkflowPath {
    #[serde(rename = "workflowId")]
    workflow_id: String,
}

/// Enables a workflow for the selected account.
#[utoipa::path(post, path = "/projects/{projectId}/sdk/workflows/{workflowId}", operation_id = "enableWorkflow", tag = "sdk",
    params(("projectId" = Uuid, Path), ("workflowId" = String, Path),
           ("X-Paragon-Credential" = Option<String>, Header)),
    responses((status = 200, body = Credential), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn enable_workflow(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<WorkflowPath>,
    headers: HeaderMap,
) -> Result<axum::Json<Credential>, ApiError> {
    set_workflow_enabled(&state, &user, &path.workflow_id, &headers, true).await
}

/// Disables a workflow for the selected account.
#[utoipa::path(delete, path = "/projects/{projectId}/sdk/workflows/{workflowId}", operation_id = "disableWorkflow", tag = "sdk",
    params(("projectId" = Uuid, Path), ("workflowId" = String, Path),
           ("X-Paragon-Credential" = Option<String>, Header)),
    responses((status = 200, body = Credential), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn disable_workflow(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<WorkflowPath>,
    headers: HeaderMap,
) -> Result<axum::Json<Credential>, ApiError> {
    set_workflow_enabled(&state, &user, &path.workflow_id, &headers, false).await
}

async fn set_workflow_enabled(
    state: &AppState,
    user: &ConnectUser,
    workflow_id: &str,
    headers: &HeaderMap,
    enabled: bool,
) -> Result<axum::Json<Credential>, ApiError> {
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let workflow = runtime
        .workflow(workflow_id)
        .filter(|workflow| {
            workflow
                .config
                .shown_to(&Value::Object(user.user.meta.clone()))
        })
        .ok_or_else(|| EngineError::WorkflowNotFound(workflow_id.to_owned()))?;
    let integration = runtime
        .integration_by_id(workflow.integration_id)
        .ok_or_else(ApiError::internal)?;
    let (credential, configuration_id) = selected_configuration(
        state.store(),
        user,
        &runtime,
        integration,
        account_selection(headers)?,
        Operation::Use,
    )
    .await?;
    let configuration = credential
        .configuration(configuration_id)
        .ok_or_else(ApiError::internal)?;
    let workflows = state.engine.workflows();
    let updated = enabled::set_enabled(
        workflows,
        integration,
        workflow,
        &credential,
        configuration,
        enabled,
    )
    .await?;
    credential_view(user, integration, updated, &runtime)
}
