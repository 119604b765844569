//! User tokens (docs/api.md): short-lived JWTs that a developer's backend signs
//! with its project's private key and end users present to the SDK API.
//!
//! Only asymmetric algorithms are accepted, and every registered key is pinned
//! to exactly one of them when it is registered. A token therefore never
//! chooses how it is verified: `alg: none`, HS256 keyed with the public key and
//! an RSA token checked against an EC key are refused before any signature is
//! computed.
//!
//! The token is taken apart here rather than by `jsonwebtoken::decode` so that
//! every failure has its own stable code, and so that no claim is read before
//! the signature over it has been checked. `jsonwebtoken` does the signing and
//! the signature arithmetic (on `ring`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use serde_json::{Map, Value};
use uuid::Uuid;
use zeroize::Zeroizing;

use self::der::Der;

/// Clock difference tolerated between the developer's signer and this server.
pub const CLOCK_SKEW_LEEWAY_SECS: i64 = 60;

/// The claim that restricts a token to some integrations or credentials.
pub const PERMISSIONS_CLAIM: &str = "urn:useparagon:connect:permissions";

/// Claims with a meaning of their own; every other claim is user metadata.
const RESERVED_CLAIMS: [&str; 8] = [
    "sub",
    "iat",
    "exp",
    "nbf",
    "aud",
    "iss",
    "jti",
    PERMISSIONS_CLAIM,
];

const MIN_RSA_BITS: u64 = 2048;
/// ring verifies RSA signatures up to this size; a larger key could be
/// registered but would never verify anything.
const MAX_RSA_BITS: u64 = 8192;

const P256_POINT_LEN: usize = 65;
const ED25519_KEY_LEN: usize = 32;

/// DER of `SubjectPublicKeyInfo { id-ecPublicKey, prime256v1 }` up to the
/// 65-byte point.
const P256_SPKI_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// DER of `SubjectPublicKeyInfo { id-Ed25519 }` up to the 32-byte key.
const ED25519_SPKI_PREFIX: &[u8] = &[
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// What ring's Ed25519 PKCS#8 v2 document starts with, up to the seed.
const ED25519_PKCS8_V2_PREFIX: &[u8] = &[
    0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// PKCS#8 v1 (RFC 8410) of an Ed25519 key, up to the seed.
const ED25519_PKCS8_V1_PREFIX: &[u8] = &[
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The asymmetric algorithms a user token may be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    Rs256,
    Es256,
    EdDsa,
}

impl SigningAlgorithm {
    pub const ALL: [Self; 3] = [Self::Rs256, Self::Es256, Self::EdDsa];

    /// The name used in a JWT's `alg` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    fn jwt_algorithm(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = UnknownAlgorithm;

    /// Case-sensitive, as the `alg` header is.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|algorithm| algorithm.as_str() == name)
            .ok_or_else(|| UnknownAlgorithm(name.to_owned()))
    }
}

/// A name that is not one of [`SigningAlgorithm`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signing algorithm `{0}`; expected RS256, ES256 or EdDSA")]
pub struct UnknownAlgorithm(pub String);

/// Why a key could not be used. Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key is not PEM text; expected a block starting with `-----BEGIN PUBLIC KEY-----`")]
    NotPem,
    #[error("expected exactly one PEM block, found {0}")]
    MultiplePemBlocks(usize),
    #[error(
        "this is a private key, which must stay with the developer's backend; \
         give its public key instead (`openssl pkey -in key.pem -pubout`)"
    )]
    PrivateKey,
    #[error(
        "this is a certificate; give its public key instead \
         (`openssl x509 -in cert.pem -pubkey -noout`)"
    )]
    Certificate,
    #[error("unsupported PEM block `{0}`; expected `PUBLIC KEY` or `RSA PUBLIC KEY`")]
    UnsupportedPemLabel(String),
    #[error("the PEM block does not hold a well-formed public key")]
    InvalidPublicKey,
    #[error("unsupported key type; use an RSA, EC P-256 or Ed25519 key")]
    UnsupportedKeyType,
    #[error("unsupported elliptic curve; only P-256 (prime256v1, for ES256) is accepted")]
    UnsupportedCurve,
    #[error("RSA keys must have 2048 to 8192 bits; this one has {bits}")]
    RsaKeySize { bits: u64 },
    #[error(
        "not a usable {0} private key; expected PEM in PKCS#8 (or PKCS#1 for RSA, \
         at least 2048 bits) for that algorithm"
    )]
    InvalidPrivateKey(SigningAlgorithm),
    #[error(
        "generating {0} keys is not supported; generate ES256 or EdDSA keys, or RSA keys with openssl"
    )]
    GenerationNotSupported(SigningAlgorithm),
    #[error("the key pair could not be generated")]
    GenerationFailed,
    #[error("`{0}` is a registered claim and cannot be given as user metadata")]
    ReservedClaim(String),
}

/// Why a user token was refused. Messages never contain the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// What is wrong, in a static phrase, so it can never echo the token.
    #[error("the user token is malformed: {0}")]
    Malformed(&'static str),
    #[error(
        "the user token's signing algorithm is not allowed; sign with RS256, ES256 or EdDSA, \
         using the algorithm of the key named by `kid`"
    )]
    AlgorithmNotAllowed,
    #[error("the user token is not signed (`alg: none`); sign it with RS256, ES256 or EdDSA")]
    Unsigned,
    #[error("the user token names a signing key that this project does not have")]
    UnknownKey,
    #[error("the user token's signature does not match the project's signing keys")]
    BadSignature,
    #[error("the user token has expired")]
    Expired,
    #[error("the user token is not valid yet; check the clock of the server that signed it")]
    NotYetValid,
    #[error("the user token lacks the required `{0}` claim")]
    MissingClaim(&'static str),
    #[error("the user token was issued for another project (`aud`)")]
    WrongAudience,
}

impl TokenError {
    /// Every kind of rejection once, so each code can be listed (the
    /// OpenAPI document's `ErrorCode` enum).
    pub const ALL: &'static [TokenError] = &[
        Self::Malformed(""),
        Self::AlgorithmNotAllowed,
        Self::Unsigned,
        Self::UnknownKey,
        Self::BadSignature,
        Self::Expired,
        Self::NotYetValid,
        Self::MissingClaim(""),
        Self::WrongAudience,
    ];

    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "unauthorized_malformed_token",
            Self::AlgorithmNotAllowed => "unauthorized_algorithm_not_allowed",
            Self::Unsigned => "unauthorized_unsigned_token",
            Self::UnknownKey => "unauthorized_unknown_key",
            Self::BadSignature => "unauthorized_bad_signature",
            Self::Expired => "unauthorized_token_expired",
            Self::NotYetValid => "unauthorized_token_not_yet_valid",
            Self::MissingClaim(_) => "unauthorized_missing_claim",
            Self::WrongAudience => "unauthorized_wrong_project",
        }
    }
}

// ---------------------------------------------------------------------------
// Public keys
// ---------------------------------------------------------------------------

/// A project's verification key, as stored: pinned to one algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationKey {
    pub kid: String,
    pub algorithm: SigningAlgorithm,
    pub public_key_pem: String,
}

impl VerificationKey {
    /// Inspects the PEM and pins the key to the one algorithm it may verify.
    pub fn from_pem(
        kid: impl Into<String>,
        public_key_pem: impl Into<String>,
    ) -> Result<Self, KeyError> {
        let public_key_pem = public_key_pem.into();
        let algorithm = inspect_public_key(&public_key_pem)?;
        Ok(Self {
            kid: kid.into(),
            algorithm,
            public_key_pem,
        })
    }

    /// `None` when the stored PEM is not a key for the algorithm it is pinned
    /// to: such a key verifies nothing rather than something unintended.
    fn decoding_key(&self) -> Option<DecodingKey> {
        let key = parse_public_key(&self.public_key_pem).ok()?;
        (key.algorithm == self.algorithm).then(|| key.decoding_key())
    }
}

/// Inspects a PEM public key (SPKI `PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`)
/// and returns the one algorithm it may verify: RSA of 2048 to 8192 bits →
/// RS256, EC P-256 → ES256, Ed25519 → EdDSA.
pub fn inspect_public_key(pem: &str) -> Result<SigningAlgorithm, KeyError> {
    parse_public_key(pem).map(|key| key.algorithm)
}

/// A public key reduced to what the signature check needs: PKCS#1
/// `RSAPublicKey` DER, an uncompressed P-256 point, or a raw Ed25519 key.
#[derive(Debug)]
struct PublicKey {
    algorithm: SigningAlgorithm,
    material: Vec<u8>,
}

impl PublicKey {
    fn decoding_key(&self) -> DecodingKey {
        match self.algorithm {
            SigningAlgorithm::Rs256 => DecodingKey::from_rsa_der(&self.material),
            SigningAlgorithm::Es256 => DecodingKey::from_ec_der(&self.material),
            SigningAlgorithm::EdDsa => DecodingKey::from_ed_der(&self.material),
        }
    }
}

fn parse_public_key(pem_text: &str) -> Result<PublicKey, KeyError> {
    let block = single_pem_block(pem_text)?;
    match block.tag() {
        "PUBLIC KEY" => parse_spki(block.contents()),
        "RSA PUBLIC KEY" => parse_rsa_public_key(block.contents()),
        label => Err(KeyError::UnsupportedPemLabel(label.to_owned())),
    }
}

fn single_pem_block(text: &str) -> Result<pem::Pem, KeyError> {
    let blocks = pem::parse_many(text).map_err(|_| KeyError::NotPem)?;
    // A pasted private key is the mistake worth naming, wherever it sits.
    if blocks.iter().any(|b| b.tag().ends_with("PRIVATE KEY")) {
        return Err(KeyError::PrivateKey);
    }
    if blocks.iter().any(|b| b.tag().contains("CERTIFICATE")) {
        return Err(KeyError::Certificate);
    }
    match <[pem::Pem; 1]>::try_from(blocks) {
        Ok([block]) => Ok(block),
        Err(blocks) if blocks.is_empty() => Err(KeyError::NotPem),
        Err(blocks) => Err(KeyError::MultiplePemBlocks(blocks.len())),
    }
}

/// `SubjectPublicKeyInfo ::= SEQUENCE { SEQUENCE { OID, parameters }, BIT STRING }`.
fn parse_spki(encoded: &[u8]) -> Result<PublicKey, KeyError> {
    let mut spki = Der::whole(encoded, der::SEQUENCE)?;
    let mut algorithm_id = Der(spki.read(der::SEQUENCE)?);
    let key = spki.read_bit_string()?;
    spki.finish()?;
    let key_type = algorithm_id.read(der::OID)?;
    let parameters = algorithm_id;
    match key_type {
        der::RSA_ENCRYPTION => {
            rsa_parameters(parameters)?;
            parse_rsa_public_key(key)
        }
        der::EC_PUBLIC_KEY => parse_p256_point(parameters, key),
        der::ED25519 => parse_ed25519_key(parameters, key),
        _ => Err(KeyError::UnsupportedKeyType),
    }
}

/// RFC 3279 says NULL; some encoders leave the parameters out.
fn rsa_parameters(mut parameters: Der<'_>) -> Result<(), KeyError> {
    if !parameters.is_empty() {
        parameters.read(der::NULL)?;
    }
    parameters.finish()
}

/// PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn parse_rsa_public_key(encoded: &[u8]) -> Result<PublicKey, KeyError> {
    let mut fields = Der::whole(encoded, der::SEQUENCE)?;
    let modulus = fields.read_positive_integer()?;
    fields.read_positive_integer()?;
    fields.finish()?;
    let bits = der::bit_length(modulus);
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(KeyError::RsaKeySize { bits });
    }
    Ok(PublicKey {
        algorithm: SigningAlgorithm::Rs256,
        material: encoded.to_vec(),
    })
}

fn parse_p256_point(mut parameters: Der<'_>, point: &[u8]) -> Result<PublicKey, KeyError> {
    // Only named curves are supported; explicit curve parameters are refused
    // along with every other curve.
    let curve = parameters
        .read(der::OID)
        .map_err(|_| KeyError::UnsupportedCurve)?;
    parameters.finish()?;
    if curve != der::PRIME256V1 {
        return Err(KeyError::UnsupportedCurve);
    }
    // ring verifies against uncompressed points only; a compressed one would
    // be accepted here and then never verify.
    if point.len() != P256_POINT_LEN || point.first() != Some(&0x04) {
        return Err(KeyError::InvalidPublicKey);
    }
    Ok(PublicKey {
        algorithm: SigningAlgorithm::Es256,
        material: point.to_vec(),
    })
}

fn parse_ed25519_key(parameters: Der<'_>, key: &[u8]) -> Result<PublicKey, KeyError> {
    // RFC 8410: the parameters are absent.
    parameters.finish()?;
    if key.len() != ED25519_KEY_LEN {
        return Err(KeyError::InvalidPublicKey);
    }
    Ok(PublicKey {
        algorithm: SigningAlgorithm::EdDsa,
        material: key.to_vec(),
    })
}

/// Just enough DER for the two public key structures above. It reads only
/// the elements those structures name, in order, and never descends into
/// anything else, so a hostile key cannot make it recurse or allocate.
mod der {
    use super::KeyError;

    pub const SEQUENCE: u8 = 0x30;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;

    /// The contents of the OIDs that matter: 1.2.840.113549.1.1.1,
    /// 1.2.840.10045.2.1, 1.2.840.10045.3.1.7 and 1.3.101.112.
    pub const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    pub const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    pub const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

    const INVALID: KeyError = KeyError::InvalidPublicKey;

    /// The elements still to be read.
    #[derive(Debug)]
    pub struct Der<'a>(pub &'a [u8]);

    impl<'a> Der<'a> {
        /// The contents of `input`, which must be exactly one `tag` element.
        pub fn whole(input: &'a [u8], tag: u8) -> Result<Self, KeyError> {
            let mut outer = Der(input);
            let contents = outer.read(tag)?;
            outer.finish()?;
            Ok(Der(contents))
        }

        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        /// Fails unless everything has been read.
        pub fn finish(self) -> Result<(), KeyError> {
            if self.is_empty() {
                Ok(())
            } else {
                Err(INVALID)
            }
        }

        /// Reads the next element, which must have `tag`, and returns its
        /// contents.
        pub fn read(&mut self, tag: u8) -> Result<&'a [u8], KeyError> {
            let [actual, length, rest @ ..] = self.0 else {
                return Err(INVALID);
            };
            if *actual != tag {
                return Err(INVALID);
            }
            let (length, rest) = match (*length, rest) {
                (short @ 0..=0x7f, rest) => (usize::from(short), rest),
                (0x81, [length @ 0x80..=0xff, rest @ ..]) => (usize::from(*length), rest),
                (0x82, [high @ 1..=0xff, low, rest @ ..]) => {
                    (usize::from(u16::from_be_bytes([*high, *low])), rest)
                }
                // Indefinite, non-minimal or over 64 KiB: no key here is.
                _ => return Err(INVALID),
            };
            if rest.len() < length {
                return Err(INVALID);
            }
            let (contents, rest) = rest.split_at(length);
            self.0 = rest;
            Ok(contents)
        }

        /// A BIT STRING's bytes. Every key format here is whole bytes, so
        /// unused bits mean a corrupt key.
        pub fn read_bit_string(&mut self) -> Result<&'a [u8], KeyError> {
            match self.read(BIT_STRING)? {
                [0, bytes @ ..] => Ok(bytes),
                _ => Err(INVALID),
            }
        }

        /// A positive INTEGER's magnitude, without the sign byte.
        pub fn read_positive_integer(&mut self) -> Result<&'a [u8], KeyError> {
            match self.read(INTEGER)? {
                // A zero byte is there only to keep a high bit from meaning negative.
                [0, magnitude @ ..] if magnitude.first().is_some_and(|b| b & 0x80 != 0) => {
                    Ok(magnitude)
                }
                magnitude @ [first, ..] if *first != 0 && first & 0x80 == 0 => Ok(magnitude),
                _ => Err(INVALID),
            }
        }
    }

    /// The bit length of a magnitude with no leading zero byte.
    pub fn bit_length(magnitude: &[u8]) -> u64 {
        let leading_zeros = magnitude.first().map_or(0, |b| b.leading_zeros());
        (magnitude.len() as u64 * 8).saturating_sub(u64::from(leading_zeros))
    }
}

// ---------------------------------------------------------------------------
// Key generation
// ---------------------------------------------------------------------------

/// A key pair for development (`patchbay signing-key generate`).
pub struct GeneratedKeyPair {
    pub algorithm: SigningAlgorithm,
    /// PKCS#8 PEM.
    pub private_key_pem: Zeroizing<String>,
    /// SPKI PEM, ready for [`VerificationKey::from_pem`].
    pub public_key_pem: String,
}

impl fmt::Debug for GeneratedKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKeyPair")
            .field("algorithm", &self.algorithm)
            .field("private_key_pem", &"<redacted>")
            .field("public_key_pem", &self.public_key_pem)
            .finish()
    }
}

/// Generates an ES256 or EdDSA key pair. RSA keys, which take long to generate
/// and are larger, are left to openssl.
pub fn generate_key_pair(algorithm: SigningAlgorithm) -> Result<GeneratedKeyPair, KeyError> {
    let rng = SystemRandom::new();
    let (pkcs8, spki) = match algorithm {
        SigningAlgorithm::Rs256 => return Err(KeyError::GenerationNotSupported(algorithm)),
        SigningAlgorithm::Es256 => generate_p256(&rng)?,
        SigningAlgorithm::EdDsa => generate_ed25519(&rng)?,
    };
    Ok(GeneratedKeyPair {
        algorithm,
        private_key_pem: Zeroizing::new(pem_encode("PRIVATE KEY", &pkcs8)),
        public_key_pem: pem_encode("PUBLIC KEY", &spki),
    })
}

/// Returns the PKCS#8 private key and the SPKI public key, both DER.
fn generate_p256(rng: &SystemRandom) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), KeyError> {
    let signing = &ECDSA_P256_SHA256_FIXED_SIGNING;
    let document =
        EcdsaKeyPair::generate_pkcs8(signing, rng).map_err(|_| KeyError::GenerationFailed)?;
    let pkcs8 = Zeroizing::new(document.as_ref().to_vec());
    let pair =
        EcdsaKeyPair::from_pkcs8(signing, &pkcs8, rng).map_err(|_| KeyError::GenerationFailed)?;
    let spki = [P256_SPKI_PREFIX, pair.public_key().as_ref()].concat();
    Ok((pkcs8, spki))
}

/// Returns the PKCS#8 private key and the SPKI public key, both DER.
fn generate_ed25519(rng: &SystemRandom) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), KeyError> {
    let document = Ed25519KeyPair::generate_pkcs8(rng).map_err(|_| KeyError::GenerationFailed)?;
    // ring writes PKCS#8 v2 (seed and public key). Other toolchains (older
    // OpenSSL, Go, Java) expect v1, which holds the same seed alone.
    let seed = document
        .as_ref()
        .strip_prefix(ED25519_PKCS8_V2_PREFIX)
        .and_then(|rest| rest.get(..ED25519_KEY_LEN))
        .ok_or(KeyError::GenerationFailed)?;
    let pkcs8 = Zeroizing::new([ED25519_PKCS8_V1_PREFIX, seed].concat());
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8)
        .map_err(|_| KeyError::GenerationFailed)?;
    let spki = [ED25519_SPKI_PREFIX, pair.public_key().as_ref()].concat();
    Ok((pkcs8, spki))
}

/// PEM with LF line endings. The string is allocated at its final size, so a
/// private key leaves no stray copies behind when the caller zeroizes it.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let base64 = Zeroizing::new(STANDARD.encode(der));
    let lines = base64.len().div_ceil(64);
    let mut pem = String::with_capacity(base64.len() + lines + 2 * label.len() + 32);
    pem.push_str("-----BEGIN ");
    pem.push_str(label);
    pem.push_str("-----\n");
    for line in base64.as_bytes().chunks(64) {
        pem.extend(line.iter().copied().map(char::from));
        pem.push('\n');
    }
    pem.push_str("-----END ");
    pem.push_str(label);
    pem.push_str("-----\n");
    pem
}

// ---------------------------------------------------------------------------
// Minting
// ---------------------------------------------------------------------------

/// What a minted token says.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenClaims {
    pub user_id: String,
    /// Becomes `aud: "patchbay:{id}"` when set.
    pub project_id: Option<Uuid>,
    pub issued_at: i64,
    pub expires_at: i64,
    /// `nbf`, for tokens that start to be valid later.
    pub not_before: Option<i64>,
    /// `Name`, `Email` and any other metadata claims.
    pub meta: Map<String, Value>,
    /// The permissions claim, as given.
    pub permissions: Option<Map<String, Value>>,
}

impl TokenClaims {
    fn to_json(&self) -> Result<Map<String, Value>, KeyError> {
        if let Some(name) = self.meta.keys().find(|name| is_reserved(name)) {
            return Err(KeyError::ReservedClaim(name.clone()));
        }
        let mut claims = self.meta.clone();
        claims.insert("sub".into(), self.user_id.clone().into());
        claims.insert("iat".into(), self.issued_at.into());
        claims.insert("exp".into(), self.expires_at.into());
        if let Some(not_before) = self.not_before {
            claims.insert("nbf".into(), not_before.into());
        }
        if let Some(project_id) = self.project_id {
            claims.insert("aud".into(), format!("patchbay:{project_id}").into());
        }
        if let Some(permissions) = &self.permissions {
            claims.insert(PERMISSIONS_CLAIM.into(), permissions.clone().into());
        }
        Ok(claims)
    }
}

/// Mints a user token (for `patchbay token mint`, the Rust SDK and tests).
pub fn mint(
    private_key_pem: &str,
    algorithm: SigningAlgorithm,
    kid: Option<&str>,
    claims: &TokenClaims,
) -> Result<String, KeyError> {
    let claims = claims.to_json()?;
    let key = encoding_key(private_key_pem, algorithm)?;
    let mut header = Header::new(algorithm.jwt_algorithm());
    header.kid = kid.map(str::to_owned);
    // Signing fails when ring refuses the key (a wrong curve, a short RSA key).
    jsonwebtoken::encode(&header, &claims, &key).map_err(|_| KeyError::InvalidPrivateKey(algorithm))
}

fn encoding_key(pem: &str, algorithm: SigningAlgorithm) -> Result<EncodingKey, KeyError> {
    let pem = pem.as_bytes();
    match algorithm {
        SigningAlgorithm::Rs256 => EncodingKey::from_rsa_pem(pem),
        SigningAlgorithm::Es256 => EncodingKey::from_ec_pem(pem),
        SigningAlgorithm::EdDsa => EncodingKey::from_ed_pem(pem),
    }
    .map_err(|_| KeyError::InvalidPrivateKey(algorithm))
}

fn is_reserved(claim: &str) -> bool {
    RESERVED_CLAIMS.contains(&claim)
}

// ---------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------

/// What a verified token says.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    pub user_id: String,
    /// Every claim that is not a registered one: `Name`, `Email`, and the rest.
    pub meta: Map<String, Value>,
    /// `None` when the token carries no permissions claim: it may do anything
    /// its user may.
    pub permissions: Option<Permissions>,
    pub expires_at: i64,
    /// The `kid` of the key that verified the token, to tell when a retired
    /// key has stopped being used.
    pub key_id: String,
}

impl VerifiedToken {
    /// Whether this token may see and use one of its user's credentials.
    pub fn allows_credential(&self, integration_type: &str, credential_id: Uuid) -> bool {
        self.permissions
            .as_ref()
            .is_none_or(|p| p.allows_credential(integration_type, credential_id))
    }

    /// Whether this token may see and use one configuration of one of its user's credentials.
    pub fn allows_configuration(
        &self,
        integration_type: &str,
        credential_id: Uuid,
        configuration: ConfigurationRef<'_>,
    ) -> bool {
        self.permissions
            .as_ref()
            .is_none_or(|p| p.allows_configuration(integration_type, credential_id, configuration))
    }

    /// Whether this token may connect a new account of this integration.
    pub fn allows_new_credentials(&self, integration_type: &str) -> bool {
        self.permissions
            .as_ref()
            .is_none_or(|p| p.allows_new_credentials(integration_type))
    }
}

/// Verifies a user token presented to project `project_id`, signed by one of
/// `keys`, at `now_unix` (seconds).
pub fn verify(
    token: &str,
    project_id: Uuid,
    keys: &[VerificationKey],
    now_unix: i64,
) -> Result<VerifiedToken, TokenError> {
    let parts = TokenParts::split(token)?;
    let header = JoseHeader::decode(parts.header)?;
    let key = verifying_key(&parts, &header, keys)?;
    let claims = decode_json_object(parts.payload).ok_or(TokenError::Malformed(
        "the payload is not base64url-encoded JSON",
    ))?;
    read_claims(claims, project_id, now_unix, &key.kid)
}

/// The three dot-separated segments of a compact JWS.
#[derive(Debug)]
struct TokenParts<'t> {
    header: &'t str,
    payload: &'t str,
    signature: &'t str,
    /// `header.payload`, the bytes the signature covers.
    signing_input: &'t str,
}

impl<'t> TokenParts<'t> {
    fn split(token: &'t str) -> Result<Self, TokenError> {
        const NOT_THREE_PARTS: TokenError =
            TokenError::Malformed("a JWT has three dot-separated parts");
        let (signing_input, signature) = token.rsplit_once('.').ok_or(NOT_THREE_PARTS)?;
        let (header, payload) = signing_input.split_once('.').ok_or(NOT_THREE_PARTS)?;
        if payload.contains('.') {
            return Err(NOT_THREE_PARTS);
        }
        Ok(Self {
            header,
            payload,
            signature,
            signing_input,
        })
    }
}

/// The parts of the JOSE header that matter here.
#[derive(Debug)]
struct JoseHeader {
    algorithm: SigningAlgorithm,
    kid: Option<String>,
}

impl JoseHeader {
    fn decode(segment: &str) -> Result<Self, TokenError> {
        let header = decode_json_object(segment).ok_or(TokenError::Malformed(
            "the header is not base64url-encoded JSON",
        ))?;
        let algorithm = match header.get("alg") {
            // An unsigned token gets its own answer: it is an attack or a
            // misconfigured signer, never a key-choice mistake.
            Some(Value::String(alg)) if alg.eq_ignore_ascii_case("none") => {
                return Err(TokenError::Unsigned);
            }
            Some(Value::String(alg)) => alg.parse().map_err(|_| TokenError::AlgorithmNotAllowed)?,
            _ => return Err(TokenError::Malformed("the header has no `alg`")),
        };
        // RFC 7515 §4.1.11: extensions marked critical must be understood, and
        // none are.
        if header.contains_key("crit") {
            return Err(TokenError::Malformed(
                "the header lists critical extensions (`crit`), which are not supported",
            ));
        }
        let kid = match header.get("kid") {
            None | Some(Value::Null) => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(TokenError::Malformed("the header's `kid` is not a string")),
        };
        Ok(Self { algorithm, kid })
    }
}

fn decode_json_object(segment: &str) -> Option<Map<String, Value>> {
    let json = URL_SAFE_NO_PAD.decode(segment).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Finds the key that verifies the token's signature.
fn verifying_key<'k>(
    parts: &TokenParts<'_>,
    header: &JoseHeader,
    keys: &'k [VerificationKey],
) -> Result<&'k VerificationKey, TokenError> {
    candidate_keys(header, keys)?
        .into_iter()
        .find(|key| signature_matches(parts, key))
        .ok_or(TokenError::BadSignature)
}

/// The keys a token may be checked against: the one its `kid` names, or every
/// key of its algorithm, since several can be active during a rotation.
fn candidate_keys<'k>(
    header: &JoseHeader,
    keys: &'k [VerificationKey],
) -> Result<Vec<&'k VerificationKey>, TokenError> {
    let of_algorithm = |key: &&VerificationKey| key.algorithm == header.algorithm;
    let Some(kid) = &header.kid else {
        let candidates: Vec<_> = keys.iter().filter(of_algorithm).collect();
        return non_empty(candidates, TokenError::UnknownKey);
    };
    let named: Vec<_> = keys.iter().filter(|key| key.kid == *kid).collect();
    let named = non_empty(named, TokenError::UnknownKey)?;
    let candidates = named.into_iter().filter(of_algorithm).collect();
    non_empty(candidates, TokenError::AlgorithmNotAllowed)
}

fn non_empty<T>(items: Vec<T>, otherwise: TokenError) -> Result<Vec<T>, TokenError> {
    if items.is_empty() {
        Err(otherwise)
    } else {
        Ok(items)
    }
}

fn signature_matches(parts: &TokenParts<'_>, key: &VerificationKey) -> bool {
    key.decoding_key().is_some_and(|decoding_key| {
        jsonwebtoken::crypto::verify(
            parts.signature,
            parts.signing_input.as_bytes(),
            &decoding_key,
            key.algorithm.jwt_algorithm(),
        )
        .unwrap_or(false)
    })
}

fn read_claims(
    mut claims: Map<String, Value>,
    project_id: Uuid,
    now: i64,
    key_id: &str,
) -> Result<VerifiedToken, TokenError> {
    if crate::nul::first_nul(&Value::Object(claims.clone())).is_some() {
        return Err(TokenError::Malformed("a claim holds a NUL character"));
    }
    let user_id = subject(&claims)?;
    let issued_at = numeric_date(&claims, "iat").ok_or(TokenError::MissingClaim("iat"))?;
    let expires_at = numeric_date(&claims, "exp").ok_or(TokenError::MissingClaim("exp"))?;
    let not_before = match claims.get("nbf") {
        None => None,
        Some(_) => Some(
            numeric_date(&claims, "nbf").ok_or(TokenError::Malformed("`nbf` is not a number"))?,
        ),
    };
    check_lifetime(now, issued_at, expires_at, not_before)?;
    check_audience(claims.get("aud"), project_id)?;
    let permissions = claims
        .get(PERMISSIONS_CLAIM)
        .map(Permissions::from_claim)
        .transpose()?;
    claims.retain(|name, _| !is_reserved(name));
    Ok(VerifiedToken {
        user_id,
        meta: claims,
        permissions,
        expires_at,
        key_id: key_id.to_owned(),
    })
}

fn subject(claims: &Map<String, Value>) -> Result<String, TokenError> {
    match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => Ok(sub.clone()),
        _ => Err(TokenError::MissingClaim("sub")),
    }
}

/// A NumericDate in whole seconds; `None` when absent or not a number.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    let number = claims.get(name)?.as_number()?;
    // Fractional seconds are allowed (RFC 7519 §2); the cast saturates.
    number
        .as_i64()
        .or_else(|| number.as_f64().map(|seconds| seconds.floor() as i64))
}

fn check_lifetime(
    now: i64,
    issued_at: i64,
    expires_at: i64,
    not_before: Option<i64>,
) -> Result<(), TokenError> {
    if now > expires_at.saturating_add(CLOCK_SKEW_LEEWAY_SECS) {
        return Err(TokenError::Expired);
    }
    let valid_from = not_before.map_or(issued_at, |nbf| nbf.max(issued_at));
    if valid_from > now.saturating_add(CLOCK_SKEW_LEEWAY_SECS) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

/// `aud` is optional; when present (a string or an array of them) it must name
/// this project in Paragon's form or Patchbay's.
fn check_audience(audience: Option<&Value>, project_id: Uuid) -> Result<(), TokenError> {
    const NOT_STRINGS: TokenError = TokenError::Malformed("`aud` is not a string or strings");
    let audiences: Vec<&str> = match audience {
        None => return Ok(()),
        Some(Value::String(audience)) => vec![audience],
        Some(Value::Array(audiences)) => audiences
            .iter()
            .map(|audience| audience.as_str().ok_or(NOT_STRINGS))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(NOT_STRINGS),
    };
    if audiences
        .iter()
        .any(|audience| names_project(audience, project_id))
    {
        Ok(())
    } else {
        Err(TokenError::WrongAudience)
    }
}

fn names_project(audience: &str, project_id: Uuid) -> bool {
    ["useparagon.com/", "patchbay:"]
        .iter()
        .filter_map(|prefix| audience.strip_prefix(prefix))
        .any(|id| Uuid::try_parse(id).is_ok_and(|id| id == project_id))
}

// ---------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------

/// The permissions claim (**Beyond**): which integrations, credentials and configurations a
/// token may see and use. The most specific entry wins: a configuration's own entry, else its
/// credential's, else its integration's, else `integration:*`, else denied. A credential is
/// visible when one of its configurations is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    all_integrations: Option<bool>,
    integrations: BTreeMap<String, bool>,
    credentials: BTreeMap<Uuid, bool>,
    configurations: BTreeMap<Uuid, bool>,
    /// `configuration:ext:<label>` entries, by label.
    labelled_configurations: BTreeMap<String, bool>,
}

/// One configuration of a credential, as the permissions claim may name it.
#[derive(Debug, Clone, Copy)]
pub struct ConfigurationRef<'a> {
    pub id: Uuid,
    pub external_id: Option<&'a str>,
}

/// One key of the permissions claim.
#[derive(Debug)]
enum Scope<'a> {
    AllIntegrations,
    Integration(&'a str),
    Credential(Uuid),
    Configuration(Uuid),
    LabelledConfiguration(&'a str),
}

const MALFORMED_PERMISSIONS: TokenError = TokenError::Malformed(
    "the permissions claim must map `integration:*`, `integration:<type>`, \
     `credential:<uuid>`, `configuration:<uuid>` or `configuration:ext:<externalId>` to true \
     or false",
);

impl Permissions {
    /// Parses the value of the permissions claim.
    pub fn from_claim(claim: &Value) -> Result<Self, TokenError> {
        let Value::Object(entries) = claim else {
            return Err(MALFORMED_PERMISSIONS);
        };
        let mut permissions = Self::default();
        for (scope, allowed) in entries {
            let Value::Bool(allowed) = allowed else {
                return Err(MALFORMED_PERMISSIONS);
            };
            permissions.insert(parse_scope(scope)?, *allowed)?;
        }
        Ok(permissions)
    }

    fn insert(&mut self, scope: Scope<'_>, allowed: bool) -> Result<(), TokenError> {
        let previous = match scope {
            Scope::AllIntegrations => self.all_integrations.replace(allowed),
            Scope::Integration(integration_type) => self
                .integrations
                .insert(integration_type.to_owned(), allowed),
            Scope::Credential(id) => self.credentials.insert(id, allowed),
            Scope::Configuration(id) => self.configurations.insert(id, allowed),
            Scope::LabelledConfiguration(label) => self
                .labelled_configurations
                .insert(label.to_owned(), allowed),
        };
        // Two spellings of one credential id (case, braces) that disagree:
        // refuse rather than guess which one the signer meant.
        match previous {
            Some(previous) if previous != allowed => Err(MALFORMED_PERMISSIONS),
            _ => Ok(()),
        }
    }

    /// Whether the token may see and use this credential.
    pub fn allows_credential(&self, integration_type: &str, credential_id: Uuid) -> bool {
        self.credentials
            .get(&credential_id)
            .copied()
            .or_else(|| self.integration_entry(integration_type))
            .unwrap_or(false)
    }

    /// Whether the token may see and use one configuration of a credential: the
    /// configuration's own entry (by id, else by label), else the credential's rule.
    pub fn allows_configuration(
        &self,
        integration_type: &str,
        credential_id: Uuid,
        configuration: ConfigurationRef<'_>,
    ) -> bool {
        self.configurations
            .get(&configuration.id)
            .or_else(|| {
                configuration
                    .external_id
                    .and_then(|label| self.labelled_configurations.get(label))
            })
            .copied()
            .unwrap_or_else(|| self.allows_credential(integration_type, credential_id))
    }

    /// Whether the token may connect a new account of this integration; only
    /// integration-level entries can allow that.
    pub fn allows_new_credentials(&self, integration_type: &str) -> bool {
        self.integration_entry(integration_type).unwrap_or(false)
    }

    fn integration_entry(&self, integration_type: &str) -> Option<bool> {
        self.integrations
            .get(integration_type)
            .copied()
            .or(self.all_integrations)
    }
}

fn parse_scope(scope: &str) -> Result<Scope<'_>, TokenError> {
    if let Some(integration) = scope.strip_prefix("integration:") {
        return match integration {
            "*" => Ok(Scope::AllIntegrations),
            "" => Err(MALFORMED_PERMISSIONS),
            integration_type => Ok(Scope::Integration(integration_type)),
        };
    }
    if let Some(id) = scope.strip_prefix("credential:") {
        return Uuid::try_parse(id)
            .map(Scope::Credential)
            .map_err(|_| MALFORMED_PERMISSIONS);
    }
    if let Some(configuration) = scope.strip_prefix("configuration:") {
        return match configuration.strip_prefix("ext:") {
            Some("") => Err(MALFORMED_PERMISSIONS),
            Some(label) => Ok(Scope::LabelledConfiguration(label)),
            None => Uuid::try_parse(configuration)
                .map(Scope::Configuration)
                .map_err(|_| MALFORMED_PERMISSIONS),
        };
    }
    Err(MALFORMED_PERMISSIONS)
}
