//! Public keys that verify a project's user tokens.

use axum::extract::State;
use axum::http::StatusCode;
use patchbay_api::{
    AddSigningKeyRequest, ErrorBody, ErrorCode, MAX_ACTIVE_SIGNING_KEYS, SigningKeyList,
    SigningKeyView,
};
use patchbay_core::user_token::inspect_public_key;
use patchbay_store::{ACTIVE_KEY_LIMIT, NewSigningKey, SigningKeyRecord, Store, StoreError};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::ProjectAdmin;
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParams};
use crate::state::AppState;

const MAX_KID_LEN: usize = 128;

fn view(key: SigningKeyRecord) -> SigningKeyView {
    SigningKeyView {
        kid: key.kid,
        algorithm: key.algorithm,
        date_created: key.created_at,
        date_revoked: key.revoked_at,
    }
}

/// Adds a signing key to a project, pinned to the algorithm its key type
/// allows. Shared by the admin API and `patchbay signing-key`.
pub async fn add_signing_key(
    store: &dyn Store,
    project_id: Uuid,
    public_key_pem: &str,
    kid: Option<String>,
) -> Result<SigningKeyView, ApiError> {
    let algorithm = inspect_public_key(public_key_pem).map_err(|err| {
        ApiError::new(ErrorCode::InvalidSigningKey, err.to_string())
            .with_meta(serde_json::json!({ "field": "publicKeyPem" }))
    })?;
    let kid = kid.unwrap_or_else(|| Uuid::new_v4().to_string());
    if kid.is_empty() || kid.len() > MAX_KID_LEN || kid.chars().any(char::is_control) {
        return Err(ApiError::validation(
            "kid",
            format!("A kid must have 1 to {MAX_KID_LEN} printable characters."),
        ));
    }
    let key = NewSigningKey {
        project_id,
        kid,
        algorithm: algorithm.as_str().to_owned(),
        public_key_pem: public_key_pem.to_owned(),
    };
    match store
        .projects()
        .insert_signing_key(&key, MAX_ACTIVE_SIGNING_KEYS)
        .await
    {
        Ok(record) => Ok(view(record)),
        Err(StoreError::Conflict { constraint }) if constraint == ACTIVE_KEY_LIMIT => {
            Err(ApiError::new(
                ErrorCode::KeyLimitReached,
                format!(
                    "This project already has {MAX_ACTIVE_SIGNING_KEYS} active signing keys, the \
                     most it may have; revoke one first."
                ),
            )
            .with_meta(serde_json::json!({ "limit": MAX_ACTIVE_SIGNING_KEYS })))
        }
        Err(StoreError::Conflict { .. }) => Err(ApiError::new(
            ErrorCode::SigningKeyTaken,
            format!(
                "This project already has a signing key with kid \"{}\".",
                key.kid
            ),
        )),
        Err(err) => Err(err.into()),
    }
}

/// Adds a public key that verifies user tokens.
#[utoipa::path(post, path = "/api/v1/projects/{projectId}/signing-keys", operation_id = "createSigningKey", tag = "admin",
    params(("projectId" = Uuid, Path)), request_body = AddSigningKeyRequest,
    responses((status = 201, body = SigningKeyView), (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn create(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    JsonBody(request): JsonBody<AddSigningKeyRequest>,
) -> Result<(StatusCode, axum::Json<SigningKeyView>), ApiError> {
    let key = add_signing_key(
        state.store(),
        admin.project.id,
        &request.public_key_pem,
        request.kid,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(key)))
}

/// The project's signing keys, revoked ones included.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/signing-keys", operation_id = "listSigningKeys", tag = "admin",
    params(("projectId" = Uuid, Path)),
    responses((status = 200, body = SigningKeyList), (status = 401, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn list(
    admin: ProjectAdmin,
    State(state): State<AppState>,
) -> Result<axum::Json<SigningKeyList>, ApiError> {
    let keys = state
        .store()
        .projects()
        .list_signing_keys(admin.project.id)
        .await?;
    Ok(axum::Json(SigningKeyList {
        data: keys.into_iter().map(view).collect(),
    }))
}

#[derive(Debug, Deserialize)]
pub struct SigningKeyPath {
    kid: String,
}

/// Revokes a signing key: tokens it signed stop working at once.
#[utoipa::path(delete, path = "/api/v1/projects/{projectId}/signing-keys/{kid}", operation_id = "revokeSigningKey", tag = "admin",
    params(("projectId" = Uuid, Path), ("kid" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn revoke(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<SigningKeyPath>,
) -> Result<StatusCode, ApiError> {
    match state
        .store()
        .projects()
        .revoke_signing_key(admin.project.id, &path.kid)
        .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(ApiError::new(
            ErrorCode::SigningKeyNotFound,
            "Signing key not found.",
        )),
        Err(err) => Err(err.into()),
    }
}
