//! Projects and their secret keys (admin API).

use axum::extract::State;
use axum::http::StatusCode;
use patchbay_api::{
    CreateProjectRequest, CreateProjectResponse, CreatedSecretKey, ErrorBody, ErrorCode,
    MAX_ACTIVE_SECRET_KEYS, ProjectList, ProjectView, SecretKeyList, SecretKeyView,
};
use patchbay_core::secret_key::NewSecretKey;
use patchbay_store::{
    ACTIVE_KEY_LIMIT, NewProject, NewSecretKeyRecord, Project, SecretKeyRecord, Store, StoreError,
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::{InstanceAdmin, ProjectAdmin};
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParams};
use crate::state::AppState;

const MAX_NAME_LEN: usize = 200;

/// Creates a project and its first secret key. Shared by the HTTP API and
/// `patchbay project create`.
pub async fn create_project(
    store: &dyn Store,
    name: &str,
) -> Result<CreateProjectResponse, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(ApiError::validation(
            "name",
            format!("A project name must have between 1 and {MAX_NAME_LEN} characters."),
        ));
    }
    let project = NewProject {
        id: Uuid::new_v4(),
        name: name.to_owned(),
    };
    let key = NewSecretKey::generate();
    store
        .projects()
        .create_project(&project, &key_record(project.id, &key))
        .await?;
    Ok(CreateProjectResponse {
        project_id: project.id,
        secret_key: key.reveal().to_owned(),
    })
}

fn key_record(project_id: Uuid, key: &NewSecretKey) -> NewSecretKeyRecord {
    NewSecretKeyRecord {
        id: Uuid::new_v4(),
        project_id,
        hash: key.hash(),
        display_prefix: key.display_prefix(),
    }
}

fn project_view(project: Project) -> ProjectView {
    ProjectView {
        id: project.id,
        name: project.name,
        date_created: project.created_at,
        date_updated: project.updated_at,
    }
}

fn secret_key_view(key: SecretKeyRecord) -> SecretKeyView {
    SecretKeyView {
        id: key.id,
        prefix: key.display_prefix,
        date_created: key.created_at,
        date_revoked: key.revoked_at,
    }
}

/// Creates a project (instance admin token required).
#[utoipa::path(post, path = "/api/v1/projects", operation_id = "createProject", tag = "admin",
    request_body = CreateProjectRequest,
    responses((status = 201, body = CreateProjectResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("adminToken" = [])))]
pub async fn create(
    _: InstanceAdmin,
    State(state): State<AppState>,
    JsonBody(request): JsonBody<CreateProjectRequest>,
) -> Result<(StatusCode, axum::Json<CreateProjectResponse>), ApiError> {
    let created = create_project(state.store(), &request.name).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Every project of the deployment, oldest first (instance admin token required).
#[utoipa::path(get, path = "/api/v1/projects", operation_id = "listProjects", tag = "admin",
    responses((status = 200, body = ProjectList), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("adminToken" = [])))]
pub async fn list(
    _: InstanceAdmin,
    State(state): State<AppState>,
) -> Result<axum::Json<ProjectList>, ApiError> {
    let projects = state.store().projects().list_projects().await?;
    Ok(axum::Json(ProjectList {
        data: projects.into_iter().map(project_view).collect(),
    }))
}

/// The project the secret key belongs to.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}", operation_id = "getProject", tag = "admin",
    params(("projectId" = Uuid, Path)),
    responses((status = 200, body = ProjectView), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn get(admin: ProjectAdmin) -> axum::Json<ProjectView> {
    axum::Json(project_view(admin.project))
}

/// Every secret key of the project, revoked ones included.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/secret-keys", operation_id = "listSecretKeys", tag = "admin",
    params(("projectId" = Uuid, Path)),
    responses((status = 200, body = SecretKeyList), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn list_secret_keys(
    admin: ProjectAdmin,
    State(state): State<AppState>,
) -> Result<axum::Json<SecretKeyList>, ApiError> {
    let keys = state
        .store()
        .secret_keys()
        .list_secret_keys(admin.project.id)
        .await?;
    Ok(axum::Json(SecretKeyList {
        data: keys.into_iter().map(secret_key_view).collect(),
    }))
}

/// Adds a secret key, for rotation. The key is shown this once.
#[utoipa::path(post, path = "/api/v1/projects/{projectId}/secret-keys", operation_id = "createSecretKey", tag = "admin",
    params(("projectId" = Uuid, Path)),
    responses((status = 201, body = CreatedSecretKey), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn create_secret_key(
    admin: ProjectAdmin,
    State(state): State<AppState>,
) -> Result<(StatusCode, axum::Json<CreatedSecretKey>), ApiError> {
    let key = NewSecretKey::generate();
    let record = match state
        .store()
        .secret_keys()
        .insert_secret_key(&key_record(admin.project.id, &key), MAX_ACTIVE_SECRET_KEYS)
        .await
    {
        Ok(record) => record,
        Err(StoreError::Conflict { constraint }) if constraint == ACTIVE_KEY_LIMIT => {
            return Err(ApiError::new(
                ErrorCode::KeyLimitReached,
                format!(
                    "This project already has {MAX_ACTIVE_SECRET_KEYS} active secret keys, the \
                     most it may have; revoke one first."
                ),
            )
            .with_meta(json!({ "limit": MAX_ACTIVE_SECRET_KEYS })));
        }
        Err(err) => return Err(err.into()),
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedSecretKey {
            id: record.id,
            secret_key: key.reveal().to_owned(),
        }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct SecretKeyPath {
    #[serde(rename = "keyId")]
    key_id: String,
}

/// Revokes a secret key. The last active key cannot be revoked, so a project
/// is never locked out of its own admin API.
#[utoipa::path(delete, path = "/api/v1/projects/{projectId}/secret-keys/{keyId}", operation_id = "revokeSecretKey", tag = "admin",
    params(("projectId" = Uuid, Path), ("keyId" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn revoke_secret_key(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<SecretKeyPath>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::new(ErrorCode::SecretKeyNotFound, "Secret key not found.");
    let key_id = Uuid::parse_str(&path.key_id).map_err(|_| not_found())?;
    let keys = state
        .store()
        .secret_keys()
        .list_secret_keys(admin.project.id)
        .await?;
    let active: Vec<_> = keys.iter().filter(|k| k.revoked_at.is_none()).collect();
    if !active.iter().any(|k| k.id == key_id) {
        return Err(not_found());
    }
    if active.len() == 1 {
        return Err(ApiError::new(
            ErrorCode::LastSecretKey,
            "This is the project's last active secret key; create another one first.",
        ));
    }
    match state
        .store()
        .secret_keys()
        .revoke_secret_key(admin.project.id, key_id)
        .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(not_found()),
        Err(err) => Err(err.into()),
    }
}
