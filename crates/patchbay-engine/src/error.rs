//! What can go wrong in the domain, said in the domain's words. The server
//! turns each variant into its one error code; nothing here knows a status.

use patchbay_oauth::OAuthError;
use patchbay_store::StoreError;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No account by that id among those the caller may see: another user's
    /// account reads exactly like one that does not exist.
    #[error("Credential not found.")]
    CredentialNotFound,
    #[error("Integration \"{0}\" is not enabled in this project.")]
    IntegrationNotFound(String),
    #[error("No account of \"{0}\" is connected.")]
    IntegrationNotInstalled(String),
    /// Several accounts, none selected, and no default may be guessed.
    #[error(
        "This user has {} accounts of \"{integration}\": select one with the \
         X-Paragon-Credential header or the selectedCredentialId option.",
        credential_ids.len()
    )]
    SelectionRequired {
        integration: String,
        credential_ids: Vec<Uuid>,
    },
    #[error("This account must be reconnected: the provider no longer accepts its authorization.")]
    CredentialInvalid { credential_id: Uuid },
    /// Replacing an account with an external account another credential of
    /// the user already holds.
    #[error(
        "That {integration_name} account is already connected as another credential \
         ({credential_id}); reconnect that one instead."
    )]
    AccountAlreadyConnected {
        integration_name: String,
        credential_id: Uuid,
    },
    #[error("Another account of this integration already has that externalId.")]
    ExternalIdTaken,
    /// No configuration by that id or `ext:` label among the account's.
    #[error("Configuration not found.")]
    ConfigurationNotFound,
    /// The configuration every account has cannot be removed, only the others.
    #[error(
        "The default configuration cannot be destroyed; destroy the account's other configurations, or uninstall the account."
    )]
    DefaultConfiguration,
    #[error("Another configuration of this account already has that externalId.")]
    ConfigurationExternalIdTaken,
    /// Settings that their schema refuses; every error names its field.
    #[error("{0}")]
    InvalidSettings(patchbay_config::ConfigErrors),
    /// No workflow by that id in the project (or none of the account's integration).
    #[error("Workflow \"{0}\" does not exist in this project.")]
    WorkflowNotFound(String),
    /// The configuration used (the account's default unless one was named) has the workflow
    /// disabled, so nothing may run it there.
    #[error("Workflow \"{workflow_id}\" is not enabled in the configuration of the account used.")]
    WorkflowNotEnabled {
        workflow_id: String,
        credential_id: Uuid,
    },
    /// No run by that id in the project's Task History.
    #[error("Workflow execution not found.")]
    ExecutionNotFound,
    /// A run that is still queued or running, so it cannot be replayed yet.
    #[error("The run is still {status}; it can be replayed once it has finished.")]
    ExecutionNotFinished { status: &'static str },
    /// A proxied path or URL that would leave the integration's API.
    #[error("{0}")]
    UrlNotAllowed(String),
    /// The provider could not be used while connecting or calling an
    /// account. Never carries the provider's body: it may echo secrets.
    #[error("The provider could not be used: {0}")]
    Provider(#[from] OAuthError),
    #[error("The provider did not answer in time.")]
    UpstreamTimeout,
    #[error("The provider could not be reached.")]
    UpstreamUnreachable,
    /// The access token is due and the provider could not renew it now.
    #[error("The provider could not renew this account's access token; try again shortly.")]
    RenewalFailed,
    #[error("No provider \"{0}\" in the catalogue.")]
    ProviderNotFound(String),
    /// A filter naming something that does not exist, such as an unknown category.
    #[error("{0}")]
    InvalidParameter(String),
    /// An integration that cannot take webhook deliveries; the message says why.
    #[error("{0}")]
    WebhooksNotConfigured(String),
    /// A webhook delivery that does not prove it comes from the provider.
    #[error("{0}")]
    InvalidSignature(String),
    /// A verified webhook delivery that cannot be read.
    #[error("{0}")]
    InvalidDelivery(String),
    /// No action by that name among the project's integrations.
    #[error("No action \"{0}\" in this project's integrations.")]
    ActionNotFound(String),
    /// An action's input that its schema refuses; the message names the field.
    #[error("{0}")]
    InvalidActionInput(String),
    /// An action that ran and failed: the provider refused it, or could not be reached. Its
    /// run is in Task History; `response` is the provider's answer, when there was one.
    #[error("The action failed: {message}")]
    ActionFailed {
        message: String,
        execution_id: Uuid,
        response: Option<serde_json::Value>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Our own bug or corrupt data; the detail was logged where it happened.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

pub type EngineResult<T> = Result<T, EngineError>;
