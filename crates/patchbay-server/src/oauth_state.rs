//! The OAuth `state` parameter: 256 random bits handed to the browser, of
//! which only a hash is stored, so a database leak cannot complete anyone's
//! install.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// A fresh state and the hash to store.
pub fn generate() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let state = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&state);
    (state, hash)
}

pub fn hash(state: &str) -> String {
    Sha256::digest(state.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The deployment's single OAuth callback, registered with every provider.
pub fn callback_url(public_url: &str) -> String {
    format!("{}/oauth/callback", public_url.trim_end_matches('/'))
}
