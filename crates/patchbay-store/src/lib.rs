//! The storage boundary.
//!
//! [`Store`] is the only way the rest of Patchbay reaches durable state. It has
//! two implementations, `patchbay-store-sqlite` (the embedded default) and
//! `patchbay-store-postgres` (the scale-out), which pass the same contract
//! suite (`tests/it`). Callers hold an `Arc<dyn Store>` and never know which
//! one they have.

mod cached;
mod dashboard;
mod delivery;
mod error;
mod hot_query;
mod inbound;
mod nul;
mod records;
mod runs;
mod sealed;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patchbay_core::crypto::WrappedDataKey;
use patchbay_core::secret_key::SecretKeyHash;
use uuid::Uuid;

pub use cached::{CACHE_TTL, CachedStore, ChangeNotice};
pub use dashboard::*;
pub use delivery::*;
pub use error::{StoreError, StoreResult, changed_a_row};
pub use hot_query::HotQuery;
pub use inbound::{InboundDelivery, InboundFilter, InboundStatus};
pub use nul::{RefuseNul, refuse_nul, refuse_nul_in_json, refuse_nul_in_user};
pub use records::*;
pub use runs::*;
pub use sealed::{SealedColumn, SealedValue};

/// Durable state of a Patchbay deployment, one aggregate per accessor.
///
/// Implementations are cheap to share (`Arc<dyn Store>`) and safe to use from
/// several server replicas at once. A backend answers every accessor with
/// itself; [`CachedStore`] answers the aggregates it caches with itself and
/// hands the others straight to the store it wraps.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Which backend this is, for logs and metrics.
    fn backend(&self) -> Backend;

    /// Applies every pending migration.
    async fn migrate(&self) -> StoreResult<()>;

    /// Whether the store is reachable and fully migrated.
    async fn readiness(&self) -> StoreResult<Readiness>;

    /// Tells the other replicas that something they may have cached changed
    /// (and, on a [`CachedStore`], forgets it here first).
    async fn announce_change(&self, notice: &ChangeNotice) -> StoreResult<()>;

    /// Changes announced by other replicas (and by this one), or `None` when
    /// the backend has no channel between processes.
    fn change_notices(&self) -> Option<tokio::sync::broadcast::Receiver<ChangeNotice>>;

    fn projects(&self) -> &dyn ProjectStore;
    fn secret_keys(&self) -> &dyn SecretKeyStore;
    fn users(&self) -> &dyn UserStore;
    fn credentials(&self) -> &dyn CredentialStore;
    fn install_sessions(&self) -> &dyn InstallSessionStore;
    fn workflows(&self) -> &dyn WorkflowStore;
    fn events(&self) -> &dyn EventStore;
    fn data_keys(&self) -> &dyn DataKeyStore;
    fn dashboard(&self) -> &dyn DashboardStore;
}

/// Projects, their signing keys and their applied configuration.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Creates a project together with its first secret key, atomically.
    async fn create_project(
        &self,
        project: &NewProject,
        first_key: &NewSecretKeyRecord,
    ) -> StoreResult<Project>;

    async fn get_project(&self, id: Uuid) -> StoreResult<Option<Project>>;

    /// Every project of the deployment, oldest first.
    async fn list_projects(&self) -> StoreResult<Vec<Project>>;

    /// A project and its active (unrevoked) signing keys, oldest first, in
    /// one read: what authenticating a user token needs on every request.
    async fn get_project_with_active_keys(
        &self,
        project_id: Uuid,
    ) -> StoreResult<Option<(Project, Vec<SigningKeyRecord>)>>;

    /// `Conflict` when the project already has a key with this kid, or (on
    /// [`ACTIVE_KEY_LIMIT`]) already has `max_active` active keys: counted in
    /// the inserting transaction, so concurrent inserts never overshoot it.
    async fn insert_signing_key(
        &self,
        key: &NewSigningKey,
        max_active: usize,
    ) -> StoreResult<SigningKeyRecord>;

    /// All signing keys of a project, oldest first, revoked ones included.
    async fn list_signing_keys(&self, project_id: Uuid) -> StoreResult<Vec<SigningKeyRecord>>;

    /// `NotFound` when the project has no such active key.
    async fn revoke_signing_key(&self, project_id: Uuid, kid: &str) -> StoreResult<()>;

    /// Replaces the project's configuration (settings, integrations,
    /// workflows) in one transaction and bumps its `config_version`.
    ///
    /// Integrations missing from `config` are deleted with their accounts;
    /// `deleted` holds one event for each of those accounts (their
    /// `credential.deleted`), recorded with their webhook deliveries in the
    /// same transaction. When the accounts removed are not exactly those
    /// the events are about, it is `Conflict` on
    /// [`REMOVED_ACCOUNTS_CHANGED`] and nothing changes.
    async fn apply_config(
        &self,
        project_id: Uuid,
        config: &ConfigWrite,
        deleted: &[NewEvent],
    ) -> StoreResult<Project>;

    /// The last applied configuration document (secrets masked), if any.
    async fn get_config_document(&self, project_id: Uuid)
    -> StoreResult<Option<serde_json::Value>>;

    /// The project's integrations, in the order they were first applied.
    async fn list_integrations(&self, project_id: Uuid) -> StoreResult<Vec<IntegrationRecord>>;
}

/// The secret keys a project's backend authenticates with.
#[async_trait]
pub trait SecretKeyStore: Send + Sync {
    /// Adds a secret key unless its project already has `max_active` active
    /// ones (`Conflict` on [`ACTIVE_KEY_LIMIT`]). The count is taken in the
    /// inserting transaction, so concurrent inserts never overshoot it.
    async fn insert_secret_key(
        &self,
        key: &NewSecretKeyRecord,
        max_active: usize,
    ) -> StoreResult<SecretKeyRecord>;

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
}

/// The end users of a project, as stored on their first request.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// The user, created (with empty meta) if this is their first request;
    /// `meta` given is merged key by key into the stored meta.
    async fn upsert_user(
        &self,
        project_id: Uuid,
        user_id: &str,
        meta: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> StoreResult<ConnectedUser>;

    async fn get_user(&self, project_id: Uuid, user_id: &str)
    -> StoreResult<Option<ConnectedUser>>;

    /// The project's users matching `filter`, by user id, with their account counts.
    async fn list_users(
        &self,
        project_id: Uuid,
        filter: &UserFilter,
    ) -> StoreResult<Vec<UserSummary>>;
}

/// Connected accounts (credentials) and their token lifecycle.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Creates a credential and its default configuration, with `events`.
    /// `Conflict` when the user already has the same `externalId` or
    /// `providerId` for the integration.
    async fn insert_credential(
        &self,
        credential: &NewCredential,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord>;

    /// Points an existing credential at a newly authorized account: new
    /// tokens, provider id and data, status `VALID`, failure count reset,
    /// version bumped; id and configuration unchanged. Records `events`.
    async fn replace_credential_account(
        &self,
        project_id: Uuid,
        id: Uuid,
        replacement: &AccountReplacement,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord>;

    async fn get_credential(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<CredentialRecord>>;

    /// Credentials of the project matching `filter`, oldest first.
    async fn list_credentials(
        &self,
        project_id: Uuid,
        filter: &CredentialFilter,
    ) -> StoreResult<Vec<CredentialRecord>>;

    /// How many accounts the project has, per integration and status.
    async fn count_credentials(&self, project_id: Uuid) -> StoreResult<Vec<CredentialCount>>;

    /// Applies `changes` to one credential and, if they name one, to one of its
    /// configurations; `NotFound` if either does not exist, `Conflict` if a new
    /// `externalId` is taken.
    async fn update_credential(
        &self,
        project_id: Uuid,
        id: Uuid,
        changes: &CredentialChanges,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord>;

    /// Adds a configuration to a credential, with `events`; `NotFound` if the credential
    /// does not exist, `Conflict` if its `externalId` is taken among the credential's.
    async fn insert_configuration(
        &self,
        project_id: Uuid,
        configuration: &NewConfiguration,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord>;

    /// Deletes one of a credential's configurations other than its default, with `events`;
    /// `NotFound` if there is no such configuration that is not the default.
    async fn delete_configuration(
        &self,
        project_id: Uuid,
        credential_id: Uuid,
        configuration_id: Uuid,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord>;

    /// Deletes a credential with its tokens and configuration, recording
    /// `events`. Answers the user whose account it was, so that caches
    /// forget that user alone.
    async fn delete_credential(
        &self,
        project_id: Uuid,
        id: Uuid,
        events: &[NewEvent],
    ) -> StoreResult<String>;

    /// Takes the refresh lease of a credential, if nobody holds it and the
    /// credential is still at `version`. The lease ends at `lease_until`
    /// unless released earlier by `complete_refresh` or
    /// `record_refresh_failure`.
    async fn claim_refresh(
        &self,
        project_id: Uuid,
        id: Uuid,
        version: i64,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<RefreshClaim>;

    /// Stores refreshed tokens, status `VALID`, failure count reset, version
    /// bumped, lease released — only if the credential is still at `version`
    /// (`Conflict` otherwise), so an older result never overwrites a newer
    /// one.
    async fn complete_refresh(
        &self,
        project_id: Uuid,
        id: Uuid,
        version: i64,
        tokens: &RefreshedTokens,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord>;

    /// Counts a failed refresh and releases the lease; a definitive failure
    /// makes the credential `INVALID`. `Conflict` if it moved past `version`.
    async fn record_refresh_failure(
        &self,
        project_id: Uuid,
        id: Uuid,
        version: i64,
        failure: &RefreshFailure,
        events: &[NewEvent],
    ) -> StoreResult<CredentialRecord>;

    /// Credentials whose `next_refresh_at` is before `before` and whose lease
    /// is free, soonest first, at most `limit`.
    async fn due_refreshes(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<DueRefresh>>;
}

/// Install sessions: one per connect attempt, from authorization URL to callback.
#[async_trait]
pub trait InstallSessionStore: Send + Sync {
    async fn create_install_session(&self, session: &NewInstallSession) -> StoreResult<()>;

    async fn get_install_session(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<InstallSession>>;

    /// Takes the pending session whose state has this hash, clearing the
    /// state so it can never be used again. `None` when no pending session
    /// has it (unknown, already used, or finished).
    async fn consume_install_state(&self, state_hash: &str) -> StoreResult<Option<InstallSession>>;

    /// Gives a pending session whose state was consumed a new one (its hash) and new sealed
    /// `secrets`, for a second step of the same install: the user's choice after the
    /// callback. `NotFound` if it is not pending or still has a state.
    async fn rearm_install_session(
        &self,
        id: Uuid,
        state_hash: &str,
        secrets: &[u8],
    ) -> StoreResult<()>;

    /// Marks a pending session complete (with its credential) or failed
    /// (with its error). `NotFound` if it is not pending.
    async fn finish_install_session(
        &self,
        id: Uuid,
        status: InstallStatus,
        credential_id: Option<Uuid>,
        error: Option<&str>,
    ) -> StoreResult<()>;
}

/// Applied workflows, their runs (Task History) and the job queue that carries them.
#[async_trait]
pub trait WorkflowStore: Send + Sync {
    async fn list_workflows(&self, project_id: Uuid) -> StoreResult<Vec<WorkflowRecord>>;

    /// Workflows of every project whose trigger is `trigger_type`
    /// (`schedule`), for the scheduler.
    async fn list_workflows_with_trigger(
        &self,
        trigger_type: &str,
    ) -> StoreResult<Vec<WorkflowRecord>>;

    /// Records a run, and with `job` the queue entry that carries it (queued,
    /// or already claimed by the caller), in one transaction. Returns `false`, writing nothing, when the job's
    /// dedupe key is already taken.
    async fn insert_execution(
        &self,
        execution: &NewExecution,
        job: Option<&NewJob>,
    ) -> StoreResult<bool>;

    /// Moves a queued (or interrupted) run to `RUNNING` from `started_at`,
    /// dropping any steps a previous attempt recorded. `NotFound` when the
    /// run is unknown or already final.
    async fn start_execution(
        &self,
        project_id: Uuid,
        id: Uuid,
        started_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Ends a run with its steps and `events` (`task.failed`), and marks the
    /// job that carried it done, all in one transaction — so a run is
    /// recorded final exactly when its job stops being claimable.
    async fn finish_execution(
        &self,
        project_id: Uuid,
        id: Uuid,
        outcome: &ExecutionOutcome,
        events: &[NewEvent],
        job: Option<Uuid>,
    ) -> StoreResult<()>;

    async fn get_execution(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<(ExecutionRecord, Vec<StepRecord>)>>;

    /// Runs of a project matching `filter`, newest first (oldest first when
    /// `filter.ascending`), at most `filter.limit`.
    async fn list_executions(
        &self,
        project_id: Uuid,
        filter: &ExecutionFilter,
    ) -> StoreResult<Vec<ExecutionRecord>>;

    /// How many runs of a project match `filter`, whatever its cursor,
    /// offset and limit.
    async fn count_executions(
        &self,
        project_id: Uuid,
        filter: &ExecutionFilter,
    ) -> StoreResult<i64>;

    /// The project's runs started since `since` that have ended, counted by the UTC hour they
    /// started in and by status, in one read; hours and statuses without runs are absent.
    async fn count_finished_executions_by_hour(
        &self,
        project_id: Uuid,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<ExecutionsInHour>>;

    /// Claims up to `limit` jobs of `kind` that are due, or whose previous
    /// claimant's lease ran out, for `worker` until `lease_until`. Each job
    /// is claimed by one caller, across replicas.
    async fn claim_jobs(
        &self,
        kind: &str,
        worker: &str,
        limit: i64,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Vec<JobRecord>>;

    /// Extends the lease of every job `worker` holds; returns how many.
    async fn extend_job_leases(&self, worker: &str, lease_until: DateTime<Utc>)
    -> StoreResult<u64>;

    /// Ends a job `worker` holds without a run to finish (the run was final
    /// already, or cannot start); `error` marks it failed.
    async fn finish_job(&self, id: Uuid, worker: &str, error: Option<&str>) -> StoreResult<()>;

    /// Puts every job `worker` holds back in the queue (graceful shutdown).
    async fn release_jobs(&self, worker: &str) -> StoreResult<u64>;

    /// Deletes jobs that ended before `before` (their runs stay in Task
    /// History); returns how many. Their dedupe keys become free again.
    async fn purge_finished_jobs(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// Jobs of `kind` waiting or claimed, for the queue-depth metric.
    async fn count_pending_jobs(&self, kind: &str) -> StoreResult<i64>;

    /// Records a provider's delivery and the runs it starts (each with the job that carries
    /// it) in one transaction. Returns `false`, writing nothing, when a delivery of the same
    /// integration already holds its `event_id`.
    async fn record_inbound_delivery(
        &self,
        delivery: &InboundDelivery,
        runs: &[(NewExecution, NewJob)],
    ) -> StoreResult<bool>;

    /// A project's deliveries matching `filter`, newest first, at most `filter.limit`.
    async fn list_inbound_deliveries(
        &self,
        project_id: Uuid,
        filter: &InboundFilter,
    ) -> StoreResult<Vec<InboundDelivery>>;

    /// Deletes deliveries received before `before`; returns how many. Their event ids are
    /// no longer recognised.
    async fn purge_inbound_deliveries(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// Events, live-stream notices, webhook endpoints and their deliveries.
///
/// Every write that records events (the `events` arguments of the other
/// aggregates) also queues one webhook delivery per enabled endpoint of the
/// project that wants it, in the same transaction, and announces the commit
/// to `event_notices` listeners (of every replica on PostgreSQL).
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Notices of committed events, for live streams and the webhook sender.
    fn event_notices(&self) -> tokio::sync::broadcast::Receiver<EventNotice>;

    /// Events of one user after `after_seq`, oldest first, at most `limit`.
    async fn list_user_events(
        &self,
        project_id: Uuid,
        user_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>>;

    /// The `seq` of the user's latest event, 0 when there is none: where a
    /// stream that does not resume starts.
    async fn last_user_event_seq(&self, project_id: Uuid, user_id: &str) -> StoreResult<i64>;

    /// Events of every user of a project after `after_seq`, oldest first, at
    /// most `limit`. A project's events commit in `seq` order on both
    /// backends, so a reader that resumes "after N" never skips one that
    /// commits later.
    async fn list_project_events(
        &self,
        project_id: Uuid,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>>;

    /// The `seq` of the project's latest event, 0 when there is none.
    async fn last_project_event_seq(&self, project_id: Uuid) -> StoreResult<i64>;

    async fn create_webhook_endpoint(
        &self,
        endpoint: &NewWebhookEndpoint,
    ) -> StoreResult<WebhookEndpointRecord>;

    async fn list_webhook_endpoints(
        &self,
        project_id: Uuid,
    ) -> StoreResult<Vec<WebhookEndpointRecord>>;

    async fn get_webhook_endpoint(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<WebhookEndpointRecord>>;

    /// Disables (no new deliveries are queued, pending ones wait) or enables
    /// an endpoint. `NotFound` for an unknown endpoint.
    async fn set_webhook_endpoint_disabled(
        &self,
        project_id: Uuid,
        id: Uuid,
        disabled: bool,
    ) -> StoreResult<WebhookEndpointRecord>;

    /// Replaces an endpoint's signing secret (sealed to its row): deliveries
    /// claimed from then on carry the new one. `NotFound` for an unknown
    /// endpoint.
    async fn set_webhook_endpoint_secret(
        &self,
        project_id: Uuid,
        id: Uuid,
        secret: &[u8],
    ) -> StoreResult<WebhookEndpointRecord>;

    /// Deletes an endpoint and its deliveries. `NotFound` for an unknown one.
    async fn delete_webhook_endpoint(&self, project_id: Uuid, id: Uuid) -> StoreResult<()>;

    /// Claims up to `limit` deliveries due at `now` until `lease_until`, so
    /// that no other replica attempts them meanwhile. Only the oldest pending
    /// delivery of each account (credential, else user) per endpoint is due:
    /// an endpoint receives one account's events in order.
    async fn claim_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedDelivery>>;

    /// Records an attempt and releases the claim.
    async fn record_delivery_attempt(&self, id: Uuid, outcome: &DeliveryOutcome)
    -> StoreResult<()>;

    /// The delivery log of one endpoint, newest event first.
    async fn list_webhook_deliveries(
        &self,
        project_id: Uuid,
        endpoint_id: Uuid,
        filter: &DeliveryFilter,
    ) -> StoreResult<Vec<WebhookDeliveryRecord>>;

    /// Queues a delivery again from now, with a fresh retry window.
    /// `NotFound` unless it belongs to an endpoint of this project.
    async fn replay_webhook_delivery(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> StoreResult<WebhookDeliveryRecord>;
}

/// Data keys of the encryption envelope and the sealed columns they open.
#[async_trait]
pub trait DataKeyStore: Send + Sync {
    /// Data keys of the encryption envelope, oldest first.
    async fn list_data_keys(&self) -> StoreResult<Vec<DataKeyRecord>>;

    async fn insert_data_key(&self, key: &WrappedDataKey) -> StoreResult<DataKeyRecord>;

    /// Adds a data key on standby: stored retired, so keyrings load it to
    /// open ciphertexts but nothing is sealed with it until
    /// [`Store::activate_data_key`]. Key rotation publishes a key this way
    /// first, so no server meets a ciphertext under a key it has not loaded.
    async fn insert_standby_data_key(&self, key: &WrappedDataKey) -> StoreResult<DataKeyRecord>;

    /// Clears `retired_at` of a data key, making it eligible to seal (the
    /// newest such key is the active one). `NotFound` for an unknown key.
    async fn activate_data_key(&self, id: Uuid) -> StoreResult<()>;

    /// Retires every data key except `id` that is not retired yet; returns
    /// how many. Retired keys still open ciphertexts; they never seal.
    async fn retire_data_keys_except(&self, id: Uuid) -> StoreResult<u64>;

    /// Non-null values of a sealed column with a row id after `after`, in id
    /// order, at most `limit`: a page of a full scan.
    async fn list_sealed(
        &self,
        column: SealedColumn,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<SealedValue>>;

    /// Replaces the sealed value of row `record_id` with `new`, only if it is
    /// still exactly `old` (compare-and-swap); nothing else of the row
    /// changes. Returns whether it was replaced.
    async fn swap_sealed(
        &self,
        column: SealedColumn,
        record_id: Uuid,
        old: &[u8],
        new: &[u8],
    ) -> StoreResult<bool>;
}
