//! User tokens (docs/api.md): keys, minting, verification and permissions.

mod keys;
mod permissions;
mod verify;

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use patchbay_core::user_token::{
    SigningAlgorithm, TokenClaims, TokenError, VerificationKey, VerifiedToken, generate_key_pair,
    mint, verify,
};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The verifier's clock in every test.
pub const NOW: i64 = 1_700_000_000;

pub fn project() -> Uuid {
    Uuid::from_u128(0x0195_0000_aaaa_7000_8000_0000_0000_0001)
}

pub fn other_project() -> Uuid {
    Uuid::from_u128(0x0195_0000_bbbb_7000_8000_0000_0000_0002)
}

pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// Claims valid at [`NOW`] for [`project`].
pub fn claims(user_id: &str) -> TokenClaims {
    TokenClaims {
        user_id: user_id.to_owned(),
        project_id: Some(project()),
        issued_at: NOW - 10,
        expires_at: NOW + 600,
        not_before: None,
        meta: Map::new(),
        permissions: None,
    }
}

pub fn json_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// A private key and its public half.
pub struct Signer {
    pub algorithm: SigningAlgorithm,
    pub private_key_pem: String,
    pub public_key_pem: String,
}

impl Signer {
    pub fn rsa_a() -> Self {
        Self {
            algorithm: SigningAlgorithm::Rs256,
            private_key_pem: fixture("test-only-rsa-2048-a.private.pem"),
            public_key_pem: fixture("test-only-rsa-2048-a.public.pem"),
        }
    }

    /// PKCS#1 private key, as `openssl genrsa -traditional` writes it.
    pub fn rsa_b() -> Self {
        Self {
            algorithm: SigningAlgorithm::Rs256,
            private_key_pem: fixture("test-only-rsa-2048-b.private-pkcs1.pem"),
            public_key_pem: fixture("test-only-rsa-2048-b.public.pem"),
        }
    }

    pub fn generated(algorithm: SigningAlgorithm) -> Self {
        let pair = generate_key_pair(algorithm).unwrap();
        Self {
            algorithm,
            private_key_pem: pair.private_key_pem.to_string(),
            public_key_pem: pair.public_key_pem,
        }
    }

    pub fn key(&self, kid: &str) -> VerificationKey {
        let key = VerificationKey::from_pem(kid, self.public_key_pem.clone()).unwrap();
        assert_eq!(key.algorithm, self.algorithm);
        key
    }

    pub fn mint(&self, kid: Option<&str>, claims: &TokenClaims) -> String {
        mint(&self.private_key_pem, self.algorithm, kid, claims).unwrap()
    }

    /// Signs any header and payload, for tokens `mint` would never make.
    pub fn sign_raw(&self, header: &Value, payload: &Value) -> String {
        let algorithm = match self.algorithm {
            SigningAlgorithm::Rs256 => Algorithm::RS256,
            SigningAlgorithm::Es256 => Algorithm::ES256,
            SigningAlgorithm::EdDsa => Algorithm::EdDSA,
        };
        let key = match self.algorithm {
            SigningAlgorithm::Rs256 => EncodingKey::from_rsa_pem(self.private_key_pem.as_bytes()),
            SigningAlgorithm::Es256 => EncodingKey::from_ec_pem(self.private_key_pem.as_bytes()),
            SigningAlgorithm::EdDsa => EncodingKey::from_ed_pem(self.private_key_pem.as_bytes()),
        }
        .unwrap();
        sign_with(header, payload, &key, algorithm)
    }
}

pub fn sign_with(
    header: &Value,
    payload: &Value,
    key: &EncodingKey,
    algorithm: Algorithm,
) -> String {
    let message = format!("{}.{}", b64_json(header), b64_json(payload));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, algorithm).unwrap();
    format!("{message}.{signature}")
}

pub fn b64_json(value: &Value) -> String {
    b64_bytes(&serde_json::to_vec(value).unwrap())
}

pub fn b64_bytes(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The token's header, decoded.
pub fn header_of(token: &str) -> Map<String, Value> {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

pub fn verify_at(
    token: &str,
    keys: &[VerificationKey],
    now: i64,
) -> Result<VerifiedToken, TokenError> {
    verify(token, project(), keys, now)
}

/// Verifies at [`NOW`] and checks the error never reveals the token.
pub fn rejection(token: &str, keys: &[VerificationKey]) -> TokenError {
    let error = verify_at(token, keys, NOW).unwrap_err();
    let message = error.to_string();
    for segment in token.split('.').filter(|segment| segment.len() > 3) {
        assert!(!message.contains(segment), "{message:?} reveals the token");
    }
    error
}
