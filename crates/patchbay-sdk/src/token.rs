//! Minting user tokens, as a developer's backend does.

use chrono::Utc;
use patchbay_core::user_token::{self, SigningAlgorithm, TokenClaims};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Error;

/// Signs user tokens for one project with one private key.
pub struct TokenSigner {
    project_id: Uuid,
    private_key_pem: String,
    algorithm: SigningAlgorithm,
    kid: Option<String>,
    ttl_seconds: i64,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("project_id", &self.project_id)
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer for a PEM private key of `algorithm` (RS256: RSA, ES256:
    /// P-256, EdDSA: Ed25519).
    pub fn new(
        project_id: Uuid,
        private_key_pem: &str,
        algorithm: SigningAlgorithm,
    ) -> Result<Self, Error> {
        // Signing once proves the key and algorithm fit, so `mint` cannot
        // fail later for a reason fixed at construction.
        let probe = TokenClaims {
            user_id: "probe".to_owned(),
            project_id: None,
            issued_at: 0,
            expires_at: 1,
            not_before: None,
            meta: Map::new(),
            permissions: None,
        };
        user_token::mint(private_key_pem, algorithm, None, &probe)
            .map_err(|err| Error::Token(err.to_string()))?;
        Ok(Self {
            project_id,
            private_key_pem: private_key_pem.to_owned(),
            algorithm,
            kid: None,
            ttl_seconds: 3600,
        })
    }

    /// Names the key in the token header, for projects with several keys.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    pub fn with_ttl_seconds(mut self, ttl_seconds: i64) -> Self {
        self.ttl_seconds = ttl_seconds;
        self
    }

    /// A token for `user_id`.
    pub fn mint(&self, user_id: &str) -> Result<String, Error> {
        self.mint_with(user_id, Map::new(), None)
    }

    /// A token with metadata claims (`Name`, `Email`, ...) and optionally the
    /// permissions claim restricting it to some integrations or accounts.
    pub fn mint_with(
        &self,
        user_id: &str,
        meta: Map<String, Value>,
        permissions: Option<Map<String, Value>>,
    ) -> Result<String, Error> {
        let now = Utc::now().timestamp();
        let claims = TokenClaims {
            user_id: user_id.to_owned(),
            project_id: Some(self.project_id),
            issued_at: now,
            expires_at: now + self.ttl_seconds,
            not_before: None,
            meta,
            permissions,
        };
        user_token::mint(
            &self.private_key_pem,
            self.algorithm,
            self.kid.as_deref(),
            &claims,
        )
        .map_err(|err| Error::Token(err.to_string()))
    }
}
