use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// Active (unrevoked) secret keys a project may have at once: enough to
/// rotate every key of several services, few enough that a runaway script
/// adding keys stops early.
pub const MAX_ACTIVE_SECRET_KEYS: usize = 20;

/// Active signing keys a project may have at once. Every user token without
/// a `kid` is tried against each key of its algorithm, so the bound also
/// bounds that work.
pub const MAX_ACTIVE_SIGNING_KEYS: usize = 20;

/// `POST /api/v1/projects`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateProjectRequest {
    pub name: String,
}

/// The new project and its first secret key, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateProjectResponse {
    pub project_id: Uuid,
    pub secret_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "crate::timestamp")]
    pub date_created: DateTime<Utc>,
    #[serde(with = "crate::timestamp")]
    pub date_updated: DateTime<Utc>,
}

/// A secret key as listed: never the key itself, only its first characters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyView {
    pub id: Uuid,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    #[serde(with = "crate::timestamp")]
    pub date_created: DateTime<Utc>,
    #[serde(default, with = "crate::timestamp::option")]
    pub date_revoked: Option<DateTime<Utc>>,
}

/// `POST /api/v1/projects/{projectId}/secret-keys`: a new key, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedSecretKey {
    pub id: Uuid,
    pub secret_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyList {
    pub data: Vec<SecretKeyView>,
}

/// `POST /api/v1/projects/{projectId}/signing-keys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddSigningKeyRequest {
    /// SPKI PEM (`-----BEGIN PUBLIC KEY-----`) of an RSA (RS256), P-256
    /// (ES256) or Ed25519 (EdDSA) key. The algorithm is pinned from the key.
    pub public_key_pem: String,
    /// The `kid` tokens name; generated when absent.
    #[serde(default)]
    pub kid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningKeyView {
    pub kid: String,
    pub algorithm: String,
    #[serde(with = "crate::timestamp")]
    pub date_created: DateTime<Utc>,
    #[serde(default, with = "crate::timestamp::option")]
    pub date_revoked: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SigningKeyList {
    pub data: Vec<SigningKeyView>,
}

/// `PUT /api/v1/projects/{projectId}/config` succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigApplied {
    /// Increases by one with every applied document.
    pub version: i64,
    pub integrations: Vec<String>,
    pub workflows: Vec<String>,
}

/// `GET /api/v1/projects/{projectId}/config`: the configuration document as
/// last applied (the schema at `/config.schema.json` describes it), every
/// secret shown as `********`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct ConfigDocument(pub Value);

impl ConfigDocument {
    /// What a project that never applied a document has.
    pub fn empty() -> Self {
        Self(serde_json::json!({"settings": {}, "integrations": {}, "workflows": []}))
    }
}

/// What `PUT /api/v1/projects/{projectId}/config` answers: what was applied,
/// or with `dryRun=true` what would be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ConfigPutOutcome {
    Applied(ConfigApplied),
    Planned(ConfigPlan),
}

/// `PUT /api/v1/projects/{projectId}/config?dryRun=true`: what applying the
/// document would change, with nothing changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigPlan {
    /// Whether `settings` differ from those in force.
    pub settings_changed: bool,
    /// By integration type.
    pub integrations: ConfigChanges,
    /// By workflow id.
    pub workflows: ConfigChanges,
    /// The connected accounts the apply would delete with their removed
    /// integrations (only with `prune=true`; without it the dry run is
    /// refused with `409 integration_in_use`, as the apply would be).
    pub deleted_accounts: Vec<PlannedAccountDeletion>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConfigChanges {
    pub added: Vec<String>,
    /// Present before and after with a different definition. A client
    /// secret given again in clear is not compared with the stored one.
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedAccountDeletion {
    pub integration: String,
    pub credential_id: Uuid,
    pub user_id: String,
}
