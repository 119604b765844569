//! Project secret keys (`pb_sk_...`) for the admin API.
//!
//! A secret key carries 256 bits of randomness, so a single SHA-256 is a
//! sound way to store it: there is nothing to brute-force that a slow hash
//! would protect, and lookups by hash stay one indexed read per request.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// Every secret key starts with this, so leaked keys are easy to scan for.
pub const SECRET_KEY_PREFIX: &str = "pb_sk_";

/// How many leading characters of a key are kept in clear to tell keys apart
/// in listings.
const DISPLAY_PREFIX_LEN: usize = SECRET_KEY_PREFIX.len() + 6;

/// A freshly generated secret key. The plaintext exists only until it has been
/// shown once; only [`SecretKeyHash`] is stored.
pub struct NewSecretKey {
    plaintext: Zeroizing<String>,
}

impl fmt::Debug for NewSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NewSecretKey({}…)", self.display_prefix())
    }
}

impl NewSecretKey {
    pub fn generate() -> Self {
        let mut random = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(random.as_mut());
        let plaintext = format!(
            "{SECRET_KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(random.as_ref())
        );
        Self {
            plaintext: Zeroizing::new(plaintext),
        }
    }

    /// The key itself, to be shown to its owner exactly once.
    pub fn reveal(&self) -> &str {
        &self.plaintext
    }

    pub fn hash(&self) -> SecretKeyHash {
        SecretKeyHash::of(&self.plaintext)
    }

    /// A non-secret prefix identifying the key in listings.
    pub fn display_prefix(&self) -> String {
        self.plaintext[..DISPLAY_PREFIX_LEN].to_owned()
    }
}

/// The stored form of a secret key: hex SHA-256 of the whole key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretKeyHash(pub String);

impl SecretKeyHash {
    pub fn of(presented: &str) -> Self {
        let digest = Sha256::digest(presented.as_bytes());
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// Whether a presented bearer value looks like a secret key at all, so that
/// user tokens (JWTs) and secret keys can be told apart without a lookup.
pub fn looks_like_secret_key(presented: &str) -> bool {
    presented.starts_with(SECRET_KEY_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_prefixed_and_hash_stably() {
        let a = NewSecretKey::generate();
        let b = NewSecretKey::generate();
        assert_ne!(a.reveal(), b.reveal());
        assert!(looks_like_secret_key(a.reveal()));
        assert_eq!(a.reveal().len(), SECRET_KEY_PREFIX.len() + 43);
        assert_eq!(a.hash(), SecretKeyHash::of(a.reveal()));
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().0.len(), 64);
        assert!(a.reveal().starts_with(&a.display_prefix()));
        assert!(!format!("{a:?}").contains(a.reveal()));
    }
}
