//! Rows as the rest of Patchbay sees them, independent of the backend.

use chrono::{DateTime, SubsecRound as _, Utc};
use patchbay_core::crypto::WrappedDataKey;
use patchbay_core::secret_key::SecretKeyHash;
use uuid::Uuid;

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
