use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every error Patchbay itself produces (docs/api.md).
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
    /// A dashboard session cookie that is unknown, expired, signed out, or whose key was revoked.
    UnauthorizedSession,
    /// A change made with a dashboard session without its CSRF token (`X-CSRF-Token`).
    CsrfTokenInvalid,
    /// Creating projects over HTTP needs `PATCHBAY_ADMIN_TOKEN` to be set.
    ProjectCreationDisabled,
    ProjectNotFound,
    SecretKeyNotFound,
    /// Revoking this key would leave the project without any.
    LastSecretKey,
    /// The project already has as many active keys of that kind as it may
    /// ([`crate::MAX_ACTIVE_SECRET_KEYS`], [`crate::MAX_ACTIVE_SIGNING_KEYS`]);
    /// `meta.limit` says how many.
    KeyLimitReached,
    RouteNotFound,
    MethodNotAllowed,
    /// The body is not valid JSON. (Valid JSON of the wrong shape is
    /// `ValidationFailed`.)
    InvalidJson,
    UnsupportedMediaType,
    /// The MCP server's client does not accept what the protocol answers with.
    NotAcceptable,
    PayloadTooLarge,
    /// A path or query parameter has the wrong form.
    InvalidParameter,
    ValidationFailed,
    IntegrationNotFound,
    /// The user has no account for this integration.
    IntegrationNotInstalled,
    CredentialNotFound,
    /// No configuration by that id or `ext:` label among the account's.
    ConfigurationNotFound,
    /// The account needs reconnecting (its refresh was refused for good).
    CredentialInvalid,
    /// Several accounts and nothing selected where a selection is required;
    /// `meta.credentialIds` lists them.
    CredentialSelectionRequired,
    ExternalIdTaken,
    /// Another configuration of the account already has that `externalId`.
    ConfigurationExternalIdTaken,
    /// Destroying an account's default configuration.
    DefaultConfiguration,
    /// Rule 1 of docs/api.md: a VALID account exists and neither
    /// `allowMultipleCredentials` nor `selectedCredentialId` was given.
    IntegrationAlreadyInstalled,
    /// Replacing an account with an external account that another
    /// credential of the user already holds.
    AccountAlreadyConnected,
    /// The provider refused the API key or password.
    CredentialsRejected,
    /// A service account's key file cannot be used: not JSON, a member missing, a private key
    /// that is not an RSA key in PEM form, or made for another token endpoint.
    InvalidKeyFile,
    /// The account lists several things to choose among (Jira sites, say) and the install
    /// chose none; the error's `meta.options` lists them.
    AccountChoiceRequired,
    InstallSessionNotFound,
    /// The provider could not be reached or answered garbage.
    UpstreamUnreachable,
    /// A proxy path or URL that would leave the integration's API.
    ProxyUrlNotAllowed,
    UpstreamTimeout,
    /// The provider's answer is too large to wrap in `{"output": ...}`;
    /// `X-Paragon-Use-Raw-Response` streams it instead.
    UpstreamResponseTooLarge,
    WorkflowNotFound,
    /// No user setting by that id on the integration (or the workflow named).
    SettingNotFound,
    /// The selected account has the workflow disabled.
    WorkflowNotEnabled,
    /// The workflow is not started this way (a request trigger for a
    /// workflow with another trigger).
    WorkflowTriggerMismatch,
    /// The run did not reach its `response` step in time.
    WorkflowTimeout,
    /// The run failed before reaching its `response` step; `meta` has its
    /// execution id and error.
    WorkflowFailed,
    ExecutionNotFound,
    /// Replaying a run that has not finished: it is still queued or running.
    ExecutionNotFinished,
    /// No configuration of that version was applied to the project.
    ConfigVersionNotFound,
    /// No provider of the built-in catalogue by that id or Paragon type.
    ProviderNotFound,
    UserNotFound,
    SigningKeyNotFound,
    SigningKeyTaken,
    /// The PEM is not a public key Patchbay can pin an algorithm to.
    InvalidSigningKey,
    /// Removing an integration that still has connected accounts.
    IntegrationInUse,
    WebhookEndpointNotFound,
    WebhookDeliveryNotFound,
    /// An integration that takes no webhook deliveries: it declares no `webhooks`, or has no
    /// `webhookSecret` to verify them with.
    WebhooksNotConfigured,
    /// A webhook delivery whose signature (or token) does not verify, or that is too old.
    InvalidSignature,
    /// A verified webhook delivery that cannot be read (not text, no event type).
    InvalidDelivery,
    /// No action by that name in the project's integrations.
    ActionNotFound,
    /// An action ran and the provider refused it or failed; `meta` has its answer and run.
    ActionFailed,
    /// A user token was rejected; the code says why.
    UnauthorizedToken(&'static str),
    /// The token's permissions do not cover this integration or account.
    Forbidden,
    /// The request target is too long.
    UriTooLong,
    /// The request has too many header fields, or too large ones.
    HeadersTooLarge,
    /// The user holds as many event streams open as one user may.
    TooManyStreams,
    /// The store is unreachable or not migrated.
    NotReady,
    Internal,
}

impl ErrorCode {
    /// Every code once (`UnauthorizedToken` with one of its reasons), for
    /// checks that walk them all.
    pub const ALL: &'static [ErrorCode] = &[
        Self::UnauthorizedMissingToken,
        Self::UnauthorizedSecretKey,
        Self::UnauthorizedAdminToken,
        Self::UnauthorizedSession,
        Self::CsrfTokenInvalid,
        Self::ProjectCreationDisabled,
        Self::ProjectNotFound,
        Self::SecretKeyNotFound,
        Self::LastSecretKey,
        Self::KeyLimitReached,
        Self::RouteNotFound,
        Self::MethodNotAllowed,
        Self::InvalidJson,
        Self::UnsupportedMediaType,
        Self::NotAcceptable,
        Self::PayloadTooLarge,
        Self::InvalidParameter,
        Self::ValidationFailed,
        Self::IntegrationNotFound,
        Self::IntegrationNotInstalled,
        Self::CredentialNotFound,
        Self::ConfigurationNotFound,
        Self::CredentialInvalid,
        Self::CredentialSelectionRequired,
        Self::ExternalIdTaken,
        Self::ConfigurationExternalIdTaken,
        Self::DefaultConfiguration,
        Self::IntegrationAlreadyInstalled,
        Self::AccountAlreadyConnected,
        Self::CredentialsRejected,
        Self::InvalidKeyFile,
        Self::AccountChoiceRequired,
        Self::InstallSessionNotFound,
        Self::UpstreamUnreachable,
        Self::ProxyUrlNotAllowed,
        Self::UpstreamTimeout,
        Self::UpstreamResponseTooLarge,
        Self::WorkflowNotFound,
        Self::SettingNotFound,
        Self::WorkflowNotEnabled,
        Self::WorkflowTriggerMismatch,
        Self::WorkflowTimeout,
        Self::WorkflowFailed,
        Self::ExecutionNotFound,
        Self::ExecutionNotFinished,
        Self::ConfigVersionNotFound,
        Self::ProviderNotFound,
        Self::UserNotFound,
        Self::SigningKeyNotFound,
        Self::SigningKeyTaken,
        Self::InvalidSigningKey,
        Self::IntegrationInUse,
        Self::WebhookEndpointNotFound,
        Self::WebhookDeliveryNotFound,
        Self::WebhooksNotConfigured,
        Self::InvalidSignature,
        Self::InvalidDelivery,
        Self::ActionNotFound,
        Self::ActionFailed,
        Self::UnauthorizedToken("token_expired"),
        Self::Forbidden,
        Self::UriTooLong,
        Self::HeadersTooLarge,
        Self::TooManyStreams,
        Self::NotReady,
        Self::Internal,
    ];

    /// The HTTP status every error of this code answers with: the one place
    /// a status is chosen.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidJson
            | Self::InvalidParameter
            | Self::ProxyUrlNotAllowed
            | Self::WorkflowNotEnabled
            | Self::WorkflowTriggerMismatch
            | Self::InvalidDelivery => 400,
            Self::UnauthorizedMissingToken
            | Self::InvalidSignature
            | Self::UnauthorizedSecretKey
            | Self::UnauthorizedAdminToken
            | Self::UnauthorizedSession
            | Self::UnauthorizedToken(_) => 401,
            Self::ProjectCreationDisabled | Self::Forbidden | Self::CsrfTokenInvalid => 403,
            Self::ProjectNotFound
            | Self::SecretKeyNotFound
            | Self::RouteNotFound
            | Self::IntegrationNotFound
            | Self::IntegrationNotInstalled
            | Self::CredentialNotFound
            | Self::ConfigurationNotFound
            | Self::InstallSessionNotFound
            | Self::WorkflowNotFound
            | Self::SettingNotFound
            | Self::ExecutionNotFound
            | Self::ConfigVersionNotFound
            | Self::ProviderNotFound
            | Self::UserNotFound
            | Self::SigningKeyNotFound
            | Self::WebhookEndpointNotFound
            | Self::WebhookDeliveryNotFound
            | Self::WebhooksNotConfigured
            | Self::ActionNotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::NotAcceptable => 406,
            Self::LastSecretKey
            | Self::KeyLimitReached
            | Self::CredentialInvalid
            | Self::CredentialSelectionRequired
            | Self::ExternalIdTaken
            | Self::ConfigurationExternalIdTaken
            | Self::DefaultConfiguration
            | Self::IntegrationAlreadyInstalled
            | Self::AccountAlreadyConnected
            | Self::SigningKeyTaken
            | Self::IntegrationInUse
            | Self::ExecutionNotFinished => 409,
            Self::PayloadTooLarge => 413,
            Self::UriTooLong => 414,
            Self::UnsupportedMediaType => 415,
            Self::ValidationFailed
            | Self::CredentialsRejected
            | Self::InvalidKeyFile
            | Self::AccountChoiceRequired
            | Self::InvalidSigningKey => 422,
            Self::TooManyStreams => 429,
            Self::HeadersTooLarge => 431,
            Self::Internal => 500,
            Self::UpstreamUnreachable
            | Self::UpstreamResponseTooLarge
            | Self::WorkflowFailed
            | Self::ActionFailed => 502,
            Self::NotReady => 503,
            Self::UpstreamTimeout | Self::WorkflowTimeout => 504,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnauthorizedMissingToken => "unauthorized_missing_token",
            Self::UnauthorizedSecretKey => "unauthorized_secret_key",
            Self::UnauthorizedAdminToken => "unauthorized_admin_token",
            Self::UnauthorizedSession => "unauthorized_session",
            Self::CsrfTokenInvalid => "csrf_token_invalid",
            Self::ProjectCreationDisabled => "project_creation_disabled",
            Self::ProjectNotFound => "project_not_found",
            Self::SecretKeyNotFound => "secret_key_not_found",
            Self::LastSecretKey => "last_secret_key",
            Self::KeyLimitReached => "key_limit_reached",
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::InvalidJson => "invalid_json",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::NotAcceptable => "not_acceptable",
            Self::PayloadTooLarge => "payload_too_large",
            Self::InvalidParameter => "invalid_parameter",
            Self::ValidationFailed => "validation_failed",
            Self::IntegrationNotFound => "integration_not_found",
            Self::IntegrationNotInstalled => "integration_not_installed",
            Self::CredentialNotFound => "credential_not_found",
            Self::ConfigurationNotFound => "configuration_not_found",
            Self::CredentialInvalid => "credential_invalid",
            Self::CredentialSelectionRequired => "credential_selection_required",
            Self::ExternalIdTaken => "external_id_taken",
            Self::ConfigurationExternalIdTaken => "configuration_external_id_taken",
            Self::DefaultConfiguration => "default_configuration",
            Self::IntegrationAlreadyInstalled => "integration_already_installed",
            Self::AccountAlreadyConnected => "account_already_connected",
            Self::CredentialsRejected => "credentials_rejected",
            Self::InvalidKeyFile => "invalid_key_file",
            Self::AccountChoiceRequired => "account_choice_required",
            Self::InstallSessionNotFound => "install_session_not_found",
            Self::UpstreamUnreachable => "upstream_unreachable",
            Self::ProxyUrlNotAllowed => "proxy_url_not_allowed",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::UpstreamResponseTooLarge => "upstream_response_too_large",
            Self::WorkflowNotFound => "workflow_not_found",
            Self::SettingNotFound => "setting_not_found",
            Self::WorkflowNotEnabled => "workflow_not_enabled",
            Self::WorkflowTriggerMismatch => "workflow_trigger_mismatch",
            Self::WorkflowTimeout => "workflow_timeout",
            Self::WorkflowFailed => "workflow_failed",
            Self::ExecutionNotFound => "execution_not_found",
            Self::ExecutionNotFinished => "execution_not_finished",
            Self::ConfigVersionNotFound => "config_version_not_found",
            Self::ProviderNotFound => "provider_not_found",
            Self::UserNotFound => "user_not_found",
            Self::SigningKeyNotFound => "signing_key_not_found",
            Self::SigningKeyTaken => "signing_key_taken",
            Self::InvalidSigningKey => "invalid_signing_key",
            Self::IntegrationInUse => "integration_in_use",
            Self::WebhookEndpointNotFound => "webhook_endpoint_not_found",
            Self::WebhookDeliveryNotFound => "webhook_delivery_not_found",
            Self::WebhooksNotConfigured => "webhooks_not_configured",
            Self::InvalidSignature => "invalid_signature",
            Self::InvalidDelivery => "invalid_delivery",
            Self::ActionNotFound => "action_not_found",
            Self::ActionFailed => "action_failed",
            Self::UnauthorizedToken(code) => code,
            Self::Forbidden => "forbidden",
            Self::UriTooLong => "uri_too_long",
            Self::HeadersTooLarge => "headers_too_large",
            Self::TooManyStreams => "too_many_streams",
            Self::NotReady => "not_ready",
            Self::Internal => "internal_error",
        }
    }
}
