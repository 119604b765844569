//! A read-through cache in front of any [`Store`], for the reads every
//! end-user request makes: the project with its active signing keys, the
//! stored user, and the user's accounts.
//!
//! Without it a Proxy API call costs two store round trips before the
//! provider is even called; with it, none while the entries are fresh.
//!
//! What keeps the cache honest:
//!
//! - **Writes through this store** forget the entries they touch before they
//!   return, so whoever wrote reads their own write.
//! - **Writes through other replicas** arrive as [`ChangeNotice`]s: every
//!   write here is announced through the backend (PostgreSQL `NOTIFY`), and
//!   notices from elsewhere are applied as they come. A listener that lost
//!   its connection reports [`ChangeNotice::Everything`], since notices may
//!   have been missed meanwhile.
//! - **A read racing a change never refills the cache with what it read**:
//!   every forget bumps a generation, and a read only keeps its result when
//!   the generation did not move while it was reading the store.
//! - **Entries live at most `ttl`** (default [`CACHE_TTL`]): the backstop
//!   for changes nobody announced, such as another process writing the same
//!   SQLite file (`patchbay apply`) or a replica that crashed between its
//!   commit and its notice.
//!
//! Other reads, and everything the token lifecycle decides on (it re-reads
//! the credential row before refreshing), go to the store.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use crate::*;

/// How long an entry is served without looking at the store.
pub const CACHE_TTL: Duration = Duration::from_secs(2);

/// Entries per kind; beyond, expired ones are dropped, then all of them.
/// Expired entries otherwise stay until then, so this bounds the memory
/// (an account list is a few KB): ten thousand users active within one TTL
/// fit, more make the cache start over, which costs reads, never accuracy.
const CAPACITY: usize = 10_000;

/// Something cached may have changed in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeNotice {
    /// The project row (configuration version, settings) or its signing keys.
    Project(Uuid),
    /// A user's stored user or accounts; `None`: any user of the project.
    User {
        project_id: Uuid,
        user_id: Option<String>,
    },
    /// Anything at all (notices may have been lost).
    Everything,
}

impl ChangeNotice {
    fn user(project_id: Uuid, user_id: &str) -> Self {
        Self::User {
            project_id,
            user_id: Some(user_id.to_owned()),
        }
    }

    fn any_user(project_id: Uuid) -> Self {
        Self::User {
            project_id,
            user_id: None,
        }
    }
}

type UserKey = (Uuid, String);

#[derive(Debug)]
struct Timed<T> {
    value: T,
    stored_at: Instant,
}

#[derive(Debug, Default)]
struct Entries {
    /// Bumped by every forget; see the module documentation.
    generation: u64,
    projects: HashMap<Uuid, Timed<(Project, Vec<SigningKeyRecord>)>>,
    users: HashMap<UserKey, Timed<ConnectedUser>>,
    /// All of a user's accounts, oldest first.
    accounts: HashMap<UserKey, Timed<Vec<CredentialRecord>>>,
}

#[derive(Debug)]
struct Cache {
    ttl: Duration,
    entries: Mutex<Entries>,
}

impl Cache {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached value, if fresh, else the generation to fill it at.
    fn get<K: Hash + Eq, V: Clone>(
        &self,
        map: impl FnOnce(&Entries) -> &HashMap<K, Timed<V>>,
        key: &K,
    ) -> Result<V, u64> {
        let entries = self.lock();
        match map(&entries).get(key) {
            Some(entry) if entry.stored_at.elapsed() < self.ttl => Ok(entry.value.clone()),
            _ => Err(entries.generation),
        }
    }

    /// Keeps `value`, read from the store since `generation` was current,
    /// unless something was forgotten meanwhile.
    fn fill<K: Hash + Eq, V>(
        &self,
        map: impl FnOnce(&mut Entries) -> &mut HashMap<K, Timed<V>>,
        generation: u64,
        key: K,
        value: V,
    ) {
        let mut entries = self.lock();
        if entries.generation != generation {
            return;
        }
        let map = map(&mut entries);
        if map.len() >= CAPACITY {
            map.retain(|_, entry| entry.stored_at.elapsed() < self.ttl);
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        map.insert(
            key,
            Timed {
                value,
                stored_at: Instant::now(),
            },
        );
    }

    fn forget(&self, notice: &ChangeNotice) {
        let mut entries = self.lock();
        entries.generation += 1;
        match notice {
            ChangeNotice::Project(id) => {
                entries.projects.remove(id);
            }
            ChangeNotice::User {
                project_id,
                user_id: Some(user_id),
            } => {
                let key = (*project_id, user_id.clone());
                entries.users.remove(&key);
                entries.accounts.remove(&key);
            }
            ChangeNotice::User {
                project_id,
                user_id: None,
            } => {
                entries
                    .users
                    .retain(|(project, _), _| project != project_id);
                entries
                    .accounts
                    .retain(|(project, _), _| project != project_id);
            }
            ChangeNotice::Everything => {
                entries.projects.clear();
                entries.users.clear();
                entries.accounts.clear();
            }
        }
    }
}

/// A [`Store`] that answers the hot reads from memory (see the module
/// documentation) and passes everything else through.
#[derive(Debug)]
pub struct CachedStore {
    inner: Arc<dyn Store>,
    cache: Arc<Cache>,
}

impl CachedStore {
    /// Wraps `inner`, and follows the changes other replicas announce
    /// through it. Must be called inside a tokio runtime.
    pub fn new(inner: Arc<dyn Store>, ttl: Duration) -> Self {
        let cache = Arc::new(Cache {
            ttl,
            entries: Mutex::default(),
        });
        if let Some(notices) = inner.change_notices() {
            tokio::spawn(follow(notices, Arc::downgrade(&cache)));
        }
        Self { inner, cache }
    }

    /// Forgets what a write touched, here and on every other replica: one
    /// notice per write, naming the narrowest thing it changed (a user, not
    /// the project), so that many writes at once cost each replica one
    /// small forget apiece. Every write is one transaction, so there is
    /// nothing to coalesce within one; sending the notice from inside it
    /// would only spare a round trip, at the price of every backend write
    /// knowing the cache's protocol.
    async fn changed(&self, notice: ChangeNotice) {
        if let Err(error) = self.announce_change(&notice).await {
            // The write itself succeeded; other replicas catch up within the TTL.
            tracing::warn!(%error, ?notice, "could not announce a change to other replicas");
        }
    }

    /// After a write to one credential: forgets its user's entries. When the
    /// backend failed, the user is unknown and the write may still have
    /// committed, so every user of the project is forgotten; when the store
    /// refused the write (`NotFound`, `Conflict`, `Refused`), nothing changed.
    async fn credential_written<T>(
        &self,
        project_id: Uuid,
        outcome: StoreResult<T>,
        user_of: impl FnOnce(&T) -> Option<&str>,
    ) -> StoreResult<T> {
        let notice = match &outcome {
            Ok(written) => match user_of(written) {
                Some(user_id) => ChangeNotice::user(project_id, user_id),
                None => return outcome,
            },
            Err(StoreError::NotFound | StoreError::Conflict { .. } | StoreError::Refused(_)) => {
                return outcome;
            }
            Err(StoreError::Corrupt(_) | StoreError::Backend(_)) => {
                ChangeNotice::any_user(project_id)
            }
        };
        self.changed(notice).await;
        outcome
    }
}

/// Applies notices from other replicas until the cache is gone.
async fn follow(mut notices: broadcast::Receiver<ChangeNotice>, cache: Weak<Cache>) {
    loop {
        let notice = match notices.recv().await {
            Ok(notice) => notice,
            Err(RecvError::Lagged(_)) => ChangeNotice::Everything,
            Err(RecvError::Closed) => return,
        };
        let Some(cache) = cache.upgrade() else {
            return;
        };
        cache.forget(&notice);
    }
}

/// The aggregates it caches (projects, users, credentials) are answered by
/// the `CachedStore` itself, so adding a method to one of them does not
/// compile until it says here what it reads from memory or forgets; the
/// others go straight to the wrapped store.
#[async_trait]
impl Store for CachedStore {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    async fn migrate(&self) -> StoreResult<()> {
        self.inner.migrate().await
    }

    async fn readiness(&self) -> StoreResult<Readiness> {
        self.inner.readiness().await
    }

    /// Forgets here, then tells the other replicas: what whoever changed the
    /// database behind this store's back must call.
    async fn announce_change(&self, notice: &ChangeNotice) -> StoreResult<()> {
        self.cache.forget(notice);
        self.inner.announce_change(notice).await
    }

    fn change_notices(&self) -> Option<broadcast::Receiver<ChangeNotice>> {
        self.inner.change_notices()
    }

    fn projects(&self) -> &dyn ProjectStore {
        self
    }

    fn secret_keys(&self) -> &dyn SecretKeyStore {
        self.inner.secret_keys()
    }

    fn users(&self) -> &dyn UserStore {
        self
    }

    fn credentials(&self) -> &dyn CredentialStore {
        self
    }

    fn install_sessions(&self) -> &dyn InstallSessionStore {
        self.inner.install_sessions()
    }

    fn workflows(&self) -> &dyn WorkflowStore {
        self.inner.workflows()
    }

    fn events(&self) -> &dyn EventStore {
        self.inner.events()
    }

    /// Re-encryption changes no value, and retired data keys stay
    /// readable, so cached ciphertexts under an old key still open.
    fn data_keys(&self) -> &dyn DataKeyStore {
        self.inner.data_keys()
    }

    /// Sessions are read on every dashboard request but must end the moment their key is
    /// revoked on any replica: never cached.
    fn dashboard(&self) -> &dyn DashboardStore {
        self.inner.dashboard()
    }
}

#[async_trait]
impl ProjectStore for CachedStore {
    async fn create_project(
        &self,
        project: &NewProject,
        first_key: &NewSecretKeyRecord,
    ) -> StoreResult<Project> {
        // Nothing is cached of a project that does not exist yet.
        self.inner
            .projects()
            .create_project(project, first_key)
            .await
    }

    /// From the same entry as [`Self::get_project_with_active_keys`]: every
    /// workflow run and CORS check reads its project.
    async fn get_project(&self, id: Uuid) -> StoreResult<Option<Project>> {
        Ok(self
            .get_project_with_active_keys(id)
            .await?
            .map(|(project, _)| project))
    }

    async fn list_projects(&self) -> StoreResult<Vec<Project>> {
        self.inner.projects().list_projects().await
    }

    async fn get_project_with_active_keys(
        &self,
        project_id: Uuid,
    ) -> StoreResult<Option<(Project, Vec<SigningKeyRecord>)>> {
        let generation = match self.cache.get(|e| &e.projects, &project_id) {
            Ok(cached) => return Ok(Some(cached)),
            Err(generation) => generation,
        };
        let read = self
            .inner
            .projects()
            .get_project_with_active_keys(project_id)
            .await?;
        // An unknown project is not kept: anyone can ask for any id.
        if let Some(found) = &read {
            self.cache
                .fill(|e| &mut e.projects, generation, project_id, found.clone());
        }
        Ok(read)
    }

    async fn insert_signing_key(
        &self,
        key: &NewSigningKey,
        max_active: usize,
    ) -> StoreResult<SigningKeyRecord> {
        let outcome = self
            .inner
            .projects()
            .insert_signing_key(key, max_active)
            .await;
        self.changed(ChangeNotice::Project(key.project_id)).await;
        outcome
    }

    async fn revoke_signing_key(&self, project_id: Uuid, kid: &str) -> StoreResult<()> {
        let outcome = self
            .inner
            .projects()
            .revoke_signing_key(project_id, kid)
            .await;
        self.changed(ChangeNotice::Project(project_id)).await;
        outcome
    }

    async fn apply_config(
        &self,
        project_id: Uuid,
        config: &ConfigWrite,
        deleted: &[NewEvent],
    ) -> StoreResult<Project> {
        let outcome = self
            .inner
            .projects()
            .apply_config(project_id, config, deleted)
            .await;
        self.changed(ChangeNotice::Project(project_id)).await;
        // Removing an integration removes its accounts with it.
        self.changed(ChangeNotice::any_user(project_id)).await;
        outcome
    }

    async fn list_signing_keys(&self, project_id: Uuid) -> StoreResult<Vec<SigningKeyRecord>> {
        self.inner.projects().list_signing_keys(project_id).await
    }

    async fn get_config_document(
        &self,
        project_id: Uuid,
    ) -> StoreResult<Option<serde_json::Value>> {
        self.inner.projects().get_config_document(project_id).await
    }

    async fn list_integrations(&self, project_id: Uuid) -> StoreResult<Vec<IntegrationRecord>> {
        self.inner.projects().list_integrations(project_id).await
    }
}

#[async_trait]
impl UserStore for CachedStore {
    async fn get_user(
        &self,
        project_id: Uuid,
        user_id: &str,
    ) -> StoreResult<Option<ConnectedUser>> {
        let key = (project_id, user_id.to_owned());
        let generation = match self.cache.get(|e| &e.users, &key) {
            Ok(cached) => return Ok(Some(cached)),
            Err(generation) => generation,
        };
        let read = self.inner.users().get_user(project_id, user_id).await?;
        // A user not stored yet is about to be, by `upsert_user`.
        if let Some(found) = &read {
            self.cache
                .fill(|e| &mut e.users, generation, key, found.clone());
        }
        Ok(read)
    }

    async fn upsert_user(
        &self,
        project_id: Uuid,
        user_id: &str,
        meta: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> StoreResult<ConnectedUser> {
        let outcome = self
            .inner
            .users()
            .upsert_user(project_id, user_id, meta)
            .await;
        self.changed(ChangeNotice::user(project_id, user_id)).await;
        outcome
    }

    /// A search over many users: not worth caching.
    async fn list_users(
        &self,
        project_id: Uuid,
        filter: &UserFilter,
    ) -> StoreResult<Vec<UserSummary>> {
        self.inner.users().list_users(project_id, filter).await
    }
}

#[async_trait]
impl CredentialStore for CachedStore {
    async fn get_credential(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<CredentialRecord>> {
        // The token lifecycle decides on this read: always the store's.
        self.inner
            .credentials()
            .get_credential(project_id, id)
            .await
    }

    async fn due_refreshes(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<DueRefresh>> {
        self.inner.credentials().due_refreshes(before, limit).await
    }

    /// One user's accounts come from memory, filtered by integration there;
    /// other listings (by status, the whole project, pages) go to the store.
    async fn count_credentials(&self, project_id: Uuid) -> StoreResult<Vec<CredentialCount>> {
        self.inner.credentials().count_credentials(project_id).await
    }

    async fn list_credentials(
        &self,
        project_id: Uuid,
        filter: &CredentialFilter,
    ) -> StoreResult<Vec<CredentialRecord>> {
        let (Some(user_id), None, None, None, None) = (
            &filter.user_id,
            &filter.provider_id,
            filter.status,
            filter.after,
            filter.limit,
        ) else {
            return self
                .inner
                .credentials()
                .list_credentials(project_id, filter)
                .await;
        };
        let key = (project_id, user_id.clone());
        let all = match self.cache.get(|e| &e.accounts, &key) {
            Ok(cached) => cached,
            Err(generation) => {
                let every_integration = CredentialFilter {
                    user_id: Some(user_id.clone()),
                    ..CredentialFilter::default()
                };
                let read = self
                    .inner
                    .credentials()
                    .list_credentials(project_id, &every_integration)
                    .await?;
                self.cache
                    .fill(|e| &mut e.accounts, generation, key, read.clone());
                read
            }
        };
        Ok(match filter.integration_id {
            Some(integration_id) => all
                .into_iter()
                .filter(|credential| credential.integration_id == integration_id)
                .collect(),
            None => all,
        })
    }

    async fn insert_credential(
        &self,
        credential: &NewCredential,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        let outcome = self
            .inner
            .credentials()
            .insert_credential(credential, events)
            .await;
        self.changed(ChangeNotice::user(
            credential.project_id,
            &credential.user_id,
        ))
        .await;
        outcome
    }

    async fn replace_credential_account(
        &self,
        project_id: Uuid,
        id: Uuid,
        replacement: &AccountReplacement,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        let outcome = self
            .inner
            .credentials()
            .replace_credential_account(project_id, id, replacement, events)
            .await;
        self.credential_written(project_id, outcome, |c| Some(&c.user_id))
            .await
    }

    async fn update_credential(
        &self,
        project_id: Uuid,
        id: Uuid,
        changes: &CredentialChanges,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        let outcome = self
            .inner
            .credentials()
            .update_credential(project_id, id, changes, events)
            .await;
        self.credential_written(project_id, outcome, |c| Some(&c.user_id))
            .await
    }

    async fn insert_configuration(
        &self,
        project_id: Uuid,
        configuration: &NewConfiguration,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        let outcome = self
            .inner
            .credentials()
            .insert_configuration(project_id, configuration, events)
            .await;
        self.credential_written(project_id, outcome, |c| Some(&c.user_id))
            .await
    }

    async fn delete_configuration(
        &self,
        project_id: Uuid,
        credential_id: Uuid,
        configuration_id: Uuid,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        let outcome = self
            .inner
            .credentials()
            .delete_configuration(project_id, credential_id, configuration_id, events)
            .await;
        self.credential_written(project_id, outcome, |c| Some(&c.user_id))
            .await
    }

    async fn delete_credential(
        &self,
        project_id: Uuid,
        id: Uuid,
        events: &[NewEvent],
    ) -> StoreResult<String> {
        let outcome = self
            .inner
            .credentials()
            .delete_credential(project_id, id, events)
            .await;
        // Its user alone: every replica keeps the rest of the project cached.
        self.credential_written(project_id, outcome, |user_id| Some(user_id))
            .await
    }

    async fn claim_refresh(
        &self,
        project_id: Uuid,
        id: Uuid,
        version: i64,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<RefreshClaim> {
        let outcome = self
            .inner
            .credentials()
            .claim_refresh(project_id, id, version, lease_until)
            .await;
        // Only a claim writes; `Busy` and `Stale` leave the row as it was.
        self.credential_written(project_id, outcome, |claim| match claim {
            RefreshClaim::Claimed(credential) => Some(&credential.user_id),
            RefreshClaim::Busy | RefreshClaim::Stale(_) => None,
        })
        .await
    }

    async fn complete_refresh(
        &self,
        project_id: Uuid,
        id: Uuid,
        version: i64,
        tokens: &RefreshedTokens,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        let outcome = self
            .inner
            .credentials()
            .complete_refresh(project_id, id, version, tokens, events)
            .await;
        self.credential_written(project_id, outcome, |c| Some(&c.user_id))
            .await
    }

    async fn record_refresh_failure(
        &self,
        project_id: Uuid,
        id: Uuid,
        version: i64,
        failure: &RefreshFailure,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord> {
        let outcome = self
            .inner
            .credentials()
            .record_refresh_failure(project_id, id, version, failure, events)
            .await;
        self.credential_written(project_id, outcome, |c| Some(&c.user_id))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(ttl: Duration) -> Cache {
        Cache {
            ttl,
            entries: Mutex::default(),
        }
    }

    fn key() -> UserKey {
        (Uuid::nil(), "ada".to_owned())
    }

    #[test]
    fn a_read_that_overlapped_a_forget_is_not_kept() {
        let cache = cache(Duration::from_secs(60));
        let Err(generation) = cache.get(|e| &e.accounts, &key()) else {
            panic!("an empty cache has nothing");
        };
        // The store is read here; meanwhile a write forgets this user.
        cache.forget(&ChangeNotice::User {
            project_id: Uuid::nil(),
            user_id: Some("ada".to_owned()),
        });
        cache.fill(|e| &mut e.accounts, generation, key(), Vec::new());
        assert!(cache.get(|e| &e.accounts, &key()).is_err());

        let Err(generation) = cache.get(|e| &e.accounts, &key()) else {
            panic!("nothing was kept");
        };
        cache.fill(|e| &mut e.accounts, generation, key(), Vec::new());
        assert_eq!(cache.get(|e| &e.accounts, &key()), Ok(Vec::new()));
    }

    #[test]
    fn entries_expire() {
        let cache = cache(Duration::ZERO);
        let Err(generation) = cache.get(|e| &e.accounts, &key()) else {
            panic!("an empty cache has nothing");
        };
        cache.fill(|e| &mut e.accounts, generation, key(), Vec::new());
        assert!(cache.get(|e| &e.accounts, &key()).is_err());
    }

    #[test]
    fn forgetting_a_project_keeps_other_projects() {
        let cache = cache(Duration::from_secs(60));
        let other = (Uuid::new_v4(), "ada".to_owned());
        for key in [key(), other.clone()] {
            let Err(generation) = cache.get(|e| &e.accounts, &key) else {
                panic!("an empty cache has nothing");
            };
            cache.fill(|e| &mut e.accounts, generation, key, Vec::new());
        }
        cache.forget(&ChangeNotice::User {
            project_id: Uuid::nil(),
            user_id: None,
        });
        assert!(cache.get(|e| &e.accounts, &key()).is_err());
        assert!(cache.get(|e| &e.accounts, &other).is_ok());
    }
}
