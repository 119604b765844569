//! The one way to get a usable access token for a credential (docs/api.md, token
//! lifecycle): refreshed when it is about to expire or when forced, with
//! exactly one refresh per expiry.
//!
//! Exactly one: inside a process, callers for the same credential queue on
//! one gate; across replicas, the store's refresh lease (a conditional
//! UPDATE on the credential row) lets one caller refresh while the others
//! wait for the version to move. Results are written with a version check,
//! so an older refresh never overwrites a newer one, and the rotated refresh
//! token is stored before the new access token is handed out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use patchbay_api::CredentialEventDetail;
use patchbay_config::{ClientCredentialsAuth, JwtBearerAuth, ProviderAuth};
use patchbay_oauth::{
    AccountAuth, ClientCredentials, KeyFileError, OAuthError, ServiceAccountKey, TemplateContext,
};
use patchbay_store::{
    CredentialRecord, CredentialStatus, RefreshClaim, RefreshFailure, RefreshedTokens, StoreError,
    now,
};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

use patchbay_core::crypto::Keyring;
use patchbay_store::Store;

use crate::error::{EngineError, EngineResult};
use crate::events::{self, CredentialChange, Subject};
use crate::metrics::Metrics;
use crate::runtime::Integration;
use crate::secrets::{self, CredentialSecrets};
use crate::user_object;

/// Longest a refresh may hold the lease: the provider's total timeout plus
/// slack for the store writes.
const LEASE_SLACK: chrono::Duration = chrono::Duration::seconds(2);
/// Longest lead before expiry at which a token is renewed.
const MAX_LEAD: chrono::Duration = chrono::Duration::minutes(5);
/// How often a caller waiting on another replica's refresh looks again.
const WAIT_STEP: Duration = Duration::from_millis(25);
/// Backoff after a transient failure: doubling from here, capped.
const BACKOFF_BASE_SECONDS: i64 = 5;
const BACKOFF_MAX_SECONDS: i64 = 15 * 60;

/// In-process gates, one per credential being refreshed.
#[derive(Debug, Default)]
pub struct RefreshGates {
    gates: Mutex<HashMap<uuid::Uuid, Arc<tokio::sync::Mutex<()>>>>,
}

impl RefreshGates {
    fn gate(&self, id: uuid::Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self
            .gates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Gates nobody waits on any more are dropped, so the map stays small.
        gates.retain(|_, gate| Arc::strong_count(gate) > 1);
        Arc::clone(gates.entry(id).or_default())
    }
}

/// How long before `valid_until` a token counts as due: a quarter of its
/// lifetime, at most five minutes, so short-lived tokens are not refreshed
/// on every use.
pub fn lead(refreshed_at: Option<DateTime<Utc>>, valid_until: DateTime<Utc>) -> chrono::Duration {
    let lifetime = refreshed_at.map_or(MAX_LEAD * 4, |issued| valid_until - issued);
    (lifetime / 4).clamp(chrono::Duration::zero(), MAX_LEAD)
}

/// When the background refresher should renew tokens valid until
/// `valid_until` and issued now.
pub fn next_refresh_at(valid_until: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    valid_until.map(|until| until - lead(Some(now()), until))
}

fn fresh(credential: &CredentialRecord) -> bool {
    match credential.valid_until {
        None => true,
        Some(until) => until - now() > lead(credential.refreshed_at, until),
    }
}

/// What a renewal or check that cannot reach the provider (a transient failure) answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transient {
    /// The account as it stands, its current token while it lasts: a retry is scheduled
    /// and the caller goes on.
    Tolerate,
    /// The failure: the caller asked for a check now, and the check told nothing.
    Report,
}

/// A usable access token and the credential as it now stands.
#[derive(Debug)]
pub struct AccessToken {
    pub token: SecretString,
    pub credential: CredentialRecord,
}

/// The token lifecycle of every account: what it needs and nothing more.
#[derive(Debug, Clone)]
pub struct Tokens {
    store: Arc<dyn Store>,
    keyring: Arc<Keyring>,
    oauth: patchbay_oauth::Client,
    gates: Arc<RefreshGates>,
    metrics: Arc<Metrics>,
    /// The longest a provider request may take: a lease covers one.
    provider_timeout: Duration,
    /// How often API-key and basic-auth accounts are checked again.
    credential_check_interval: Duration,
}

fn credential_invalid(credential: &CredentialRecord) -> EngineError {
    EngineError::CredentialInvalid {
        credential_id: credential.id,
    }
}

impl Tokens {
    pub fn new(
        store: Arc<dyn Store>,
        keyring: Arc<Keyring>,
        metrics: Arc<Metrics>,
        provider_timeouts: patchbay_oauth::Timeouts,
        credential_check_interval: Duration,
    ) -> Self {
        Self {
            store,
            keyring,
            oauth: patchbay_oauth::Client::new(provider_timeouts),
            gates: Arc::default(),
            metrics,
            provider_timeout: provider_timeouts.total,
            credential_check_interval,
        }
    }

    /// Talks to providers: token exchange, account identification.
    pub fn oauth(&self) -> &patchbay_oauth::Client {
        &self.oauth
    }

    /// Until when a refresh or check starting now may hold a credential's lease.
    fn lease_until(&self) -> DateTime<Utc> {
        now() + chrono::Duration::from_std(self.provider_timeout).unwrap_or(MAX_LEAD) + LEASE_SLACK
    }

    /// A usable access token for `credential`, refreshing it first when it is
    /// due, or whatever its state when `force` (the provider just refused it).
    pub async fn access_token(
        &self,
        integration: &Integration,
        credential: CredentialRecord,
        force: bool,
    ) -> EngineResult<AccessToken> {
        if credential.status == CredentialStatus::Invalid {
            return Err(credential_invalid(&credential));
        }
        if !force && fresh(&credential) {
            return self.usable(credential);
        }
        // Out of line: the renewal's state (a provider call, store writes) is
        // large, and inline it would grow every proxied request's future, which
        // almost never needs it.
        Box::pin(self.renew(integration, credential, force, Transient::Tolerate)).await
    }

    /// [`access_token`] for a credential that is due or refused: one refresh
    /// per expiry, whoever asks, in this process or another.
    async fn renew(
        &self,
        integration: &Integration,
        credential: CredentialRecord,
        force: bool,
        transient: Transient,
    ) -> EngineResult<AccessToken> {
        let gate = self.gates.gate(credential.id);
        let _turn = gate.lock().await;
        let seen_version = credential.version;
        let mut current = self.reread(&credential).await?;
        loop {
            if current.status == CredentialStatus::Invalid {
                return Err(credential_invalid(&current));
            }
            // Someone refreshed while we waited: that refresh is ours too.
            let moved_on = current.version != seen_version;
            if fresh(&current) && (moved_on || !force) {
                return self.usable(current);
            }
            let lease_until = self.lease_until();
            match self
                .store
                .credentials()
                .claim_refresh(current.project_id, current.id, current.version, lease_until)
                .await?
            {
                RefreshClaim::Claimed(claimed) => {
                    return self.refresh(integration, claimed, transient).await;
                }
                RefreshClaim::Stale(moved) => current = moved,
                RefreshClaim::Busy => {
                    tokio::time::sleep(WAIT_STEP).await;
                    current = self.reread(&current).await?;
                }
            }
        }
    }

    /// Stores a renewal (fresh tokens, or an account that passed its check)
    /// under the lease this caller holds, and records the account `VALID`
    /// again (for `reason`) when it ends a run of failures.
    async fn store_renewal(
        &self,
        integration: &Integration,
        credential: &CredentialRecord,
        renewal: &RefreshedTokens,
        reason: &str,
    ) -> EngineResult<Renewal> {
        let recorded = match credential.refresh_failure_count {
            0 => Vec::new(),
            _ => vec![status_event(
                integration,
                credential,
                CredentialStatus::Valid,
                reason,
            )],
        };
        let stored = self
            .store
            .credentials()
            .complete_refresh(
                credential.project_id,
                credential.id,
                credential.version,
                renewal,
                &recorded,
            )
            .await;
        match stored {
            Ok(updated) => Ok(Renewal::Ours(updated)),
            // Our lease ran out and someone else renewed: theirs wins.
            Err(StoreError::Conflict { .. }) => Ok(Renewal::Theirs(self.reread(credential).await?)),
            Err(err) => Err(err.into()),
        }
    }

    async fn reread(&self, credential: &CredentialRecord) -> EngineResult<CredentialRecord> {
        self.store
            .credentials()
            .get_credential(credential.project_id, credential.id)
            .await?
            .ok_or(EngineError::CredentialNotFound)
    }

    fn open_secrets(&self, credential: &CredentialRecord) -> EngineResult<CredentialSecrets> {
        let sealed = credential
            .secrets
            .as_deref()
            .ok_or_else(|| credential_invalid(credential))?;
        CredentialSecrets::open(&self.keyring, credential.project_id, credential.id, sealed).map_err(|err| {
        tracing::error!(credential = %credential.id, %err, "credential secrets cannot be opened");
        EngineError::Internal("credential secrets cannot be opened")
    })
    }

    fn usable(&self, credential: CredentialRecord) -> EngineResult<AccessToken> {
        let secrets = self.open_secrets(&credential)?;
        let token = secrets
            .access_token
            .clone()
            .ok_or_else(|| credential_invalid(&credential))?;
        Ok(AccessToken {
            token: SecretString::from(token),
            credential,
        })
    }

    /// Refreshes a credential whose lease this caller holds.
    async fn refresh(
        &self,
        integration: &Integration,
        credential: CredentialRecord,
        transient: Transient,
    ) -> EngineResult<AccessToken> {
        let secrets = self.open_secrets(&credential)?;
        let ctx = template_context(&credential.account_vars);
        let granted = match &integration.provider_of(&credential.account_vars).auth {
            ProviderAuth::OAuth2(auth) => {
                let Some(refresh_token) = secrets.refresh_token.clone() else {
                    return self
                        .fail(
                            integration,
                            credential,
                            &OAuthError::Rejected { status: 400 },
                            transient,
                        )
                        .await;
                };
                let client_secret = match &integration.client_secret {
                    Some(sealed) => secrets::open_str(
                        &self.keyring,
                        credential.project_id,
                        integration.id,
                        secrets::CLIENT_SECRET,
                        sealed,
                    )
                    .map_err(|_| EngineError::Internal("the client secret cannot be opened"))?,
                    None => Default::default(),
                };
                let client = ClientCredentials {
                    id: integration.config.client_id.clone().unwrap_or_default(),
                    secret: SecretString::from(client_secret.as_str().to_owned()),
                };
                self.oauth
                    .refresh(auth, &client, &refresh_token, &ctx)
                    .await
            }
            // No refresh token: the client's own credentials, kept with the account, are
            // granted a new token.
            ProviderAuth::OAuth2ClientCredentials(auth) => {
                let client = client_of(auth, &secrets);
                let ctx = TemplateContext {
                    credentials: secrets.fields.clone(),
                    ..ctx
                };
                self.oauth.client_credentials(auth, &client, &ctx).await
            }
            // A new assertion, signed with the key file kept with the account.
            ProviderAuth::JwtBearer(auth) => match service_account_of(&secrets) {
                Ok((key, subject)) => {
                    self.oauth
                        .jwt_bearer(auth, &key, subject.as_deref(), &ctx)
                        .await
                }
                Err(err) => Err(err.into()),
            },
            ProviderAuth::ApiKey(_) | ProviderAuth::Basic(_) => return self.usable(credential),
        };
        match granted {
            Ok(tokens) => {
                self.metrics.count_refresh("succeeded");
                let renewed = CredentialSecrets {
                    access_token: Some(tokens.access_token.expose_secret().to_owned()),
                    // Providers that do not rotate keep the refresh token valid.
                    refresh_token: tokens
                        .refresh_token
                        .as_ref()
                        .map(|t| t.expose_secret().to_owned())
                        .or(secrets.refresh_token),
                    // A client-credentials account's client id and secret, a JWT-bearer
                    // account's key file, stay.
                    fields: secrets.fields,
                };
                let valid_until = tokens
                    .expires_in
                    .map(|seconds| now() + chrono::Duration::seconds(seconds));
                let stored = RefreshedTokens {
                    secrets: renewed.seal(&self.keyring, credential.project_id, credential.id),
                    valid_until,
                    next_refresh_at: next_refresh_at(valid_until),
                };
                match self
                    .store_renewal(integration, &credential, &stored, "refreshed")
                    .await?
                {
                    Renewal::Ours(updated) => Ok(AccessToken {
                        token: SecretString::from(renewed.access_token.clone().unwrap_or_default()),
                        credential: updated,
                    }),
                    Renewal::Theirs(current) => self.usable(current),
                }
            }
            Err(err) => self.fail(integration, credential, &err, transient).await,
        }
    }

    /// Accounts for a failed refresh. A definitive refusal may only mean that
    /// another replica rotated the refresh token a moment ago: if the row moved,
    /// its tokens are used instead of giving up.
    async fn fail(
        &self,
        integration: &Integration,
        credential: CredentialRecord,
        err: &OAuthError,
        transient: Transient,
    ) -> EngineResult<AccessToken> {
        let failed = match self.record_failure(integration, &credential, err).await? {
            Recorded::Superseded(current) => return self.usable(current),
            Recorded::Failed(failed) => failed,
        };
        if err.is_definitive() {
            return Err(credential_invalid(&failed));
        }
        if transient == Transient::Report {
            return Err(EngineError::Provider(err.clone()));
        }
        // A transient failure keeps the account usable while its token lasts.
        if failed.valid_until.is_some_and(|until| until > now()) {
            return self.usable(failed);
        }
        Err(EngineError::RenewalFailed)
    }

    async fn record_failure(
        &self,
        integration: &Integration,
        credential: &CredentialRecord,
        err: &OAuthError,
    ) -> EngineResult<Recorded> {
        let current = self.reread(credential).await?;
        if current.version != credential.version {
            return Ok(Recorded::Superseded(current));
        }
        let definitive = err.is_definitive();
        self.metrics
            .count_refresh_failure(credential.project_id, integration.id, definitive);
        let backoff = BACKOFF_BASE_SECONDS
            .saturating_mul(1_i64 << credential.refresh_failure_count.clamp(0, 16))
            .min(BACKOFF_MAX_SECONDS);
        let retry_at = err
            .retry_after()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map_or_else(
                || now() + chrono::Duration::seconds(backoff),
                |after| now() + after,
            );
        let failure = RefreshFailure {
            definitive,
            retry_at: Some(retry_at),
        };
        let recorded = if definitive {
            vec![status_event(
                integration,
                credential,
                CredentialStatus::Invalid,
                &err.to_string(),
            )]
        } else {
            Vec::new()
        };
        let failed = match self
            .store
            .credentials()
            .record_refresh_failure(
                credential.project_id,
                credential.id,
                credential.version,
                &failure,
                &recorded,
            )
            .await
        {
            Ok(failed) => failed,
            Err(StoreError::Conflict { .. }) => {
                return Ok(Recorded::Superseded(self.reread(credential).await?));
            }
            Err(store_err) => return Err(store_err.into()),
        };
        tracing::warn!(credential = %credential.id, definitive, error = %err, "token refresh failed");
        Ok(Recorded::Failed(failed))
    }

    /// Checks an API-key or basic-auth account with its provider's verification
    /// request, as the background refresher does every
    /// `credential_check_interval`: a refusal marks the account
    /// `INVALID` (with an event), a transient failure retries with backoff, and
    /// success schedules the next check. Another replica checking the same
    /// account at the same moment makes this a no-op.
    pub async fn reverify(
        &self,
        integration: &Integration,
        credential: CredentialRecord,
    ) -> EngineResult<CredentialRecord> {
        self.verify(integration, credential, Transient::Tolerate)
            .await
    }

    /// Checks an account with its provider now, for whoever administers it: an account with
    /// access tokens is renewed (forced, through the same gate and lease as every renewal, so
    /// it is still one refresh however many ask), an API-key or basic-auth account sends its
    /// verification request (when its definition has one). Answers the account as it then
    /// stands: `VALID`, or `INVALID` when the provider refused it (recorded with its event).
    /// A provider that could not be reached is the error, since the check told nothing.
    pub async fn check(
        &self,
        integration: &Integration,
        credential: CredentialRecord,
    ) -> EngineResult<CredentialRecord> {
        let uses_access_tokens = integration
            .provider_of(&credential.account_vars)
            .auth
            .uses_access_tokens();
        if !uses_access_tokens {
            return self
                .verify(integration, credential, Transient::Report)
                .await;
        }
        match self
            .renew(integration, credential.clone(), true, Transient::Report)
            .await
        {
            Ok(renewed) => Ok(renewed.credential),
            // Refused now or before: the account as the refusal left it.
            Err(EngineError::CredentialInvalid { .. }) => self.reread(&credential).await,
            Err(err) => Err(err),
        }
    }

    /// [`Self::reverify`], or a check now ([`Self::check`]) when a transient failure is
    /// reported.
    async fn verify(
        &self,
        integration: &Integration,
        credential: CredentialRecord,
        transient: Transient,
    ) -> EngineResult<CredentialRecord> {
        let provider = integration.provider_of(&credential.account_vars);
        if provider.verify.is_none() || credential.status == CredentialStatus::Invalid {
            return Ok(credential);
        }
        let lease_until = self.lease_until();
        let credential = match self
            .store
            .credentials()
            .claim_refresh(
                credential.project_id,
                credential.id,
                credential.version,
                lease_until,
            )
            .await?
        {
            RefreshClaim::Claimed(claimed) => claimed,
            RefreshClaim::Stale(current) => return Ok(current),
            RefreshClaim::Busy => return Ok(credential),
        };
        let secrets = self.open_secrets(&credential)?;
        let mut ctx = template_context(&credential.account_vars);
        ctx.credentials = secrets.fields;
        let auth = match provider.auth {
            ProviderAuth::Basic(_) => AccountAuth::Basic,
            _ => AccountAuth::ApiKey,
        };
        match self.oauth.verify_credentials(provider, &auth, &ctx).await {
            Ok(()) => {
                self.metrics.count_refresh("succeeded");
                let next_check = chrono::Duration::from_std(self.credential_check_interval)
                    .unwrap_or(chrono::Duration::hours(6));
                let checked = RefreshedTokens {
                    secrets: credential.secrets.clone().unwrap_or_default(),
                    valid_until: None,
                    next_refresh_at: Some(now() + next_check),
                };
                match self
                    .store_renewal(integration, &credential, &checked, "verified")
                    .await?
                {
                    Renewal::Ours(current) | Renewal::Theirs(current) => Ok(current),
                }
            }
            Err(err) => match self.record_failure(integration, &credential, &err).await? {
                Recorded::Failed(_) if transient == Transient::Report && !err.is_definitive() => {
                    Err(EngineError::Provider(err))
                }
                Recorded::Superseded(current) | Recorded::Failed(current) => Ok(current),
            },
        }
    }
}

/// Whose renewal an account holds once this caller's is stored.
enum Renewal {
    /// This caller's.
    Ours(CredentialRecord),
    /// Another caller's, made after this caller's lease ran out.
    Theirs(CredentialRecord),
}

/// What recording a failed refresh or verification found.
enum Recorded {
    /// Another caller changed the row meanwhile; its state stands.
    Superseded(CredentialRecord),
    /// The failure is counted: a definitive one made the account `INVALID`
    /// (with an event), a transient one scheduled a retry with backoff.
    Failed(CredentialRecord),
}

fn status_event(
    integration: &Integration,
    credential: &CredentialRecord,
    status: CredentialStatus,
    reason: &str,
) -> patchbay_store::NewEvent {
    events::credential_event(
        Subject::of(credential, &integration.config.type_name),
        CredentialChange::StatusChanged,
        CredentialEventDetail {
            status: Some(user_object::status(status)),
            previous_status: Some(user_object::status(credential.status)),
            reason: Some(reason.to_owned()),
            ..Default::default()
        },
    )
}

/// The client a client-credentials account was connected with, from its sealed fields.
pub fn client_of(auth: &ClientCredentialsAuth, secrets: &CredentialSecrets) -> ClientCredentials {
    let (id_field, secret_field) = auth.field_ids();
    let text = |name: &str| {
        secrets
            .fields
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    ClientCredentials::new(text(id_field), text(secret_field))
}

/// The key file a JWT-bearer account was connected with, and the user it acts for, from its
/// sealed fields.
pub fn service_account_of(
    secrets: &CredentialSecrets,
) -> Result<(ServiceAccountKey, Option<String>), KeyFileError> {
    let key_file = secrets
        .fields
        .get(JwtBearerAuth::KEY_FILE)
        .unwrap_or(&Value::Null);
    let subject = secrets
        .fields
        .get(JwtBearerAuth::SUBJECT)
        .and_then(Value::as_str)
        .filter(|subject| !subject.is_empty())
        .map(str::to_owned);
    Ok((ServiceAccountKey::parse(key_file)?, subject))
}

/// The template values stored with the credential when it was connected.
pub fn template_context(account_vars: &Value) -> TemplateContext {
    let section = |name: &str| {
        account_vars
            .get(name)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    TemplateContext {
        connection: section("connection"),
        token: section("token"),
        callback: section("callback"),
        vars: section("vars"),
        // A JWT-bearer account's public key-file members; the fields of other kinds are
        // sealed, and opened by whoever needs them.
        credentials: section("credentials"),
    }
}
