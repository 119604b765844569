//! Columns holding sealed secrets, named so that key rotation can walk them
//! without knowing each table.

use uuid::Uuid;

/// A column whose values are ciphertexts of `patchbay_core::crypto`, one per
/// row, bound to the row's project and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SealedColumn {
    /// `credentials.secrets`: tokens or API-key fields.
    CredentialSecrets,
    /// `integrations.client_secret`.
    IntegrationClientSecret,
    /// `integrations.webhook_secret`.
    IntegrationWebhookSecret,
    /// `install_sessions.secrets`: the PKCE verifier, then an authorization awaiting a choice.
    InstallSessionSecrets,
    /// `webhook_endpoints.secret`.
    WebhookEndpointSecret,
    /// `credential_configurations.sealed_settings`: the values of `password` settings.
    ConfigurationSettings,
}

impl SealedColumn {
    pub const ALL: [Self; 6] = [
        Self::CredentialSecrets,
        Self::IntegrationClientSecret,
        Self::IntegrationWebhookSecret,
        Self::InstallSessionSecrets,
        Self::WebhookEndpointSecret,
        Self::ConfigurationSettings,
    ];

    /// The table; every one has `id` and `project_id` columns.
    pub fn table(self) -> &'static str {
        match self {
            Self::CredentialSecrets => "credentials",
            Self::IntegrationClientSecret | Self::IntegrationWebhookSecret => "integrations",
            Self::InstallSessionSecrets => "install_sessions",
            Self::WebhookEndpointSecret => "webhook_endpoints",
            Self::ConfigurationSettings => "credential_configurations",
        }
    }

    pub fn column(self) -> &'static str {
        match self {
            Self::CredentialSecrets | Self::InstallSessionSecrets => "secrets",
            Self::IntegrationClientSecret => "client_secret",
            Self::IntegrationWebhookSecret => "webhook_secret",
            Self::WebhookEndpointSecret => "secret",
            Self::ConfigurationSettings => "sealed_settings",
        }
    }

    /// `table.column`, for messages.
    pub fn name(self) -> String {
        format!("{}.{}", self.table(), self.column())
    }
}

/// One sealed value and the row it belongs to.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedValue {
    pub project_id: Uuid,
    pub record_id: Uuid,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for SealedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedValue")
            .field("project_id", &self.project_id)
            .field("record_id", &self.record_id)
            .finish_non_exhaustive()
    }
}
