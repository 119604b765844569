//! What a credential keeps sealed, and how it is sealed: the only place that
//! knows the shape of a credential's secrets and the associated data that
//! binds them to their row.

use patchbay_core::crypto::{Aad, CryptoError, Keyring};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;
use zeroize::Zeroizing;

/// The sealed-field names, part of the associated data of each ciphertext.
pub const CREDENTIAL_SECRETS: &str = "secrets";
/// `install_sessions.secrets`: the PKCE verifier until the OAuth callback, then the
/// authorization waiting for the user's choice (`account.choose`). The name predates the
/// second use and stays: sealed rows carry it in their associated data.
pub const INSTALL_SESSION_SECRETS: &str = "pkce_verifier";
pub const CLIENT_SECRET: &str = "client_secret";
/// `webhook_endpoints.secret`: what Patchbay signs its own webhooks with.
pub const WEBHOOK_SECRET: &str = "webhook_secret";
/// `integrations.webhook_secret`: what a provider signs its webhooks with.
pub const INTEGRATION_WEBHOOK_SECRET: &str = "integration_webhook_secret";
/// `credential_configurations.sealed_settings`: the values of `password` settings.
pub const CONFIGURATION_SETTINGS: &str = "configuration_settings";

/// A credential's secrets: OAuth tokens, or the fields an end user typed in
/// for an API-key or basic-auth integration.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSecrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// API-key / basic-auth fields by id (`apiKey`, `accountSid`, ...).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub fields: Map<String, Value>,
}

impl std::fmt::Debug for CredentialSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialSecrets(<redacted>)")
    }
}

fn aad<'a>(project_id: Uuid, record_id: &'a str, field: &'a str) -> Aad<'a> {
    Aad {
        project_id,
        record_id,
        field,
    }
}

impl CredentialSecrets {
    pub fn seal(&self, keyring: &Keyring, project_id: Uuid, credential_id: Uuid) -> Vec<u8> {
        let id = credential_id.to_string();
        // Serializing plain strings and maps cannot fail.
        let plain = Zeroizing::new(serde_json::to_vec(self).unwrap_or_default());
        keyring.encrypt(aad(project_id, &id, CREDENTIAL_SECRETS), &plain)
    }

    pub fn open(
        keyring: &Keyring,
        project_id: Uuid,
        credential_id: Uuid,
        sealed: &[u8],
    ) -> Result<Self, CryptoError> {
        let id = credential_id.to_string();
        let plain = keyring.decrypt(aad(project_id, &id, CREDENTIAL_SECRETS), sealed)?;
        serde_json::from_slice(&plain).map_err(|_| CryptoError::MalformedCiphertext)
    }
}

/// The values of a configuration's `password` settings, kept apart from its other settings
/// (which hold [`patchbay_config::MASK`] in their place).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SealedSettings {
    /// The integration's user settings, by id.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub shared: Map<String, Value>,
    /// Each workflow's own settings, by workflow id, then by id.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub workflows: Map<String, Value>,
}

impl std::fmt::Debug for SealedSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedSettings(<redacted>)")
    }
}

impl SealedSettings {
    pub fn is_empty(&self) -> bool {
        self.shared.is_empty() && self.workflows.is_empty()
    }

    pub fn seal(&self, keyring: &Keyring, project_id: Uuid, configuration_id: Uuid) -> Vec<u8> {
        let id = configuration_id.to_string();
        let plain = Zeroizing::new(serde_json::to_vec(self).unwrap_or_default());
        keyring.encrypt(aad(project_id, &id, CONFIGURATION_SETTINGS), &plain)
    }

    pub fn open(
        keyring: &Keyring,
        project_id: Uuid,
        configuration_id: Uuid,
        sealed: &[u8],
    ) -> Result<Self, CryptoError> {
        let id = configuration_id.to_string();
        let plain = keyring.decrypt(aad(project_id, &id, CONFIGURATION_SETTINGS), sealed)?;
        serde_json::from_slice(&plain).map_err(|_| CryptoError::MalformedCiphertext)
    }

    /// Every value, for Task History to redact.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        let workflow_values = self
            .workflows
            .values()
            .filter_map(Value::as_object)
            .flat_map(|settings| settings.values());
        self.shared
            .values()
            .chain(workflow_values)
            .filter_map(Value::as_str)
    }
}

/// Seals one secret string of a row (a PKCE verifier, a client secret).
pub fn seal_str(
    keyring: &Keyring,
    project_id: Uuid,
    record_id: Uuid,
    field: &'static str,
    value: &str,
) -> Vec<u8> {
    keyring.encrypt(
        aad(project_id, &record_id.to_string(), field),
        value.as_bytes(),
    )
}

pub fn open_str(
    keyring: &Keyring,
    project_id: Uuid,
    record_id: Uuid,
    field: &'static str,
    sealed: &[u8],
) -> Result<Zeroizing<String>, CryptoError> {
    let plain = keyring.decrypt(aad(project_id, &record_id.to_string(), field), sealed)?;
    String::from_utf8(plain.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::MalformedCiphertext)
}
