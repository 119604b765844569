//! Loads the encryption keyring at start-up.

use patchbay_core::crypto::{CryptoError, Keyring, MasterKey};
use patchbay_store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("could not read or create data keys: {0}")]
    Store(#[from] StoreError),
}

/// Unwraps every data key with the master key, creating the first data key on
/// a new database. The newest key that is not retired encrypts from now on.
///
/// Fails when the master key cannot open a stored data key, so a wrong key is
/// caught before a single request is served.
pub async fn load_keyring(store: &dyn Store, master: &MasterKey) -> Result<Keyring, KeyringError> {
    let mut stored = store.list_data_keys().await?;
    if stored.is_empty() {
        // Two replicas starting on an empty database may both get here; each
        // then adds a key, and both keys stay valid, so the race is harmless.
        store.insert_data_key(&master.generate_data_key()).await?;
        stored = store.list_data_keys().await?;
    }
    let active = stored
        .iter()
        .rev()
        .find(|key| key.retired_at.is_none())
        .map(|key| key.key.id)
        .ok_or(CryptoError::NoActiveKey)?;
    let wrapped: Vec<_> = stored.into_iter().map(|record| record.key).collect();
    Ok(Keyring::unwrap(master, &wrapped, active)?)
}
