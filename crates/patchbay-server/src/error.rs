//! The one error type of every handler, rendered as `ErrorBody` JSON. Its
//! status is always its code's ([`ErrorCode::status`]): no handler picks a
//! status, and engine errors become codes here and nowhere else.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use patchbay_api::{ErrorBody, ErrorCode};
use patchbay_engine::EngineError;
use patchbay_store::StoreError;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub meta: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            meta: None,
        }
    }

    pub fn with_meta(mut self, meta: serde_json::Value) -> Self {
        self.meta = Some(meta);
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn project_not_found() -> Self {
        Self::new(ErrorCode::ProjectNotFound, "Project not found.")
    }

    /// A request field that breaks a rule; `field` is its JSON path.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message).with_meta(json!({ "field": field }))
    }

    /// Settings their schema refuses: the first field in `meta.field`, all of them in
    /// `meta.errors`.
    pub fn invalid_settings(errors: &patchbay_config::ConfigErrors) -> Self {
        let first = errors
            .iter()
            .next()
            .map(|e| e.path.clone())
            .unwrap_or_default();
        // Each error as `<field>: <reason>`: an end user's settings are not "a configuration".
        let message = (errors.iter().map(ToString::to_string))
            .collect::<Vec<_>>()
            .join("; ");
        Self::new(ErrorCode::ValidationFailed, message)
            .with_meta(json!({ "field": first, "errors": errors.iter().collect::<Vec<_>>() }))
    }

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "Something went wrong on our side; the request id in the logs tells what.",
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            message: self.message.clone(),
            code: self.code.as_str().to_owned(),
            status: self.code.status(),
            meta: self.meta.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.body())).into_response()
    }
}

impl From<StoreError> for ApiError {
    /// Store failures a handler did not map itself. Details go to the log,
    /// never to the client.
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Backend(_) => {
                tracing::error!(error = %err, "store unavailable");
                Self::new(
                    ErrorCode::NotReady,
                    "The store is unavailable; try again shortly.",
                )
            }
            // The edges keep NUL characters out; one that got through is
            // still the caller's value, not an outage.
            StoreError::Refused(_) => {
                tracing::warn!(error = %err, "the store refused a value");
                Self::new(
                    ErrorCode::ValidationFailed,
                    "A value holds a character Patchbay cannot store (U+0000).",
                )
            }
            StoreError::NotFound | StoreError::Conflict { .. } | StoreError::Corrupt(_) => {
                tracing::error!(error = %err, "unhandled store error");
                Self::internal()
            }
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        let message = err.to_string();
        match err {
            EngineError::CredentialNotFound => Self::new(ErrorCode::CredentialNotFound, message),
            EngineError::IntegrationNotFound(_) => {
                Self::new(ErrorCode::IntegrationNotFound, message)
            }
            EngineError::IntegrationNotInstalled(_) => {
                Self::new(ErrorCode::IntegrationNotInstalled, message)
            }
            EngineError::SelectionRequired { credential_ids, .. } => {
                Self::new(ErrorCode::CredentialSelectionRequired, message)
                    .with_meta(json!({ "credentialIds": credential_ids }))
            }
            EngineError::CredentialInvalid { credential_id } => {
                Self::new(ErrorCode::CredentialInvalid, message)
                    .with_meta(json!({ "credentialId": credential_id }))
            }
            EngineError::AccountAlreadyConnected { credential_id, .. } => {
                Self::new(ErrorCode::AccountAlreadyConnected, message)
                    .with_meta(json!({ "credentialId": credential_id }))
            }
            EngineError::ExternalIdTaken => Self::new(ErrorCode::ExternalIdTaken, message),
            EngineError::ConfigurationNotFound => {
                Self::new(ErrorCode::ConfigurationNotFound, message)
            }
            EngineError::DefaultConfiguration => {
                Self::new(ErrorCode::DefaultConfiguration, message)
            }
            EngineError::ConfigurationExternalIdTaken => {
                Self::new(ErrorCode::ConfigurationExternalIdTaken, message)
            }
            EngineError::InvalidSettings(errors) => Self::invalid_settings(&errors),
            EngineError::WorkflowNotFound(_) => Self::new(ErrorCode::WorkflowNotFound, message),
            EngineError::WorkflowNotEnabled {
                workflow_id,
                credential_id,
            } => Self::new(ErrorCode::WorkflowNotEnabled, message).with_meta(json!({
                "workflowId": workflow_id,
                "credentialId": credential_id,
            })),
            EngineError::ExecutionNotFound => Self::new(ErrorCode::ExecutionNotFound, message),
            EngineError::ExecutionNotFinished { .. } => {
                Self::new(ErrorCode::ExecutionNotFinished, message)
            }
            EngineError::UrlNotAllowed(_) => Self::new(ErrorCode::ProxyUrlNotAllowed, message),
            EngineError::Provider(err) => Self::provider(&err),
            EngineError::UpstreamTimeout => Self::new(ErrorCode::UpstreamTimeout, message),
            EngineError::UpstreamUnreachable | EngineError::RenewalFailed => {
                Self::new(ErrorCode::UpstreamUnreachable, message)
            }
            EngineError::ProviderNotFound(_) => Self::new(ErrorCode::ProviderNotFound, message),
            EngineError::InvalidParameter(_) => Self::new(ErrorCode::InvalidParameter, message),
            EngineError::WebhooksNotConfigured(_) => {
                Self::new(ErrorCode::WebhooksNotConfigured, message)
            }
            EngineError::InvalidSignature(_) => Self::new(ErrorCode::InvalidSignature, message),
            EngineError::InvalidDelivery(_) => Self::new(ErrorCode::InvalidDelivery, message),
            EngineError::ActionNotFound(_) => Self::new(ErrorCode::ActionNotFound, message),
            EngineError::InvalidActionInput(_) => Self::new(ErrorCode::ValidationFailed, message),
            EngineError::ActionFailed {
                execution_id,
                response,
                ..
            } => Self::new(ErrorCode::ActionFailed, message).with_meta(json!({
                "executionId": execution_id,
                "response": response,
            })),
            EngineError::Store(err) => err.into(),
            EngineError::Internal(what) => {
                tracing::error!(what, "internal error");
                Self::internal()
            }
        }
    }
}

impl ApiError {
    /// A provider failure as Patchbay's own error: never a 500, never the
    /// provider's body (it may echo secrets).
    pub fn provider(err: &patchbay_oauth::OAuthError) -> Self {
        use patchbay_oauth::OAuthError;
        match err {
            OAuthError::Timeout => Self::new(
                ErrorCode::UpstreamTimeout,
                "The provider did not answer in time.",
            ),
            OAuthError::Template(message) => Self::validation(
                "connection",
                format!("The integration's URLs could not be built: {message}"),
            ),
            OAuthError::ChoiceRequired(choices) => Self::new(
                ErrorCode::AccountChoiceRequired,
                format!("Choose a {} of this account.", choices.title),
            )
            .with_meta(serde_json::json!({
                "field": "choice",
                "title": choices.title,
                "options": choices.options,
            })),
            OAuthError::NotAChoice { .. } => Self::validation("choice", err.to_string()),
            other => Self::new(
                ErrorCode::UpstreamUnreachable,
                format!("The provider could not be used: {other}"),
            ),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match &rejection {
            JsonRejection::MissingJsonContentType(_) => ErrorCode::UnsupportedMediaType,
            // Well-formed JSON that is not what this endpoint takes.
            JsonRejection::JsonDataError(_) => ErrorCode::ValidationFailed,
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            _ => ErrorCode::InvalidJson,
        };
        Self::new(code, rejection.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorCode::PayloadTooLarge
        } else {
            ErrorCode::InvalidParameter
        };
        Self::new(code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(ErrorCode::InvalidParameter, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(ErrorCode::InvalidParameter, rejection.body_text())
    }
}
