//! The OAuth `state` parameter: the install session's id and 256 random
//! bits, handed to the browser; only a hash of the whole is stored, so a
//! database leak cannot complete anyone's install.
//!
//! The state names its session (`<session id>.<secret>`) so that a state
//! that comes back with a secret the session was not given (one issued to
//! another user's or project's install, or a tampered one) fails the session
//! it names instead of leaving it pending.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// A fresh state for install session `session_id`, and the hash to store.
pub fn generate(session_id: Uuid) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let state = format!("{}.{}", session_id.simple(), URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&state);
    (state, hash)
}

/// The install session a state names, when it is shaped like one of ours.
pub fn session_of(state: &str) -> Option<Uuid> {
    let (session_id, _secret) = state.split_once('.')?;
    Uuid::try_parse(session_id).ok()
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
