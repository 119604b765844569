//! The encryption keyring: loaded at start-up, kept in step with the
//! `data_keys` table while serving, and rotated online.
//!
//! Rotation (`patchbay keys rotate`) runs in three steps so that no running
//! server ever meets a ciphertext it cannot open:
//!
//! 1. the new data key is stored on *standby* (retired, so nobody seals with
//!    it); every server's reloader ([`spawn_keyring_reloader`]) picks it up
//!    within [`KEYRING_RELOAD_INTERVAL`] and can then open what it seals;
//! 2. after a settle delay it is *activated*: servers switch to sealing with
//!    it at their next reload; after another settle delay every sealed column
//!    is re-encrypted under it with compare-and-swap writes, pass after pass
//!    until a full pass finds no ciphertext under another key;
//! 3. every other key is retired. Retired keys stay loaded and readable, they
//!    never seal again.

use std::sync::Arc;
use std::time::Duration;

use patchbay_core::crypto::{Aad, CryptoError, Keyring, MasterKey, key_id_of};
use patchbay_store::{DataKeyRecord, SealedColumn, Store, StoreError};
use uuid::Uuid;

use crate::secrets;

/// How often every server re-reads the data keys.
pub const KEYRING_RELOAD_INTERVAL: Duration = Duration::from_secs(2);

/// How long key rotation waits after publishing a key, so that every server
/// has reloaded: two reload intervals and a margin.
pub const ROTATION_SETTLE: Duration = Duration::from_secs(5);

/// Full passes over the sealed columns before rotation gives up: each pass
/// only has to redo rows rewritten concurrently by a server that had not yet
/// switched keys.
const MAX_PASSES: u32 = 10;
/// Rows read per page of a pass.
const PAGE: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("could not read or create data keys: {0}")]
    Store(#[from] StoreError),
    #[error("the sealed value of {column} row {record_id} cannot be opened: {source}")]
    Unreadable {
        column: String,
        record_id: Uuid,
        source: CryptoError,
    },
    #[error(
        "{remaining} sealed value(s) still use an older data key after {MAX_PASSES} passes; \
         run the rotation again"
    )]
    StillInUse { remaining: u64 },
    #[error(
        "data key {expected} was not the active key after activation (another rotation ran at the same time?)"
    )]
    ConcurrentRotation { expected: Uuid },
}

/// The key new secrets are sealed with: the newest one that is not retired.
fn active_key(stored: &[DataKeyRecord]) -> Option<Uuid> {
    stored
        .iter()
        .rev()
        .find(|key| key.retired_at.is_none())
        .map(|key| key.key.id)
}

/// Unwraps every data key with the master key, creating the first data key on
/// a new database. The newest key that is not retired encrypts from now on.
///
/// Fails when the master key cannot open a stored data key, so a wrong key is
/// caught before a single request is served.
pub async fn load_keyring(store: &dyn Store, master: &MasterKey) -> Result<Keyring, KeyringError> {
    let mut stored = store.data_keys().list_data_keys().await?;
    if stored.is_empty() {
        // Two replicas starting on an empty database may both get here; each
        // then adds a key, and both keys stay valid, so the race is harmless.
        store
            .data_keys()
            .insert_data_key(&master.generate_data_key())
            .await?;
        stored = store.data_keys().list_data_keys().await?;
    }
    let active = active_key(&stored).ok_or(CryptoError::NoActiveKey)?;
    let wrapped: Vec<_> = stored.into_iter().map(|record| record.key).collect();
    Ok(Keyring::unwrap(master, &wrapped, active)?)
}

/// Brings a loaded keyring in step with the stored data keys: takes in new
/// keys and switches to the newest non-retired one. Returns whether anything
/// changed.
pub async fn reload_keyring(
    store: &dyn Store,
    master: &MasterKey,
    keyring: &Keyring,
) -> Result<bool, KeyringError> {
    let stored = store.data_keys().list_data_keys().await?;
    let active = active_key(&stored).ok_or(CryptoError::NoActiveKey)?;
    let wrapped: Vec<_> = stored.into_iter().map(|record| record.key).collect();
    Ok(keyring.update(master, &wrapped, active)?)
}

/// Reloads the server's keyring every [`KEYRING_RELOAD_INTERVAL`], so a
/// rotated data key is used without a restart. Abort the handle to stop it.
pub fn spawn_keyring_reloader(
    store: Arc<dyn Store>,
    keyring: Arc<Keyring>,
    master: MasterKey,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(KEYRING_RELOAD_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match reload_keyring(store.as_ref(), &master, &keyring).await {
                Ok(true) => tracing::info!(
                    active = %keyring.active_key_id(),
                    "keyring reloaded: new data keys taken in"
                ),
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "could not reload the keyring"),
            }
        }
    })
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The data key that seals from now on.
    pub new_key: Uuid,
    /// Sealed values rewritten under the new key.
    pub reencrypted: u64,
    /// Data keys retired by this rotation.
    pub retired: u64,
    /// Full passes over the sealed columns, the last one finding nothing.
    pub passes: u32,
}

/// Rotates the data key online (see the module documentation): a new key
/// seals from now on, every stored secret is re-encrypted under it, and every
/// older key is retired. `settle` is how long to wait for running servers to
/// reload their keyrings ([`ROTATION_SETTLE`] for servers of this version).
///
/// Safe to re-run after a crash: a new run supersedes the interrupted one and
/// re-encrypts whatever does not use its own key.
pub async fn rotate_data_key(
    store: &dyn Store,
    master: &MasterKey,
    settle: Duration,
) -> Result<RotationReport, KeyringError> {
    // Checks the master key against every stored key before changing anything.
    load_keyring(store, master).await?;
    let new = master.generate_data_key();
    store.data_keys().insert_standby_data_key(&new).await?;
    tracing::info!(key = %new.id, ?settle, "new data key on standby; waiting for servers to load it");
    tokio::time::sleep(settle).await;
    store.data_keys().activate_data_key(new.id).await?;
    tracing::info!(key = %new.id, ?settle, "new data key active; waiting for servers to switch to it");
    tokio::time::sleep(settle).await;

    let keyring = load_keyring(store, master).await?;
    if keyring.active_key_id() != new.id {
        return Err(KeyringError::ConcurrentRotation { expected: new.id });
    }
    let mut reencrypted = 0;
    let mut passes = 0;
    loop {
        if passes == MAX_PASSES {
            let remaining = reencrypt_pass(store, &keyring, new.id, false).await?.found;
            return Err(KeyringError::StillInUse { remaining });
        }
        passes += 1;
        let pass = reencrypt_pass(store, &keyring, new.id, true).await?;
        reencrypted += pass.swapped;
        tracing::info!(
            pass = passes,
            found = pass.found,
            reencrypted = pass.swapped,
            "re-encryption pass"
        );
        if pass.found == 0 {
            break;
        }
    }
    let retired = store.data_keys().retire_data_keys_except(new.id).await?;
    Ok(RotationReport {
        new_key: new.id,
        reencrypted,
        retired,
        passes,
    })
}

/// The associated-data field of each sealed column.
fn field_of(column: SealedColumn) -> &'static str {
    match column {
        SealedColumn::CredentialSecrets => secrets::CREDENTIAL_SECRETS,
        SealedColumn::IntegrationClientSecret => secrets::CLIENT_SECRET,
        SealedColumn::IntegrationWebhookSecret => secrets::INTEGRATION_WEBHOOK_SECRET,
        SealedColumn::InstallSessionSecrets => secrets::INSTALL_SESSION_SECRETS,
        SealedColumn::WebhookEndpointSecret => secrets::WEBHOOK_SECRET,
        SealedColumn::ConfigurationSettings => secrets::CONFIGURATION_SETTINGS,
    }
}

#[derive(Debug, Default)]
struct Pass {
    /// Values found under another key than the active one.
    found: u64,
    /// Of those, rewritten under the active key.
    swapped: u64,
}

/// One full scan of every sealed column; rewrites (when `rewrite`) each value
/// not sealed with `active`. A value changed since it was read is left alone:
/// whoever changed it sealed it afresh, and the next pass looks at it again.
async fn reencrypt_pass(
    store: &dyn Store,
    keyring: &Keyring,
    active: Uuid,
    rewrite: bool,
) -> Result<Pass, KeyringError> {
    let mut pass = Pass::default();
    for column in SealedColumn::ALL {
        let field = field_of(column);
        let mut after = None;
        loop {
            let page = store.data_keys().list_sealed(column, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.record_id);
            for value in &page {
                let unreadable = |source| KeyringError::Unreadable {
                    column: column.name(),
                    record_id: value.record_id,
                    source,
                };
                if key_id_of(&value.ciphertext).map_err(unreadable)? == active {
                    continue;
                }
                pass.found += 1;
                if !rewrite {
                    continue;
                }
                let record_id = value.record_id.to_string();
                let aad = Aad {
                    project_id: value.project_id,
                    record_id: &record_id,
                    field,
                };
                let plain = keyring
                    .decrypt(aad, &value.ciphertext)
                    .map_err(unreadable)?;
                let sealed = keyring.encrypt(aad, &plain);
                if store
                    .data_keys()
                    .swap_sealed(column, value.record_id, &value.ciphertext, &sealed)
                    .await?
                {
                    pass.swapped += 1;
                }
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }
    }
    Ok(pass)
}
