//! Public key inspection, key generation and minting.

use std::str::FromStr as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use patchbay_core::user_token::{
    KeyError, SigningAlgorithm, VerificationKey, generate_key_pair, inspect_public_key, mint,
};
use serde_json::json;

use super::{NOW, Signer, claims, fixture, json_object, verify_at};

#[test]
fn each_supported_public_key_maps_to_its_one_algorithm() {
    let cases = [
        ("test-only-rsa-2048-a.public.pem", SigningAlgorithm::Rs256),
        (
            "test-only-rsa-2048-a.public-pkcs1.pem",
            SigningAlgorithm::Rs256,
        ),
        ("test-only-rsa-2048-b.public.pem", SigningAlgorithm::Rs256),
        ("test-only-ec-p256.public.pem", SigningAlgorithm::Es256),
        ("test-only-ed25519.public.pem", SigningAlgorithm::EdDsa),
    ];
    for (name, algorithm) in cases {
        assert_eq!(inspect_public_key(&fixture(name)), Ok(algorithm), "{name}");
    }
}

#[test]
fn private_keys_are_refused_and_named() {
    for name in [
        "test-only-rsa-2048-a.private.pem",
        "test-only-rsa-2048-b.private-pkcs1.pem",
        "test-only-ec-p256.private.pem",
        "test-only-ed25519.private.pem",
    ] {
        let private_key = fixture(name);
        let error = inspect_public_key(&private_key).unwrap_err();
        assert_eq!(error, KeyError::PrivateKey, "{name}");
        let body = private_key.lines().nth(1).unwrap();
        assert!(
            !error.to_string().contains(body),
            "the error reveals the key"
        );
    }
    // Even next to the public key it belongs to.
    let both =
        fixture("test-only-rsa-2048-a.public.pem") + &fixture("test-only-rsa-2048-a.private.pem");
    assert_eq!(inspect_public_key(&both), Err(KeyError::PrivateKey));
}

#[test]
fn a_1024_bit_rsa_key_is_too_short() {
    let error = inspect_public_key(&fixture("test-only-rsa-1024.public.pem")).unwrap_err();
    assert_eq!(error, KeyError::RsaKeySize { bits: 1024 });
    assert!(error.to_string().contains("2048"), "{error}");
}

#[test]
fn other_curves_and_key_types_are_refused() {
    assert_eq!(
        inspect_public_key(&fixture("test-only-ec-p384.public.pem")),
        Err(KeyError::UnsupportedCurve)
    );
    assert_eq!(
        inspect_public_key(&fixture("test-only-x25519.public.pem")),
        Err(KeyError::UnsupportedKeyType)
    );
}

#[test]
fn certificates_are_refused_with_a_hint() {
    let error = inspect_public_key(&fixture("test-only-rsa-2048-a.certificate.pem")).unwrap_err();
    assert_eq!(error, KeyError::Certificate);
    assert!(error.to_string().contains("-pubkey"), "{error}");
}

#[test]
fn garbage_is_refused() {
    for text in [
        "",
        "hello",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    ] {
        assert_eq!(inspect_public_key(text), Err(KeyError::NotPem), "{text:?}");
    }
    let bad_base64 = "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n";
    assert_eq!(inspect_public_key(bad_base64), Err(KeyError::NotPem));
    assert_eq!(
        inspect_public_key(&pem("PUBLIC KEY", b"not der at all")),
        Err(KeyError::InvalidPublicKey)
    );
    assert_eq!(
        inspect_public_key(&pem("PUBLIC KEY", &[])),
        Err(KeyError::InvalidPublicKey)
    );
    assert_eq!(
        inspect_public_key(&pem("SSH2 PUBLIC KEY", b"x")),
        Err(KeyError::UnsupportedPemLabel("SSH2 PUBLIC KEY".into()))
    );
    let two = fixture("test-only-ec-p256.public.pem") + &fixture("test-only-ed25519.public.pem");
    assert_eq!(
        inspect_public_key(&two),
        Err(KeyError::MultiplePemBlocks(2))
    );
}

#[test]
fn mangled_key_structures_are_refused() {
    let p256 = der_of(&fixture("test-only-ec-p256.public.pem"));
    let ed25519 = der_of(&fixture("test-only-ed25519.public.pem"));
    // A compressed P-256 point: 0x02 ‖ x, in a correctly sized SPKI.
    let mut compressed = vec![0x30, 0x39, 0x30, 0x13];
    compressed.extend_from_slice(&p256[4..23]);
    compressed.extend_from_slice(&[0x03, 0x22, 0x00, 0x02]);
    compressed.extend_from_slice(&p256[27..59]);
    // Ed25519 with its last key byte cut off (lengths fixed up).
    let mut short = ed25519[..43].to_vec();
    short[1] -= 1;
    short[10] -= 1;
    // Trailing bytes after the SPKI.
    let mut trailing = ed25519.clone();
    trailing.push(0);
    // A BIT STRING claiming unused bits in its last byte.
    let mut unused_bits = ed25519.clone();
    unused_bits[11] = 1;
    // A long-form length where the short form fits (not DER).
    let mut long_length = vec![0x30, 0x81];
    long_length.extend_from_slice(&ed25519[1..]);
    for (what, der) in [
        ("compressed point", compressed),
        ("short key", short),
        ("trailing bytes", trailing),
        ("unused bits", unused_bits),
        ("long-form length", long_length),
    ] {
        assert_eq!(
            inspect_public_key(&pem("PUBLIC KEY", &der)),
            Err(KeyError::InvalidPublicKey),
            "{what}"
        );
    }
    // Control: the untouched keys pass.
    assert_eq!(
        inspect_public_key(&pem("PUBLIC KEY", &p256)),
        Ok(SigningAlgorithm::Es256)
    );
    assert_eq!(
        inspect_public_key(&pem("PUBLIC KEY", &ed25519)),
        Ok(SigningAlgorithm::EdDsa)
    );
}

#[test]
fn deeply_nested_der_is_refused_without_exhausting_the_stack() {
    // Thousands of nested SEQUENCEs, parsed on a stack far smaller than any
    // server thread's: a parser that recursed into them would overflow it.
    let nested = nested_sequences(60 * 1024);
    let mut wrapped = vec![0x30, 0x82];
    wrapped.extend(u16::try_from(nested.len()).unwrap().to_be_bytes());
    wrapped.extend(&nested);
    for (label, der) in [
        ("PUBLIC KEY", nested.clone()),
        ("RSA PUBLIC KEY", nested),
        ("PUBLIC KEY", wrapped),
    ] {
        let text = pem(label, &der);
        let outcome = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || inspect_public_key(&text))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(outcome, Err(KeyError::InvalidPublicKey));
    }
}

/// Empty SEQUENCEs wrapped in one another until `max_len` bytes.
fn nested_sequences(max_len: usize) -> Vec<u8> {
    let mut der: Vec<u8> = Vec::new();
    loop {
        let header = sequence_header(der.len());
        if header.len() + der.len() > max_len {
            return der;
        }
        der.splice(0..0, header);
    }
}

fn sequence_header(len: usize) -> Vec<u8> {
    let [.., high, low] = len.to_be_bytes();
    match len {
        0..0x80 => vec![0x30, low],
        0x80..0x100 => vec![0x30, 0x81, low],
        _ => vec![0x30, 0x82, high, low],
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        STANDARD.encode(der)
    )
}

fn der_of(pem_text: &str) -> Vec<u8> {
    let body: String = pem_text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(body).unwrap()
}

#[test]
fn verification_keys_are_pinned_when_made_from_pem() {
    let key = VerificationKey::from_pem("k", fixture("test-only-ed25519.public.pem")).unwrap();
    assert_eq!(
        (key.kid.as_str(), key.algorithm),
        ("k", SigningAlgorithm::EdDsa)
    );
    assert_eq!(
        VerificationKey::from_pem("k", fixture("test-only-rsa-1024.public.pem")),
        Err(KeyError::RsaKeySize { bits: 1024 })
    );
}

#[test]
fn generated_key_pairs_sign_tokens_their_public_half_verifies() {
    for algorithm in [SigningAlgorithm::Es256, SigningAlgorithm::EdDsa] {
        let pair = generate_key_pair(algorithm).unwrap();
        assert_eq!(pair.algorithm, algorithm);
        assert!(
            pair.private_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        assert!(
            pair.public_key_pem
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
        assert_eq!(inspect_public_key(&pair.public_key_pem), Ok(algorithm));
        assert_eq!(
            inspect_public_key(&pair.private_key_pem),
            Err(KeyError::PrivateKey)
        );
        let token = mint(
            &pair.private_key_pem,
            algorithm,
            Some("dev"),
            &claims("user-1"),
        )
        .unwrap();
        let key = VerificationKey::from_pem("dev", pair.public_key_pem.clone()).unwrap();
        assert_eq!(verify_at(&token, &[key], NOW).unwrap().user_id, "user-1");
        let other = generate_key_pair(algorithm).unwrap();
        assert_ne!(*other.private_key_pem, *pair.private_key_pem);
    }
}

#[test]
fn generated_ed25519_keys_are_pkcs8_v1_for_other_toolchains() {
    let pair = generate_key_pair(SigningAlgorithm::EdDsa).unwrap();
    let der = der_of(&pair.private_key_pem);
    // Version 0 and no embedded public key: 48 bytes.
    assert_eq!(der.len(), 48);
    assert_eq!(&der[..5], &[0x30, 0x2e, 0x02, 0x01, 0x00]);
}

#[test]
fn generated_pem_has_64_character_lines() {
    let pair = generate_key_pair(SigningAlgorithm::Es256).unwrap();
    for pem_text in [pair.private_key_pem.as_str(), pair.public_key_pem.as_str()] {
        assert!(
            pem_text.lines().all(|line| line.len() <= 64),
            "{}",
            pem_text.len()
        );
        assert!(pem_text.ends_with("-----\n"));
        assert!(!pem_text.contains('\r'));
    }
}

#[test]
fn rsa_keys_are_not_generated() {
    assert_eq!(
        generate_key_pair(SigningAlgorithm::Rs256).unwrap_err(),
        KeyError::GenerationNotSupported(SigningAlgorithm::Rs256)
    );
}

#[test]
fn debug_output_never_shows_a_private_key() {
    let pair = generate_key_pair(SigningAlgorithm::EdDsa).unwrap();
    let debug = format!("{pair:?}");
    let secret_body = pair.private_key_pem.lines().nth(1).unwrap();
    assert!(!debug.contains(secret_body), "{debug}");
    assert!(debug.contains("redacted"), "{debug}");
    assert!(
        debug.contains(pair.public_key_pem.lines().nth(1).unwrap()),
        "{debug}"
    );
}

#[test]
fn mint_refuses_keys_that_do_not_fit_the_algorithm() {
    let rsa = Signer::rsa_a();
    let ec = Signer::generated(SigningAlgorithm::Es256);
    let cases = [
        (rsa.private_key_pem.as_str(), SigningAlgorithm::Es256),
        (rsa.private_key_pem.as_str(), SigningAlgorithm::EdDsa),
        (ec.private_key_pem.as_str(), SigningAlgorithm::Rs256),
        (ec.private_key_pem.as_str(), SigningAlgorithm::EdDsa),
        (rsa.public_key_pem.as_str(), SigningAlgorithm::Rs256),
        (ec.public_key_pem.as_str(), SigningAlgorithm::Es256),
        ("garbage", SigningAlgorithm::Rs256),
    ];
    for (key, algorithm) in cases {
        let error = mint(key, algorithm, None, &claims("user-1")).unwrap_err();
        assert_eq!(error, KeyError::InvalidPrivateKey(algorithm), "{algorithm}");
        assert!(
            !error
                .to_string()
                .contains(key.lines().nth(1).unwrap_or("garbage"))
        );
    }
    let weak = fixture("test-only-rsa-1024.private.pem");
    assert_eq!(
        mint(&weak, SigningAlgorithm::Rs256, None, &claims("user-1")),
        Err(KeyError::InvalidPrivateKey(SigningAlgorithm::Rs256))
    );
}

#[test]
fn mint_refuses_metadata_that_would_overwrite_a_registered_claim() {
    let signer = Signer::generated(SigningAlgorithm::EdDsa);
    for name in [
        "sub",
        "exp",
        "aud",
        "iss",
        "urn:useparagon:connect:permissions",
    ] {
        let mut minted = claims("user-1");
        minted.meta = json_object(json!({ name: "x", "Name": "Ada" }));
        assert_eq!(
            mint(&signer.private_key_pem, signer.algorithm, None, &minted),
            Err(KeyError::ReservedClaim(name.to_owned()))
        );
    }
}

#[test]
fn algorithm_names_round_trip_exactly() {
    for algorithm in SigningAlgorithm::ALL {
        assert_eq!(
            SigningAlgorithm::from_str(algorithm.as_str()),
            Ok(algorithm)
        );
        assert_eq!(algorithm.to_string(), algorithm.as_str());
    }
    assert_eq!(
        SigningAlgorithm::ALL.map(SigningAlgorithm::as_str),
        ["RS256", "ES256", "EdDSA"]
    );
    for name in ["rs256", "HS256", "none", "EDDSA", ""] {
        assert!(SigningAlgorithm::from_str(name).is_err(), "{name:?}");
    }
}
