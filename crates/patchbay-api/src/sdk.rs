//! The end-user API (`/projects/{projectId}/sdk/...`), shaped like Paragon's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

/// `GET /sdk/me`: Paragon's `AuthenticatedConnectUser`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserObject {
    pub authenticated: bool,
    pub user_id: String,
    #[schema(value_type = Object)]
    pub meta: Map<String, Value>,
    #[schema(value_type = Vec<Object>)]
    pub resources: Vec<Value>,
    /// Every integration of the project, by type.
    pub integrations: BTreeMap<String, IntegrationState>,
}

/// One integration as seen by one user. The top-level credential fields
/// describe the default account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationState {
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_status: Option<CredentialStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub provider_data: Option<Value>,
    /// Every account of this user for this integration, oldest first.
    pub all_credentials: Vec<Credential>,
    /// The configurations of all those accounts.
    pub all_configurations: Vec<CredentialConfiguration>,
    #[schema(value_type = Object)]
    pub shared_settings: Value,
    /// The default account's workflows: `{workflowId: {enabled, settings}}`.
    pub workflow_settings: BTreeMap<String, WorkflowState>,
    pub configured_workflows: BTreeMap<String, WorkflowState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum CredentialStatus {
    Pending,
    Valid,
    Invalid,
}

/// A connected account. Never carries a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub id: Uuid,
    pub project_id: Uuid,
    pub integration_id: Uuid,
    /// The connected user's id (Paragon calls users personas).
    pub persona_id: String,
    pub external_id: Option<String>,
    pub provider_id: Option<String>,
    #[schema(value_type = Object)]
    pub provider_data: Value,
    pub status: CredentialStatus,
    /// The account type it was connected with, for an integration that has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    pub is_preview_credential: bool,
    #[serde(with = "crate::timestamp")]
    pub date_created: DateTime<Utc>,
    #[serde(with = "crate::timestamp")]
    pub date_updated: DateTime<Utc>,
    #[serde(default, with = "crate::timestamp::option")]
    pub date_refreshed: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::timestamp::option")]
    pub date_valid_until: Option<DateTime<Utc>>,
    pub refresh_failure_count: i64,
    /// Always `null`: a disconnected account is deleted, never listed.
    #[serde(default, with = "crate::timestamp::option")]
    pub date_deleted: Option<DateTime<Utc>>,
    pub configurations: Vec<CredentialConfiguration>,
    /// Paragon's `config`: the account's configuration, its workflows as
    /// `configuredWorkflows`.
    pub config: CredentialConfig,
}

/// One configuration of an account: its own settings, workflow states and metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialConfiguration {
    pub id: Uuid,
    /// The account it belongs to (Paragon names it both ways).
    pub credential_id: Uuid,
    pub connect_credential_id: Uuid,
    pub is_default: bool,
    /// Its label, addressed as `ext:<externalId>`; the default configuration's is the
    /// account's own label.
    pub external_id: Option<String>,
    #[schema(value_type = Object)]
    pub meta: Value,
    /// The integration's user settings; a set `password` reads `********`.
    #[schema(value_type = Object)]
    pub shared_settings: Value,
    /// The same as `sharedSettings`, under the name Paragon's `createConfiguration` answers.
    #[schema(value_type = Object)]
    pub settings: Value,
    pub workflow_settings: BTreeMap<String, WorkflowState>,
    /// The same as `workflowSettings`, under Paragon's name.
    pub configured_workflows: BTreeMap<String, WorkflowState>,
    #[serde(with = "crate::timestamp")]
    pub date_created: DateTime<Utc>,
    #[serde(with = "crate::timestamp")]
    pub date_updated: DateTime<Utc>,
}

/// A credential's `config`, as Paragon's credential objects carry it: its
/// one configuration, the workflows as `configuredWorkflows`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialConfig {
    pub id: Uuid,
    pub connect_credential_id: Uuid,
    pub is_default: bool,
    pub external_id: Option<String>,
    #[schema(value_type = Object)]
    pub shared_settings: Value,
    /// `{workflowId: {enabled, settings}}`, every workflow of the integration.
    pub configured_workflows: BTreeMap<String, WorkflowState>,
    #[serde(with = "crate::timestamp")]
    pub date_created: DateTime<Utc>,
    #[serde(with = "crate::timestamp")]
    pub date_updated: DateTime<Utc>,
}

/// Whether a workflow runs for an account, and that account's inputs for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowState {
    pub enabled: bool,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Value,
}

/// `PATCH /sdk/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[schema(value_type = Object)]
    pub meta: Map<String, Value>,
}

/// `PATCH /sdk/credentials/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateCredentialRequest {
    #[serde(default)]
    pub config: Option<ConfigurationUpdate>,
    /// A new label, or `null` to remove it. Absent leaves it unchanged.
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigurationUpdate {
    /// Merged key by key into the account's shared settings.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub shared_settings: Option<Map<String, Value>>,
    /// Per workflow: `enabled` and/or `settings` (settings merge key by key).
    /// Paragon's name for it, `configuredWorkflows`, is read the same way.
    #[serde(default, alias = "configuredWorkflows")]
    pub workflow_settings: Option<BTreeMap<String, WorkflowStateUpdate>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkflowStateUpdate {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Map<String, Value>>,
}

/// A page of the project's accounts, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialList {
    pub data: Vec<Credential>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// `GET /sdk/integrations`: an integration enabled in the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationMetadata {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub type_name: String,
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    /// The provider's brand colour, `#RRGGBB`, from its catalogue entry.
    pub brand_color: Option<String>,
    /// `oauth2`, `api_key`, `basic`, `oauth2_client_credentials` or `jwt_bearer`.
    pub auth_type: String,
    /// What the user enters when connecting an API-key, basic-auth or client-credentials account.
    #[schema(value_type = Vec<Object>)]
    pub credential_fields: Vec<Value>,
    /// Non-secret values asked for when connecting (a subdomain...).
    #[schema(value_type = Vec<Object>)]
    pub connection_fields: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub user_settings: Vec<Value>,
    pub workflows: Vec<WorkflowMetadata>,
    /// The ways in, for an integration that has several (production or sandbox, OAuth or an
    /// API key); empty otherwise. The fields above describe the first, the default.
    pub account_types: Vec<AccountTypeMetadata>,
    /// How the Connect Portal presents the integration to this user.
    pub portal: IntegrationPortal,
}

/// One way in to an integration: what the `accountType` install option names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountTypeMetadata {
    pub id: String,
    pub name: String,
    /// The line shown under the name; the name when the definition gives none (Paragon's
    /// field).
    pub account_description: String,
    pub auth_type: String,
    #[schema(value_type = Vec<Object>)]
    pub credential_fields: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub connection_fields: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowMetadata {
    pub id: String,
    pub description: Option<String>,
    pub default_enabled: bool,
    #[schema(value_type = Vec<Object>)]
    pub inputs: Vec<Value>,
}

/// `POST /sdk/credentials/{credentialId}/configurations`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateConfigurationRequest {
    /// A label unique among the account's configurations, to address it as `ext:<externalId>`.
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Map<String, Value>>,
}

/// `PATCH /sdk/credentials/{credentialId}/configurations/{configurationId}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateConfigurationRequest {
    /// A new label, or `null` to remove it. Absent leaves it unchanged.
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    /// Merged key by key into the configuration's metadata; a key set to `null` is removed.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Map<String, Value>>,
    /// As `PATCH /sdk/credentials/{id}`'s `config.sharedSettings`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub shared_settings: Option<Map<String, Value>>,
    /// As `PATCH /sdk/credentials/{id}`'s `config.workflowSettings`.
    #[serde(default, alias = "configuredWorkflows")]
    pub workflow_settings: Option<BTreeMap<String, WorkflowStateUpdate>>,
}

impl UpdateConfigurationRequest {
    /// The settings part, as a credential's update carries it.
    pub fn settings(&self) -> ConfigurationUpdate {
        ConfigurationUpdate {
            shared_settings: self.shared_settings.clone(),
            workflow_settings: self.workflow_settings.clone(),
        }
    }
}

/// Distinguishes an absent field from an explicit `null`.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// `POST /sdk/integrations/{type}/install` (docs/api.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallRequest {
    /// Connect another account although the user already has a `VALID` one.
    #[serde(default)]
    pub allow_multiple_credentials: bool,
    /// Reconnect (replace) this account: id, `ext:<externalId>` or externalId.
    #[serde(default)]
    pub selected_credential_id: Option<String>,
    /// A label for the new account, unique per user and integration.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Where the OAuth callback sends the browser when done, instead of
    /// answering its opener; its origin must be one of the project's
    /// `allowedOrigins`.
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// API-key or basic-auth fields, by id.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<Map<String, Value>>,
    /// Values of the integration's connection fields (a subdomain...).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub connection: Option<Map<String, Value>>,
    /// Which way in, for an integration with account types (`sandbox`); the first type
    /// when left out.
    #[serde(default)]
    pub account_type: Option<String>,
    /// For an API-key or basic integration whose account lists several things to choose
    /// among (a workspace): the value of the one chosen.
    #[serde(default)]
    pub choice: Option<String>,
}

/// An OAuth install started: open `authorizationUrl` in a popup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallStarted {
    pub authorization_url: String,
    pub install_session_id: Uuid,
}

/// An API-key or basic-auth account connected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallCompleted {
    pub credential: Credential,
    /// The same external account was already connected and was updated
    /// instead of copied.
    pub deduplicated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InstallStatus {
    Pending,
    Complete,
    Failed,
}

/// `GET /sdk/install-sessions/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallSessionView {
    pub status: InstallStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One option of a setting whose options come from the account's API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldOption {
    /// What the user reads.
    pub label: String,
    /// What is stored when the user picks it.
    pub value: String,
}

/// `GET /sdk/credentials/{credentialId}/field-options`: one page of a setting's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldOptionList {
    pub data: Vec<FieldOption>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// How the Connect Portal presents one integration to the calling user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationPortal {
    /// `#RRGGBB`: the integration's accent colour, else the project's, else `null`.
    pub accent_color: Option<String>,
    /// The integration's overview, rendered from Markdown to sanitised HTML.
    pub overview_html: Option<String>,
    /// The workflows this user may see that are not hidden, in display order.
    pub workflows: Vec<PortalWorkflow>,
}

/// A workflow the Connect Portal lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortalWorkflow {
    pub id: String,
    /// A line of help under the workflow's name.
    pub help: Option<String>,
}
