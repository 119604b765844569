//! Who is calling: extractors for the instance admin token and for project
//! secret keys.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use patchbay_api::ErrorCode;
use patchbay_core::secret_key::{SecretKeyHash, looks_like_secret_key};
use patchbay_store::Project;
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::PathParams;
use crate::state::AppState;

/// The bearer value of the `Authorization` header.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::UnauthorizedMissingToken,
            "Send `Authorization: Bearer <token>`.",
        )
    };
    let value = headers.get(header::AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim())
}

/// The caller presented the instance admin token.
#[derive(Debug)]
pub struct InstanceAdmin;

impl FromRequestParts<AppState> for InstanceAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = &state.config.admin_token else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::ProjectCreationDisabled,
                "Creating projects over HTTP is disabled: set PATCHBAY_ADMIN_TOKEN, \
                 or use `patchbay project create`.",
            ));
        };
        let presented = bearer(&parts.headers)?;
        if bool::from(
            presented
                .as_bytes()
                .ct_eq(expected.expose_secret().as_bytes()),
        ) {
            Ok(Self)
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::UnauthorizedAdminToken,
                "The admin token is not valid.",
            ))
        }
    }
}

#[derive(Debug, Deserialize)]
struct ProjectPath {
    #[serde(rename = "projectId")]
    project_id: String,
}

/// The caller holds a secret key of the project named in the path.
///
/// A key of another project, a project that does not exist and a project id
/// that is not even a UUID all get the same `404 project_not_found`, so a key
/// never reveals anything about projects it does not belong to.
#[derive(Debug)]
pub struct ProjectAdmin {
    pub project: Project,
}

impl FromRequestParts<AppState> for ProjectAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = bearer(&parts.headers)?;
        let invalid = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::UnauthorizedSecretKey,
                "The secret key is not valid or has been revoked.",
            )
        };
        if !looks_like_secret_key(presented) {
            return Err(invalid());
        }
        let key = state
            .store
            .find_active_secret_key(&SecretKeyHash::of(presented))
            .await?
            .ok_or_else(invalid)?;
        let PathParams(path) = PathParams::<ProjectPath>::from_request_parts(parts, state).await?;
        let project_id = Uuid::parse_str(&path.project_id).ok();
        if project_id != Some(key.project_id) {
            return Err(ApiError::project_not_found());
        }
        let project = state
            .store
            .get_project(key.project_id)
            .await?
            .ok_or_else(ApiError::project_not_found)?;
        Ok(Self { project })
    }
}
