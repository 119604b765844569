//! User tokens already verified by this process, so that a front end
//! sending the same token on every request pays for the signature check
//! (an ECDSA or RSA verification and a PEM parse) once.
//!
//! Only the outcome of checks that cannot change while the token lives is
//! kept: the signature, the claims, and that `exp` has not passed. The token
//! is accepted from the cache only while it would still be accepted anew
//! (until `exp` plus the clock-skew leeway) and only while the key that
//! verified it is still one of the project's active keys, which callers read
//! on every request (through `CachedStore`, which forgets them when a key is
//! revoked: at once on the replica that revoked it, on the others when its
//! notice arrives). Entries are keyed by the SHA-256 of the token and the project.

use std::collections::HashMap;
use std::sync::Mutex;

use patchbay_core::user_token::{CLOCK_SKEW_LEEWAY_SECS, VerifiedToken};
use patchbay_store::SigningKeyRecord;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// Entries kept at most; beyond, expired ones are dropped, then everything.
const CAPACITY: usize = 10_000;

type Key = [u8; 32];

#[derive(Debug, Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<Key, VerifiedToken>>,
}

fn key(project_id: Uuid, token: &str) -> Key {
    let mut hasher = Sha256::new();
    hasher.update(project_id.as_bytes());
    hasher.update(token.as_bytes());
    hasher.finalize().into()
}

fn still_valid(token: &VerifiedToken, now: i64) -> bool {
    now <= token.expires_at.saturating_add(CLOCK_SKEW_LEEWAY_SECS)
}

impl VerifiedTokens {
    /// The verified token, if this exact token was verified for this project
    /// before, is still within its lifetime, and its key is still active.
    pub fn get(
        &self,
        project_id: Uuid,
        token: &str,
        active_keys: &[SigningKeyRecord],
        now: i64,
    ) -> Option<VerifiedToken> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let cached = entries.get(&key(project_id, token))?;
        let key_active = active_keys.iter().any(|k| k.kid == cached.key_id);
        (key_active && still_valid(cached, now)).then(|| cached.clone())
    }

    pub fn insert(&self, project_id: Uuid, token: &str, verified: &VerifiedToken, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, cached| still_valid(cached, now));
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key(project_id, token), verified.clone());
    }
}
