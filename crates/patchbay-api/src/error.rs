use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every error Patchbay itself produces (SPEC §12).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// A sentence for humans.
    pub message: String,
    /// A stable snake_case code that clients switch on.
    pub code: String,
    /// The HTTP status, repeated for clients that only see the body.
    pub status: u16,
    /// Details specific to the code (the invalid field, candidate ids...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
}

/// The stable error codes. Clients and tests switch on these strings, so a
/// code is never renamed once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No `Authorization: Bearer ...` header where one is required.
    UnauthorizedMissingToken,
    /// A secret key that is unknown or revoked.
    UnauthorizedSecretKey,
    /// A wrong instance admin token.
    UnauthorizedAdminToken,
    /// Creating projects over HTTP needs `PATCHBAY_ADMIN_TOKEN` to be set.
    ProjectCreationDisabled,
    ProjectNotFound,
    SecretKeyNotFound,
    /// Revoking this key would leave the project without any.
    LastSecretKey,
    RouteNotFound,
    MethodNotAllowed,
    /// The body is not valid JSON, or not the JSON this endpoint takes.
    InvalidJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    /// A path or query parameter has the wrong form.
    InvalidParameter,
    ValidationFailed,
    /// The store is unreachable or not migrated.
    NotReady,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnauthorizedMissingToken => "unauthorized_missing_token",
            Self::UnauthorizedSecretKey => "unauthorized_secret_key",
            Self::UnauthorizedAdminToken => "unauthorized_admin_token",
            Self::ProjectCreationDisabled => "project_creation_disabled",
            Self::ProjectNotFound => "project_not_found",
            Self::SecretKeyNotFound => "secret_key_not_found",
            Self::LastSecretKey => "last_secret_key",
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::InvalidJson => "invalid_json",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::InvalidParameter => "invalid_parameter",
            Self::ValidationFailed => "validation_failed",
            Self::NotReady => "not_ready",
            Self::Internal => "internal_error",
        }
    }
}
