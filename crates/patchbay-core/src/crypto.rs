//! Envelope encryption of secrets at rest (docs/api.md).
//!
//! A 256-bit **master key** (from `PATCHBAY_MASTER_KEY` or a key file) never
//! encrypts user data itself: it wraps **data keys**, which are stored in the
//! database and do the actual encryption. Rotating a data key therefore
//! re-encrypts rows with a key the database already holds, online, without
//! touching the master key.
//!
//! Every ciphertext is self-describing:
//!
//! ```text
//! [version: 1 byte = 1][data key id: 16 bytes][nonce: 12 bytes][AES-256-GCM ciphertext + tag]
//! ```
//!
//! and is sealed with associated data naming the project, the record and the
//! field it belongs to ([`Aad`]). A ciphertext copied into another row, another
//! project or another column fails authentication instead of decrypting.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore as _;
use rand::rngs::OsRng;
use uuid::Uuid;
use zeroize::Zeroizing;

const FORMAT_VERSION: u8 = 1;
const KEY_ID_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// Why a key could not be loaded or a ciphertext could not be opened.
///
/// Messages never contain key material or plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error(
        "the master key must be 32 bytes, given as base64 (44 characters) or hex (64 characters)"
    )]
    MalformedMasterKey,
    #[error(
        "the master key does not match the one this database was encrypted with \
         (data key {0} could not be unwrapped); check PATCHBAY_MASTER_KEY or the master key file"
    )]
    WrongMasterKey(Uuid),
    #[error("ciphertext is truncated or not in a known format")]
    MalformedCiphertext,
    #[error("ciphertext was sealed with data key {0}, which this keyring does not hold")]
    UnknownDataKey(Uuid),
    #[error("ciphertext failed authentication: it was tampered with or belongs to another record")]
    AuthenticationFailed,
    #[error("the keyring has no active data key")]
    NoActiveKey,
}

/// The root key. Only wraps and unwraps data keys.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A fresh random master key.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(bytes.as_mut());
        Self(bytes)
    }

    /// Parses the textual form: base64 (standard alphabet) or hex, surrounding
    /// whitespace ignored.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            decode_hex(text)
        } else {
            BASE64.decode(text).ok().map(Zeroizing::new)
        };
        let decoded = decoded.ok_or(CryptoError::MalformedMasterKey)?;
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::MalformedMasterKey)?;
        Ok(Self(Zeroizing::new(bytes)))
    }

    /// The base64 form accepted by [`MasterKey::parse`].
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64.encode(self.0.as_ref()))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.0.as_ref()))
    }

    /// Creates a new random data key and returns it wrapped for storage.
    pub fn generate_data_key(&self) -> WrappedDataKey {
        let id = Uuid::new_v4();
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut());
        let wrapped = seal(&self.cipher(), id, &data_key_aad(id), key.as_ref());
        WrappedDataKey { id, wrapped }
    }

    fn unwrap(&self, key: &WrappedDataKey) -> Result<Aes256Gcm, CryptoError> {
        let plaintext = open(&self.cipher(), key.id, &data_key_aad(key.id), &key.wrapped)
            .map_err(|_| CryptoError::WrongMasterKey(key.id))?;
        if plaintext.len() != 32 {
            return Err(CryptoError::WrongMasterKey(key.id));
        }
        Ok(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&plaintext)))
    }
}

fn decode_hex(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let digits = text.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(digits.len() / 2));
    for pair in digits.chunks_exact(2) {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out.push((hi * 16 + lo) as u8);
    }
    Some(out)
}

fn data_key_aad(id: Uuid) -> Vec<u8> {
    format!("patchbay/data-key/v1|{id}").into_bytes()
}

/// A data key as stored in the database: its id and its bytes sealed by the
/// master key.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedDataKey {
    pub id: Uuid,
    pub wrapped: Vec<u8>,
}

impl fmt::Debug for WrappedDataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedDataKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What a ciphertext is bound to. Opening it under any other binding fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad<'a> {
    pub project_id: Uuid,
    /// The id of the row holding the ciphertext.
    pub record_id: &'a str,
    /// Which secret of the row this is (`access_token`, `client_secret`, ...).
    pub field: &'a str,
}

impl Aad<'_> {
    fn to_bytes(self) -> Vec<u8> {
        // Lengths are prefixed so that no two distinct bindings share bytes.
        let mut out = Vec::with_capacity(64 + self.record_id.len() + self.field.len());
        out.extend_from_slice(b"patchbay/secret/v1");
        out.extend_from_slice(self.project_id.as_bytes());
        for part in [self.record_id, self.field] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// The unwrapped data keys, one of which is active for new encryptions.
///
/// A keyring can take in data keys created after it was loaded
/// ([`Keyring::update`]) while it is being used, so a running server follows a
/// key rotation: every encryption and decryption sees one consistent set of
/// keys, and keys are only ever added, never dropped.
pub struct Keyring {
    current: RwLock<Arc<KeySet>>,
}

#[derive(Clone)]
struct KeySet {
    active: Uuid,
    keys: HashMap<Uuid, Aes256Gcm>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = self.snapshot();
        f.debug_struct("Keyring")
            .field("active", &set.active)
            .field("keys", &set.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// Unwraps every stored data key; `active` is the one new secrets are
    /// sealed with. Any key the master key cannot open is a start-up error:
    /// a wrong master key must never produce garbage later.
    pub fn unwrap(
        master: &MasterKey,
        stored: &[WrappedDataKey],
        active: Uuid,
    ) -> Result<Self, CryptoError> {
        let keys = stored
            .iter()
            .map(|key| Ok((key.id, master.unwrap(key)?)))
            .collect::<Result<HashMap<_, _>, CryptoError>>()?;
        if !keys.contains_key(&active) {
            return Err(CryptoError::NoActiveKey);
        }
        Ok(Self {
            current: RwLock::new(Arc::new(KeySet { active, keys })),
        })
    }

    /// Takes in the data keys of `stored` this keyring does not hold yet and
    /// makes `active` the key new secrets are sealed with. Keys already held
    /// stay, listed or not, so nothing sealed before becomes unreadable.
    ///
    /// All or nothing: on error the keyring is unchanged. Returns whether
    /// anything changed.
    pub fn update(
        &self,
        master: &MasterKey,
        stored: &[WrappedDataKey],
        active: Uuid,
    ) -> Result<bool, CryptoError> {
        let current = self.snapshot();
        let added = stored
            .iter()
            .filter(|key| !current.keys.contains_key(&key.id))
            .map(|key| Ok((key.id, master.unwrap(key)?)))
            .collect::<Result<Vec<_>, CryptoError>>()?;
        if added.is_empty() && current.active == active {
            return Ok(false);
        }
        let mut next = KeySet::clone(&current);
        next.keys.extend(added);
        if !next.keys.contains_key(&active) {
            return Err(CryptoError::NoActiveKey);
        }
        next.active = active;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Ok(true)
    }

    fn snapshot(&self) -> Arc<KeySet> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The data key new secrets are sealed with.
    pub fn active_key_id(&self) -> Uuid {
        self.snapshot().active
    }

    /// Whether this keyring can open ciphertexts sealed with data key `id`.
    pub fn holds(&self, id: Uuid) -> bool {
        self.snapshot().keys.contains_key(&id)
    }

    pub fn encrypt(&self, aad: Aad<'_>, plaintext: &[u8]) -> Vec<u8> {
        let set = self.snapshot();
        let cipher = &set.keys[&set.active];
        seal(cipher, set.active, &aad.to_bytes(), plaintext)
    }

    pub fn decrypt(
        &self,
        aad: Aad<'_>,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let key_id = key_id_of(ciphertext)?;
        let set = self.snapshot();
        let cipher = set
            .keys
            .get(&key_id)
            .ok_or(CryptoError::UnknownDataKey(key_id))?;
        open(cipher, key_id, &aad.to_bytes(), ciphertext)
    }
}

/// The id of the data key a ciphertext was sealed with.
pub fn key_id_of(ciphertext: &[u8]) -> Result<Uuid, CryptoError> {
    if ciphertext.len() < HEADER_LEN || ciphertext[0] != FORMAT_VERSION {
        return Err(CryptoError::MalformedCiphertext);
    }
    let id: [u8; KEY_ID_LEN] = ciphertext[1..1 + KEY_ID_LEN]
        .try_into()
        .map_err(|_| CryptoError::MalformedCiphertext)?;
    Ok(Uuid::from_bytes(id))
}

fn seal(cipher: &Aes256Gcm, key_id: Uuid, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    // Encryption with a valid key and a 96-bit nonce cannot fail for inputs
    // below AES-GCM's 64 GiB limit; secrets are tiny.
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM encryption of a small secret");
    let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

fn open(
    cipher: &Aes256Gcm,
    key_id: Uuid,
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if key_id_of(ciphertext)? != key_id {
        return Err(CryptoError::MalformedCiphertext);
    }
    let nonce = Nonce::from_slice(&ciphertext[1 + KEY_ID_LEN..HEADER_LEN]);
    cipher
        .decrypt(
            nonce,
            Payload {
                msg: &ciphertext[HEADER_LEN..],
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::AuthenticationFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring(master: &MasterKey) -> (Keyring, WrappedDataKey) {
        let key = master.generate_data_key();
        let ring = Keyring::unwrap(master, std::slice::from_ref(&key), key.id).unwrap();
        (ring, key)
    }

    fn aad<'a>(project: Uuid, record: &'a str, field: &'a str) -> Aad<'a> {
        Aad {
            project_id: project,
            record_id: record,
            field,
        }
    }

    #[test]
    fn round_trips_and_never_repeats_ciphertexts() {
        let master = MasterKey::generate();
        let (ring, key) = keyring(&master);
        let project = Uuid::new_v4();
        let a = ring.encrypt(aad(project, "cred-1", "access_token"), b"xoxb-secret");
        let b = ring.encrypt(aad(project, "cred-1", "access_token"), b"xoxb-secret");
        assert_ne!(a, b, "nonces must be random");
        assert_eq!(key_id_of(&a).unwrap(), key.id);
        let plain = ring
            .decrypt(aad(project, "cred-1", "access_token"), &a)
            .unwrap();
        assert_eq!(plain.as_slice(), b"xoxb-secret");
        assert!(!a.windows(11).any(|w| w == b"xoxb-secret"));
    }

    #[test]
    fn ciphertext_moved_to_another_binding_fails() {
        let master = MasterKey::generate();
        let (ring, _) = keyring(&master);
        let project = Uuid::new_v4();
        let sealed = ring.encrypt(aad(project, "cred-1", "access_token"), b"token");
        for wrong in [
            aad(project, "cred-2", "access_token"),
            aad(project, "cred-1", "refresh_token"),
            aad(Uuid::new_v4(), "cred-1", "access_token"),
            // Length prefixes keep these two bindings apart.
            aad(project, "cred-1access", "_token"),
        ] {
            assert_eq!(
                ring.decrypt(wrong, &sealed),
                Err(CryptoError::AuthenticationFailed)
            );
        }
    }

    #[test]
    fn tampering_and_truncation_fail() {
        let master = MasterKey::generate();
        let (ring, _) = keyring(&master);
        let binding = aad(Uuid::new_v4(), "r", "f");
        let mut sealed = ring.encrypt(binding, b"token");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(
            ring.decrypt(binding, &sealed),
            Err(CryptoError::AuthenticationFailed)
        );
        assert_eq!(
            ring.decrypt(binding, &sealed[..10]),
            Err(CryptoError::MalformedCiphertext)
        );
        assert_eq!(
            ring.decrypt(binding, b""),
            Err(CryptoError::MalformedCiphertext)
        );
    }

    #[test]
    fn wrong_master_key_is_reported_not_garbage() {
        let master = MasterKey::generate();
        let key = master.generate_data_key();
        let err = Keyring::unwrap(&MasterKey::generate(), std::slice::from_ref(&key), key.id)
            .unwrap_err();
        assert_eq!(err, CryptoError::WrongMasterKey(key.id));
        assert!(err.to_string().contains("does not match"));
    }

    #[test]
    fn old_keys_stay_readable_after_a_new_active_key() {
        let master = MasterKey::generate();
        let old = master.generate_data_key();
        let new = master.generate_data_key();
        let before = Keyring::unwrap(&master, std::slice::from_ref(&old), old.id).unwrap();
        let binding = aad(Uuid::new_v4(), "r", "f");
        let sealed = before.encrypt(binding, b"secret");
        let after = Keyring::unwrap(&master, &[old.clone(), new.clone()], new.id).unwrap();
        assert_eq!(
            after.decrypt(binding, &sealed).unwrap().as_slice(),
            b"secret"
        );
        assert_eq!(key_id_of(&after.encrypt(binding, b"x")).unwrap(), new.id);
        let only_new = Keyring::unwrap(&master, std::slice::from_ref(&new), new.id).unwrap();
        assert_eq!(
            only_new.decrypt(binding, &sealed),
            Err(CryptoError::UnknownDataKey(old.id))
        );
    }

    #[test]
    fn update_takes_in_new_keys_and_switches_the_active_one() {
        let master = MasterKey::generate();
        let old = master.generate_data_key();
        let new = master.generate_data_key();
        let ring = Keyring::unwrap(&master, std::slice::from_ref(&old), old.id).unwrap();
        let binding = aad(Uuid::new_v4(), "r", "f");
        let sealed_old = ring.encrypt(binding, b"before");
        let other = Keyring::unwrap(&master, &[old.clone(), new.clone()], new.id).unwrap();
        let sealed_new = other.encrypt(binding, b"after");
        assert_eq!(
            ring.decrypt(binding, &sealed_new),
            Err(CryptoError::UnknownDataKey(new.id))
        );

        // Standby: readable, but the old key still seals.
        assert!(
            ring.update(&master, &[old.clone(), new.clone()], old.id)
                .unwrap()
        );
        assert!(ring.holds(new.id));
        assert_eq!(
            ring.decrypt(binding, &sealed_new).unwrap().as_slice(),
            b"after"
        );
        assert_eq!(key_id_of(&ring.encrypt(binding, b"x")).unwrap(), old.id);
        assert!(
            !ring
                .update(&master, &[old.clone(), new.clone()], old.id)
                .unwrap()
        );

        // Active: the new key seals; a listing without the old key keeps it.
        assert!(
            ring.update(&master, std::slice::from_ref(&new), new.id)
                .unwrap()
        );
        assert_eq!(ring.active_key_id(), new.id);
        assert_eq!(key_id_of(&ring.encrypt(binding, b"x")).unwrap(), new.id);
        assert_eq!(
            ring.decrypt(binding, &sealed_old).unwrap().as_slice(),
            b"before"
        );
    }

    #[test]
    fn a_failed_update_changes_nothing() {
        let master = MasterKey::generate();
        let old = master.generate_data_key();
        let ring = Keyring::unwrap(&master, std::slice::from_ref(&old), old.id).unwrap();
        let foreign = MasterKey::generate().generate_data_key();
        assert_eq!(
            ring.update(&master, std::slice::from_ref(&foreign), foreign.id),
            Err(CryptoError::WrongMasterKey(foreign.id))
        );
        let unknown = Uuid::new_v4();
        assert_eq!(
            ring.update(&master, &[], unknown),
            Err(CryptoError::NoActiveKey)
        );
        assert!(!ring.holds(foreign.id));
        assert_eq!(ring.active_key_id(), old.id);
    }

    #[test]
    fn master_key_text_forms() {
        let master = MasterKey::generate();
        let b64 = master.to_base64();
        let again = MasterKey::parse(&format!("  {}\n", b64.as_str())).unwrap();
        assert_eq!(again.0.as_ref(), master.0.as_ref());
        let hex: String = master.0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            MasterKey::parse(&hex).unwrap().0.as_ref(),
            master.0.as_ref()
        );
        for bad in [
            "",
            "short",
            &"ab".repeat(31),
            "!!!!",
            &BASE64.encode([0u8; 16]),
        ] {
            assert_eq!(
                MasterKey::parse(bad).unwrap_err(),
                CryptoError::MalformedMasterKey
            );
        }
        assert_eq!(format!("{master:?}"), "MasterKey(<redacted>)");
    }
}
