//! The storage boundary.
//!
//! [`Store`] is the only way the rest of Patchbay reaches durable state. It has
//! two implementations, `patchbay-store-sqlite` (the embedded default) and
//! `patchbay-store-postgres` (the scale-out), which pass the same contract
//! suite (`tests/it`). Callers hold an `Arc<dyn Store>` and never know which
//! one they have.

mod error;
mod records;

use async_trait::async_trait;
use patchbay_core::crypto::WrappedDataKey;
use patchbay_core::secret_key::SecretKeyHash;
use uuid::Uuid;

pub use error::{StoreError, StoreResult};
pub use records::*;

/// Durable state of a Patchbay deployment.
///
/// Implementations are cheap to share (`Arc<dyn Store>`) and safe to use from
/// several server replicas at once.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Which backend this is, for logs and metrics.
    fn backend(&self) -> Backend;

    /// Applies every pending migration.
    async fn migrate(&self) -> StoreResult<()>;

    /// Whether the store is reachable and fully migrated.
    async fn readiness(&self) -> StoreResult<Readiness>;

    /// Creates a project together with its first secret key, atomically.
    async fn create_project(
        &self,
        project: &NewProject,
        first_key: &NewSecretKeyRecord,
    ) -> StoreResult<Project>;

    async fn get_project(&self, id: Uuid) -> StoreResult<Option<Project>>;

    async fn insert_secret_key(&self, key: &NewSecretKeyRecord) -> StoreResult<SecretKeyRecord>;

    /// The active (not revoked) secret key with this hash, of any project.
    async fn find_active_secret_key(
        &self,
        hash: &SecretKeyHash,
    ) -> StoreResult<Option<SecretKeyRecord>>;

    /// All secret keys of a project, oldest first, revoked ones included.
    async fn list_secret_keys(&self, project_id: Uuid) -> StoreResult<Vec<SecretKeyRecord>>;

    /// Revokes one key of this project. `NotFound` when the project has no
    /// such active key.
    async fn revoke_secret_key(&self, project_id: Uuid, key_id: Uuid) -> StoreResult<()>;

    /// Data keys of the encryption envelope, oldest first.
    async fn list_data_keys(&self) -> StoreResult<Vec<DataKeyRecord>>;

    async fn insert_data_key(&self, key: &WrappedDataKey) -> StoreResult<DataKeyRecord>;
}
