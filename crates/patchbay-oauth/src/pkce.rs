//! PKCE (RFC 7636) with the S256 method, the only one worth sending: `plain` protects nothing
//! once the authorization URL leaks.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};

/// A code verifier and its S256 challenge. The verifier is kept with the install session and
/// sent with the code exchange; the challenge goes on the authorization URL.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: SecretString,
    pub challenge: String,
}

impl Pkce {
    /// The `code_challenge_method` sent with the challenge.
    pub const METHOD: &'static str = "S256";

    /// A fresh verifier: 32 bytes from the operating system, base64url without padding, so
    /// 43 characters from RFC 7636's unreserved set (its recommended construction).
    pub fn generate() -> Self {
        let mut bytes = [0_u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self::from_verifier(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The pair for a verifier kept from earlier.
    pub fn from_verifier(verifier: SecretString) -> Self {
        let challenge = Self::challenge_of(verifier.expose_secret());
        Self {
            verifier,
            challenge,
        }
    }

    /// `BASE64URL(SHA256(verifier))`, RFC 7636 §4.2.
    pub fn challenge_of(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    }
}
