//! The admin view of end users and their accounts, and what it does to an account: check it
//! with its provider now, enable or disable one of its workflows, delete it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use patchbay_api::{
    Credential, CredentialList, ErrorBody, ErrorCode, UserList, UserObject, UserSummaryView,
};
use patchbay_store::{CredentialFilter, CredentialStatus, UserFilter};
use serde::Deserialize;

use crate::auth::ProjectAdmin;
use crate::error::ApiError;
use crate::extract::{PathParams, QueryParams};
use crate::handlers::page_cursor;
use crate::handlers::sdk::UserObjectBody;
use crate::selection::configuration_selection;
use crate::state::AppState;
use patchbay_engine::EngineError;
use patchbay_engine::accounts::project_credential;
use patchbay_engine::configurations;
use patchbay_engine::user_object;
use patchbay_engine::workflows::enabled;

#[derive(Debug, Deserialize)]
pub struct UserQuery {
    search: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// The project's users by id, with how many accounts each has connected; `search` finds part
/// of an id, name or email (metadata `name` and `email`), in any case.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/users", operation_id = "listUsers", tag = "admin",
    params(("projectId" = Uuid, Path),
           ("search" = Option<String>, Query, description = "Part of the user's id, name or email"),
           ("limit" = Option<i64>, Query, description = "Users per page, 1 to 1000 (default 100)"),
           ("cursor" = Option<String>, Query, description = "A page's `nextCursor`, for the page after it")),
    responses((status = 200, body = UserList), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn list(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<UserQuery>,
) -> Result<axum::Json<UserList>, ApiError> {
    let limit = page_cursor::limit(query.limit.as_deref(), PAGE, MAX_PAGE)?;
    let after = query
        .cursor
        .as_deref()
        .map(|cursor| {
            URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidParameter,
                        "cursor is not one this API returned.",
                    )
                })
        })
        .transpose()?;
    let filter = UserFilter {
        search: query.search.filter(|search| !search.trim().is_empty()),
        after,
        // One more than the page: whether another page follows.
        limit: limit + 1,
    };
    let mut users = state
        .store()
        .users()
        .list_users(admin.project.id, &filter)
        .await?;
    let next_cursor = page_cursor::next_page_by(&mut users, limit, |last| {
        URL_SAFE_NO_PAD.encode(&last.user.user_id)
    });
    Ok(axum::Json(UserList {
        data: users
            .into_iter()
            .map(|summary| UserSummaryView {
                id: summary.user.user_id,
                meta: summary.user.meta,
                accounts: summary.accounts,
                invalid_accounts: summary.invalid_accounts,
                date_created: summary.user.created_at,
            })
            .collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize)]
pub struct UserPath {
    #[serde(rename = "userId")]
    user_id: String,
}

/// A user's object, exactly as the user sees it at `GET /sdk/me`.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/users/{userId}", operation_id = "getUser", tag = "admin",
    params(("projectId" = Uuid, Path), ("userId" = String, Path)),
    responses((status = 200, body = UserObject), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn user(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<UserPath>,
) -> Result<UserObjectBody, ApiError> {
    let project_id = admin.project.id;
    let user = state
        .store()
        .users()
        .get_user(project_id, &path.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::UserNotFound, "User not found."))?;
    let runtime = state.engine.runtimes().load(&admin.project).await?;
    let filter = CredentialFilter {
        user_id: Some(user.user_id.clone()),
        ..Default::default()
    };
    let credentials = state
        .store()
        .credentials()
        .list_credentials(project_id, &filter)
        .await?;
    Ok(UserObjectBody(user_object::user_object(
        &user,
        &runtime,
        &credentials,
        |_, _| true,
    )))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialQuery {
    user_id: Option<String>,
    integration: Option<String>,
    status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// Accounts per page unless `limit` says otherwise, and the most it may say.
const PAGE: i64 = 100;
const MAX_PAGE: i64 = 1000;

/// The project's accounts, filtered by user, integration and status, oldest
/// first, a page at a time.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/credentials", operation_id = "listProjectCredentials", tag = "admin",
    params(("projectId" = Uuid, Path), ("userId" = Option<String>, Query),
           ("integration" = Option<String>, Query), ("status" = Option<String>, Query),
           ("limit" = Option<i64>, Query, description = "Accounts per page, 1 to 1000 (default 100)"),
           ("cursor" = Option<String>, Query, description = "A page's `nextCursor`, for the page after it")),
    responses((status = 200, body = CredentialList), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn credentials(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<CredentialQuery>,
) -> Result<axum::Json<CredentialList>, ApiError> {
    let runtime = state.engine.runtimes().load(&admin.project).await?;
    let integration_id = match &query.integration {
        Some(type_or_id) => Some(runtime.require_integration(type_or_id)?.id),
        None => None,
    };
    let status = match &query.status {
        Some(text) => Some(CredentialStatus::parse(text).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                "status must be PENDING, VALID or INVALID.",
            )
        })?),
        None => None,
    };
    let limit = page_cursor::limit(query.limit.as_deref(), PAGE, MAX_PAGE)?;
    let filter = CredentialFilter {
        user_id: query.user_id,
        integration_id,
        status,
        after: query
            .cursor
            .as_deref()
            .map(page_cursor::decode)
            .transpose()?,
        // One more than the page: whether another page follows.
        limit: Some(limit + 1),
        ..CredentialFilter::default()
    };
    let mut credentials = state
        .store()
        .credentials()
        .list_credentials(admin.project.id, &filter)
        .await?;
    let next_cursor =
        page_cursor::next_page(&mut credentials, limit, |last| (last.created_at, last.id));
    Ok(axum::Json(CredentialList {
        data: credentials
            .iter()
            .map(|c| user_object::credential(c, &runtime))
            .collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize)]
pub struct CredentialPath {
    #[serde(rename = "credentialId")]
    credential_id: String,
}

/// Deletes an account with its tokens and configuration.
#[utoipa::path(delete, path = "/api/v1/projects/{projectId}/credentials/{credentialId}", operation_id = "deleteCredential", tag = "admin",
    params(("projectId" = Uuid, Path), ("credentialId" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn delete_credential(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<CredentialPath>,
) -> Result<StatusCode, ApiError> {
    let credential =
        project_credential(state.store(), admin.project.id, &path.credential_id).await?;
    let runtime = state.engine.runtimes().load(&admin.project).await?;
    let integration = runtime.integration_by_id(credential.integration_id);
    state
        .engine
        .connector()
        .disconnect(integration, &credential)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks an account with its provider now: an OAuth account's token is refreshed, an
/// API-key or basic-auth account sends its provider's verification request. Answers the
/// account with the status the check left it in.
#[utoipa::path(post, path = "/api/v1/projects/{projectId}/credentials/{credentialId}/check", operation_id = "checkCredential", tag = "admin",
    params(("projectId" = Uuid, Path), ("credentialId" = Uuid, Path)),
    responses((status = 200, body = Credential), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 502, body = ErrorBody),
              (status = 504, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn check_credential(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<CredentialPath>,
) -> Result<axum::Json<Credential>, ApiError> {
    let credential =
        project_credential(state.store(), admin.project.id, &path.credential_id).await?;
    let runtime = state.engine.runtimes().load(&admin.project).await?;
    let integration = runtime
        .integration_by_id(credential.integration_id)
        .ok_or_else(ApiError::internal)?;
    let checked = state.engine.tokens().check(integration, credential).await?;
    Ok(axum::Json(user_object::credential(&checked, &runtime)))
}

#[derive(Debug, Deserialize)]
pub struct CredentialWorkflowPath {
    #[serde(rename = "credentialId")]
    credential_id: String,
    #[serde(rename = "workflowId")]
    workflow_id: String,
}

/// Enables a workflow for one account, as the user's own toggle does.
#[utoipa::path(post, path = "/api/v1/projects/{projectId}/credentials/{credentialId}/workflows/{workflowId}/enable", operation_id = "enableCredentialWorkflow", tag = "admin",
    params(("projectId" = Uuid, Path), ("credentialId" = Uuid, Path), ("workflowId" = String, Path)),
    responses((status = 200, body = Credential), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn enable_workflow(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<CredentialWorkflowPath>,
    headers: HeaderMap,
) -> Result<axum::Json<Credential>, ApiError> {
    set_workflow_enabled(&state, &admin, &path, &headers, true).await
}

/// Disables a workflow for one account, as the user's own toggle does.
#[utoipa::path(post, path = "/api/v1/projects/{projectId}/credentials/{credentialId}/workflows/{workflowId}/disable", operation_id = "disableCredentialWorkflow", tag = "admin",
    params(("projectId" = Uuid, Path), ("credentialId" = Uuid, Path), ("workflowId" = String, Path)),
    responses((status = 200, body = Credential), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn disable_workflow(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<CredentialWorkflowPath>,
    headers: HeaderMap,
) -> Result<axum::Json<Credential>, ApiError> {
    set_workflow_enabled(&state, &admin, &path, &headers, false).await
}

async fn set_workflow_enabled(
    state: &AppState,
    admin: &ProjectAdmin,
    path: &CredentialWorkflowPath,
    headers: &HeaderMap,
    enabled: bool,
) -> Result<axum::Json<Credential>, ApiError> {
    let credential =
        project_credential(state.store(), admin.project.id, &path.credential_id).await?;
    let runtime = state.engine.runtimes().load(&admin.project).await?;
    let workflow = runtime
        .integration_workflow(credential.integration_id, &path.workflow_id)
        .ok_or_else(|| EngineError::WorkflowNotFound(path.workflow_id.clone()))?;
    let integration = runtime
        .integration_by_id(credential.integration_id)
        .ok_or_else(ApiError::internal)?;
    let configuration = configurations::select(&credential, configuration_selection(headers)?)?;
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
    Ok(axum::Json(user_object::credential(&updated, &runtime)))
}
