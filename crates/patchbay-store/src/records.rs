//! Rows as the rest of Patchbay sees them, independent of the backend.

use chrono::{DateTime, SubsecRound as _, Utc};
use patchbay_core::crypto::WrappedDataKey;
use patchbay_core::secret_key::SecretKeyHash;
use serde::Deserialize;
use uuid::Uuid;

use crate::{StoreError, StoreResult};

/// The current time at the precision both backends store (milliseconds), so
/// a value read back equals the value written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Result of a readiness probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Migrations known to this binary but not applied to the database.
    pub pending_migrations: usize,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.pending_migrations == 0
    }
}

#[derive(Debug, Clone)]
pub struct NewProject {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: Uuid,
    pub name: String,
    pub settings: serde_json::Value,
    pub config_version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewSecretKeyRecord {
    pub id: Uuid,
    pub project_id: Uuid,
    pub hash: SecretKeyHash,
    pub display_prefix: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SecretKeyRecord {
    pub id: Uuid,
    pub project_id: Uuid,
    pub display_prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataKeyRecord {
    pub key: WrappedDataKey,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// A public key that verifies a project's user tokens, pinned to one
/// algorithm.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKeyRecord {
    pub project_id: Uuid,
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub algorithm: String,
    pub public_key_pem: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewSigningKey {
    pub project_id: Uuid,
    pub kid: String,
    pub algorithm: String,
    pub public_key_pem: String,
}

/// An integration enabled in a project, as last applied from its
/// configuration document.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationRecord {
    pub id: Uuid,
    pub project_id: Uuid,
    pub type_name: String,
    /// The resolved integration definition (provider and project overrides),
    /// without secrets.
    pub definition: serde_json::Value,
    /// The OAuth client secret, sealed.
    pub client_secret: Option<Vec<u8>>,
    /// The secret the provider's webhooks are verified with, sealed.
    pub webhook_secret: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowRecord {
    pub project_id: Uuid,
    pub id: String,
    pub integration_id: Uuid,
    pub trigger_type: String,
    pub trigger_event: Option<String>,
    pub definition: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A whole configuration document, ready to replace a project's current one
/// in one transaction.
#[derive(Debug, Clone)]
pub struct ConfigWrite {
    pub settings: serde_json::Value,
    /// The document as `GET /config` returns it (secrets masked).
    pub document: serde_json::Value,
    /// Every integration of the new document. Integrations of the project
    /// missing here are deleted.
    pub integrations: Vec<IntegrationWrite>,
    /// Every workflow of the new document; they replace the current ones.
    pub workflows: Vec<WorkflowWrite>,
}

/// The constraint named by the `Conflict` of [`crate::Store::insert_secret_key`]
/// and [`crate::Store::insert_signing_key`] when the project already has as
/// many active keys of that kind as it may.
pub const ACTIVE_KEY_LIMIT: &str = "active_key_limit";

/// `Conflict` on [`ACTIVE_KEY_LIMIT`] when `active` keys leave no room under
/// `max_active`; both backends call it inside the inserting transaction.
pub fn check_active_keys(active: i64, max_active: usize) -> StoreResult<()> {
    if usize::try_from(active).is_ok_and(|active| active < max_active) {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            constraint: ACTIVE_KEY_LIMIT.to_owned(),
        })
    }
}

/// The constraint named by the `Conflict` of [`crate::Store::apply_config`]
/// when the accounts of the integrations it removes are not the ones its
/// events are about: an account was connected or deleted since the caller
/// listed them. Nothing was changed; the caller looks again.
pub const REMOVED_ACCOUNTS_CHANGED: &str = "accounts_of_removed_integrations";

/// Whether `events` are about exactly the accounts in `deleted`, one event
/// each: an apply records the deletion of every account it removes, and of
/// no other. `Conflict` on [`REMOVED_ACCOUNTS_CHANGED`] otherwise. Both
/// backends call it inside their transaction, after listing the accounts.
pub fn events_match_deleted_accounts(deleted: &[Uuid], events: &[NewEvent]) -> StoreResult<()> {
    let mut about: Vec<Option<Uuid>> = events.iter().map(|event| event.credential_id).collect();
    let mut deleted: Vec<Option<Uuid>> = deleted.iter().copied().map(Some).collect();
    about.sort_unstable();
    deleted.sort_unstable();
    if about == deleted {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            constraint: REMOVED_ACCOUNTS_CHANGED.to_owned(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct IntegrationWrite {
    /// The existing id for an integration type the project already has, so
    /// its credentials stay attached; a new id otherwise.
    pub id: Uuid,
    pub type_name: String,
    pub definition: serde_json::Value,
    pub client_secret: SecretUpdate,
    pub webhook_secret: SecretUpdate,
}

/// What to do with a stored sealed secret.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretUpdate {
    Keep,
    Set(Vec<u8>),
    Clear,
}

impl SecretUpdate {
    /// As an upsert writes it: whether to keep the stored value, and the value otherwise.
    pub fn as_columns(&self) -> (bool, Option<&[u8]>) {
        match self {
            Self::Keep => (true, None),
            Self::Set(sealed) => (false, Some(sealed.as_slice())),
            Self::Clear => (false, None),
        }
    }
}

impl std::fmt::Debug for SecretUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Keep => "Keep",
            Self::Set(_) => "Set(<sealed>)",
            Self::Clear => "Clear",
        })
    }
}

#[derive(Debug, Clone)]
pub struct WorkflowWrite {
    pub id: String,
    pub integration_id: Uuid,
    pub trigger_type: String,
    pub trigger_event: Option<String>,
    pub definition: serde_json::Value,
}

/// The developer's end user, created on first use.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectedUser {
    pub project_id: Uuid,
    pub user_id: String,
    pub meta: serde_json::Map<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialStatus {
    Pending,
    Valid,
    Invalid,
}

impl CredentialStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Valid => "VALID",
            Self::Invalid => "INVALID",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "PENDING" => Some(Self::Pending),
            "VALID" => Some(Self::Valid),
            "INVALID" => Some(Self::Invalid),
            _ => None,
        }
    }
}

/// One connected account and its configuration.
#[derive(Clone, PartialEq)]
pub struct CredentialRecord {
    pub id: Uuid,
    pub project_id: Uuid,
    pub integration_id: Uuid,
    pub user_id: String,
    pub external_id: Option<String>,
    pub provider_id: Option<String>,
    pub provider_data: serde_json::Value,
    pub status: CredentialStatus,
    /// Tokens or API key fields, sealed.
    pub secrets: Option<Vec<u8>>,
    /// Non-secret values captured when connecting, for API URL templates.
    pub account_vars: serde_json::Value,
    /// Grows with every write of `secrets` or `account_vars` (a refresh, a
    /// reconnection): the engine's rendered authentication and every
    /// compare-and-set on the row rely on it.
    pub version: i64,
    pub refresh_failure_count: i64,
    pub refreshed_at: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Its configurations: the default one first, then the others oldest first.
    pub configurations: Vec<CredentialConfiguration>,
}

impl CredentialRecord {
    /// The configuration every account has from the start, used when none is named.
    pub fn default_configuration(&self) -> &CredentialConfiguration {
        // The stores load the default first and refuse a credential without one.
        &self.configurations[0]
    }

    pub fn configuration(&self, id: Uuid) -> Option<&CredentialConfiguration> {
        self.configurations.iter().find(|c| c.id == id)
    }

    /// A configuration's label: its own, or for the default one, the account's.
    pub fn configuration_external_id<'a>(
        &'a self,
        configuration: &'a CredentialConfiguration,
    ) -> Option<&'a str> {
        match (&configuration.external_id, configuration.is_default) {
            (Some(own), _) => Some(own),
            (None, true) => self.external_id.as_deref(),
            (None, false) => None,
        }
    }
}

impl std::fmt::Debug for CredentialRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRecord")
            .field("id", &self.id)
            .field("integration_id", &self.integration_id)
            .field("user_id", &self.user_id)
            .field("external_id", &self.external_id)
            .field("provider_id", &self.provider_id)
            .field("status", &self.status)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// One way an account is set up: its settings and which workflows run for it (docs/api.md).
#[derive(Clone, PartialEq)]
pub struct CredentialConfiguration {
    pub id: Uuid,
    pub is_default: bool,
    /// The label the developer gave it, unique among the account's configurations.
    pub external_id: Option<String>,
    pub meta: serde_json::Value,
    pub shared_settings: serde_json::Value,
    /// `{"<workflowId>": {"enabled": bool, "settings": {...}}}`
    pub workflow_settings: serde_json::Value,
    /// The values of `password` settings, sealed.
    pub sealed_settings: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for CredentialConfiguration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialConfiguration")
            .field("id", &self.id)
            .field("is_default", &self.is_default)
            .field("external_id", &self.external_id)
            .finish_non_exhaustive()
    }
}

/// A configuration as the stores aggregate it beside its credential (one JSON object per
/// configuration, times in milliseconds, the sealed settings in hex), so that reading an
/// account stays one query.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationRow {
    id: Uuid,
    is_default: bool,
    external_id: Option<String>,
    meta: serde_json::Value,
    shared_settings: serde_json::Value,
    workflow_settings: serde_json::Value,
    sealed_settings: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl ConfigurationRow {
    /// Parses a credential's aggregated configurations: the default first, then oldest first.
    pub fn parse_all(json: &str) -> StoreResult<Vec<CredentialConfiguration>> {
        let corrupt =
            |what: String| StoreError::Corrupt(format!("credential configurations: {what}"));
        let rows: Vec<Self> = serde_json::from_str(json).map_err(|e| corrupt(e.to_string()))?;
        let mut all = rows
            .into_iter()
            .map(|row| {
                let time = |ms: i64| {
                    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(format!("time {ms}")))
                };
                Ok(CredentialConfiguration {
                    id: row.id,
                    is_default: row.is_default,
                    external_id: row.external_id,
                    meta: row.meta,
                    shared_settings: row.shared_settings,
                    workflow_settings: row.workflow_settings,
                    sealed_settings: row
                        .sealed_settings
                        .map(|text| hex::decode(text).map_err(|e| corrupt(e.to_string())))
                        .transpose()?,
                    created_at: time(row.created_at)?,
                    updated_at: time(row.updated_at)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        all.sort_by_key(|c| (!c.is_default, c.created_at, c.id));
        match all.first() {
            Some(first) if first.is_default => Ok(all),
            _ => Err(corrupt("no default configuration".to_owned())),
        }
    }
}

/// A configuration added to an account beside its default one.
#[derive(Debug, Clone)]
pub struct NewConfiguration {
    pub id: Uuid,
    pub credential_id: Uuid,
    pub external_id: Option<String>,
    pub meta: serde_json::Value,
}

/// Changes to one configuration; `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct ConfigurationChanges {
    pub external_id: Option<Option<String>>,
    pub meta: Option<serde_json::Value>,
    pub shared_settings: Option<serde_json::Value>,
    pub workflow_settings: Option<serde_json::Value>,
    pub sealed_settings: Option<Option<Vec<u8>>>,
}

impl std::fmt::Debug for ConfigurationChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigurationChanges")
            .field("external_id", &self.external_id)
            .field("meta", &self.meta.is_some())
            .field("shared_settings", &self.shared_settings.is_some())
            .field("workflow_settings", &self.workflow_settings.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct NewCredential {
    pub id: Uuid,
    pub project_id: Uuid,
    pub integration_id: Uuid,
    pub user_id: String,
    pub external_id: Option<String>,
    pub provider_id: Option<String>,
    pub provider_data: serde_json::Value,
    pub status: CredentialStatus,
    pub secrets: Option<Vec<u8>>,
    pub account_vars: serde_json::Value,
    pub valid_until: Option<DateTime<Utc>>,
    /// When the background refresher should renew its tokens, if ever.
    pub next_refresh_at: Option<DateTime<Utc>>,
    /// The configuration the account starts with.
    pub workflow_settings: serde_json::Value,
}

impl std::fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCredential")
            .field("id", &self.id)
            .field("integration_id", &self.integration_id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// Which credentials of a project to list. Results are oldest first: by
/// `created_at`, then id.
#[derive(Debug, Clone, Default)]
pub struct CredentialFilter {
    pub user_id: Option<String>,
    pub integration_id: Option<Uuid>,
    /// The account's id at the provider, across users (a provider's webhook delivery names it).
    pub provider_id: Option<String>,
    pub status: Option<CredentialStatus>,
    /// Only those after this position in that order (a page's last
    /// credential's `created_at` and id).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    /// At most this many.
    pub limit: Option<i64>,
}

/// Which users of a project to list: ordered by user id.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Part of the user id, or of the name or email of their metadata (`name` or Paragon's
    /// `Name`, `email` or `Email`), in any case.
    pub search: Option<String>,
    /// Only users whose id sorts after this one (a page's last user).
    pub after: Option<String>,
    pub limit: i64,
}

impl UserFilter {
    /// `search` as a `LIKE … ESCAPE '\'` pattern over lower-cased text: its own `%`, `_`
    /// and `\` match themselves.
    pub fn like_pattern(&self) -> Option<String> {
        self.search.as_deref().map(|search| {
            let mut pattern = String::from("%");
            for c in search.to_lowercase().chars() {
                if matches!(c, '%' | '_' | '\\') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            pattern.push('%');
            pattern
        })
    }
}

/// A user with how many accounts they have connected, and how many of those are `INVALID`.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub user: ConnectedUser,
    pub accounts: i64,
    pub invalid_accounts: i64,
}

/// How many accounts of one integration are in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialCount {
    pub integration_id: Uuid,
    pub status: CredentialStatus,
    pub count: i64,
}

/// Changes to one credential's label and configuration; `None` leaves a
/// field as it is.
#[derive(Debug, Clone, Default)]
pub struct CredentialChanges {
    pub external_id: Option<Option<String>>,
    /// Changes to one of its configurations, by id, made in the same transaction.
    pub configuration: Option<(Uuid, ConfigurationChanges)>,
    /// Replaces what the account keeps for its provider's templates (`account.vars`, and
    /// what Patchbay adds: the account type, a webhook subscription).
    pub account_vars: Option<serde_json::Value>,
}

impl patchbay_core::selection::Account for CredentialRecord {
    fn id(&self) -> Uuid {
        self.id
    }

    fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }

    fn is_valid(&self) -> bool {
        self.status == CredentialStatus::Valid
    }
}

/// A change to a user object, recorded in the same transaction as the
/// change itself so that it is never lost nor invented (docs/api.md).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub id: Uuid,
    pub project_id: Uuid,
    pub user_id: String,
    pub integration_id: Option<Uuid>,
    pub credential_id: Option<Uuid>,
    /// `credential.created`, `credential.replaced`, `credential.deleted`,
    /// `credential.status_changed`, `workflow.state_changed`, ...
    pub name: String,
    pub payload: serde_json::Value,
}

/// A stored event; `seq` orders all events of a deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub seq: i64,
    pub id: Uuid,
    pub project_id: Uuid,
    pub user_id: String,
    pub integration_id: Option<Uuid>,
    pub credential_id: Option<Uuid>,
    pub name: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallStatus {
    Pending,
    Complete,
    Failed,
}

impl InstallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Complete => "complete",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "complete" => Some(Self::Complete),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// An OAuth connection in progress.
#[derive(Clone)]
pub struct NewInstallSession {
    pub id: Uuid,
    pub project_id: Uuid,
    pub integration_id: Uuid,
    pub user_id: String,
    /// SHA-256 of the OAuth `state`; the state itself is never stored.
    pub state_hash: String,
    /// The sealed PKCE verifier, when PKCE is used.
    pub secrets: Option<Vec<u8>>,
    /// allowMultipleCredentials, selectedCredentialId, externalId,
    /// redirectUrl, connection fields.
    pub options: serde_json::Value,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewInstallSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewInstallSession")
            .field("id", &self.id)
            .field("integration_id", &self.integration_id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, PartialEq)]
pub struct InstallSession {
    pub id: Uuid,
    pub project_id: Uuid,
    pub integration_id: Uuid,
    pub user_id: String,
    pub status: InstallStatus,
    pub secrets: Option<Vec<u8>>,
    pub options: serde_json::Value,
    pub credential_id: Option<Uuid>,
    pub error: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for InstallSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallSession")
            .field("id", &self.id)
            .field("integration_id", &self.integration_id)
            .field("user_id", &self.user_id)
            .field("status", &self.status)
            .field("credential_id", &self.credential_id)
            .finish_non_exhaustive()
    }
}

/// A newly authorized external account, replacing what an existing
/// credential pointed at; its id and configuration stay.
#[derive(Clone)]
pub struct AccountReplacement {
    pub provider_id: Option<String>,
    pub provider_data: serde_json::Value,
    pub secrets: Option<Vec<u8>>,
    pub account_vars: serde_json::Value,
    pub valid_until: Option<DateTime<Utc>>,
    pub next_refresh_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for AccountReplacement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountReplacement")
            .field("provider_id", &self.provider_id)
            .finish_non_exhaustive()
    }
}

/// The outcome of asking to refresh a credential's tokens.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshClaim {
    /// This caller holds the refresh lease until it completes or the lease
    /// runs out; nobody else refreshes meanwhile.
    Claimed(CredentialRecord),
    /// Another caller (maybe another replica) holds the lease.
    Busy,
    /// The credential changed since it was read (a refresh or a reconnect
    /// completed): here it is as it stands now.
    Stale(CredentialRecord),
}

/// New tokens from a refresh, sealed.
#[derive(Clone)]
pub struct RefreshedTokens {
    pub secrets: Vec<u8>,
    pub valid_until: Option<DateTime<Utc>>,
    /// When the background refresher should next look at it.
    pub next_refresh_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for RefreshedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshedTokens")
            .field("valid_until", &self.valid_until)
            .field("next_refresh_at", &self.next_refresh_at)
            .finish_non_exhaustive()
    }
}

/// A refresh that did not work.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshFailure {
    /// The provider refused for good (`invalid_grant`, revoked): the
    /// credential becomes `INVALID`.
    pub definitive: bool,
    /// When to try again (transient failures).
    pub retry_at: Option<DateTime<Utc>>,
}

/// A credential whose tokens the background refresher should renew.
#[derive(Debug, Clone, PartialEq)]
pub struct DueRefresh {
    pub project_id: Uuid,
    pub credential_id: Uuid,
}
