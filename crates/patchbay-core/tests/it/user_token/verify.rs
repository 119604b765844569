//! `verify`: which tokens get in, and the distinct reason for each that does not.

use jsonwebtoken::{Algorithm, EncodingKey};
use patchbay_core::user_token::{SigningAlgorithm, TokenError, VerificationKey};
use serde_json::{Value, json};

use super::{
    NOW, Signer, b64_json, claims, fixture, json_object, other_project, project, rejection,
    sign_with, verify_at,
};

fn all_signers() -> Vec<Signer> {
    vec![
        Signer::rsa_a(),
        Signer::rsa_b(),
        Signer::generated(SigningAlgorithm::Es256),
        Signer::generated(SigningAlgorithm::EdDsa),
    ]
}

/// A payload valid at [`NOW`], for hand-built tokens.
fn valid_payload() -> Value {
    json!({"sub": "user-1", "iat": NOW - 10, "exp": NOW + 600})
}

#[test]
fn tokens_of_each_algorithm_are_accepted_with_and_without_kid() {
    for signer in all_signers() {
        let keys = [signer.key("k1")];
        for kid in [Some("k1"), None] {
            let token = signer.mint(kid, &claims("user-1"));
            let verified = verify_at(&token, &keys, NOW)
                .unwrap_or_else(|e| panic!("{} kid {kid:?}: {e}", signer.algorithm));
            assert_eq!(verified.user_id, "user-1");
            assert_eq!(verified.expires_at, NOW + 600);
            assert_eq!(verified.key_id, "k1");
            assert_eq!(verified.permissions, None);
            assert!(verified.meta.is_empty(), "{:?}", verified.meta);
        }
    }
}

#[test]
fn keys_made_by_openssl_sign_and_verify() {
    for (algorithm, name) in [
        (SigningAlgorithm::Es256, "test-only-ec-p256"),
        (SigningAlgorithm::EdDsa, "test-only-ed25519"),
    ] {
        let signer = Signer {
            algorithm,
            private_key_pem: fixture(&format!("{name}.private.pem")),
            public_key_pem: fixture(&format!("{name}.public.pem")),
        };
        let token = signer.mint(Some("k"), &claims("user-1"));
        assert_eq!(
            verify_at(&token, &[signer.key("k")], NOW).unwrap().user_id,
            "user-1"
        );
    }
}

#[test]
fn a_pkcs1_rsa_public_key_verifies_like_its_spki_form() {
    let key =
        VerificationKey::from_pem("k", fixture("test-only-rsa-2048-a.public-pkcs1.pem")).unwrap();
    assert_eq!(key.algorithm, SigningAlgorithm::Rs256);
    let token = Signer::rsa_a().mint(Some("k"), &claims("user-1"));
    assert_eq!(verify_at(&token, &[key], NOW).unwrap().user_id, "user-1");
}

#[test]
fn minted_tokens_carry_alg_kid_and_audience() {
    let signer = Signer::generated(SigningAlgorithm::EdDsa);
    let token = signer.mint(Some("key-7"), &claims("user-1"));
    let header = super::header_of(&token);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], "key-7");
    assert_eq!(header["typ"], "JWT");
    // The audience names the project: another project refuses the token.
    assert!(verify_at(&token, &[signer.key("key-7")], NOW).is_ok());
    let elsewhere =
        patchbay_core::user_token::verify(&token, other_project(), &[signer.key("key-7")], NOW);
    assert_eq!(elsewhere.unwrap_err(), TokenError::WrongAudience);
}

#[test]
fn expiry_allows_sixty_seconds_of_skew_and_no_more() {
    let signer = Signer::generated(SigningAlgorithm::Es256);
    let keys = [signer.key("k")];
    let mut expired = claims("user-1");
    expired.issued_at = NOW - 3600;
    expired.expires_at = NOW - 60;
    let token = signer.mint(Some("k"), &expired);
    assert!(verify_at(&token, &keys, NOW).is_ok());
    assert_eq!(
        verify_at(&token, &keys, NOW + 1).unwrap_err(),
        TokenError::Expired
    );
    expired.expires_at = NOW - 61;
    let error = rejection(&signer.mint(Some("k"), &expired), &keys);
    assert_eq!(error, TokenError::Expired);
    assert_eq!(error.code(), "unauthorized_token_expired");
}

#[test]
fn issued_in_the_future_allows_sixty_seconds_of_skew_and_no_more() {
    let signer = Signer::generated(SigningAlgorithm::EdDsa);
    let keys = [signer.key("k")];
    let mut early = claims("user-1");
    early.issued_at = NOW + 60;
    early.expires_at = NOW + 3600;
    let token = signer.mint(Some("k"), &early);
    assert!(verify_at(&token, &keys, NOW).is_ok());
    assert_eq!(
        verify_at(&token, &keys, NOW - 1).unwrap_err(),
        TokenError::NotYetValid
    );
    early.issued_at = NOW + 61;
    let error = rejection(&signer.mint(Some("k"), &early), &keys);
    assert_eq!(error, TokenError::NotYetValid);
    assert_eq!(error.code(), "unauthorized_token_not_yet_valid");
}

#[test]
fn not_before_allows_sixty_seconds_of_skew_and_no_more() {
    let signer = Signer::generated(SigningAlgorithm::EdDsa);
    let keys = [signer.key("k")];
    let mut later = claims("user-1");
    later.not_before = Some(NOW + 60);
    let token = signer.mint(Some("k"), &later);
    assert!(verify_at(&token, &keys, NOW).is_ok());
    assert_eq!(
        verify_at(&token, &keys, NOW - 1).unwrap_err(),
        TokenError::NotYetValid
    );
    later.not_before = Some(NOW + 61);
    assert_eq!(
        rejection(&signer.mint(Some("k"), &later), &keys),
        TokenError::NotYetValid
    );
}

#[test]
fn fractional_numeric_dates_are_accepted() {
    let signer = Signer::generated(SigningAlgorithm::Es256);
    let payload = json!({"sub": "user-1", "iat": NOW as f64 - 0.5, "exp": NOW as f64 + 600.9});
    let token = signer.sign_raw(&json!({"alg": "ES256", "kid": "k"}), &payload);
    assert_eq!(
        verify_at(&token, &[signer.key("k")], NOW)
            .unwrap()
            .expires_at,
        NOW + 600
    );
}

#[test]
fn a_kid_the_project_does_not_have_is_an_unknown_key() {
    let signer = Signer::generated(SigningAlgorithm::Es256);
    let token = signer.mint(Some("retired"), &claims("user-1"));
    let error = rejection(&token, &[signer.key("current")]);
    assert_eq!(error, TokenError::UnknownKey);
    assert_eq!(error.code(), "unauthorized_unknown_key");
    assert_eq!(rejection(&token, &[]), TokenError::UnknownKey);
}

#[test]
fn without_kid_a_project_with_no_key_of_that_algorithm_has_an_unknown_key() {
    let ec = Signer::generated(SigningAlgorithm::Es256);
    let token = ec.mint(None, &claims("user-1"));
    let keys = [
        Signer::rsa_a().key("rsa"),
        Signer::generated(SigningAlgorithm::EdDsa).key("ed"),
    ];
    assert_eq!(rejection(&token, &keys), TokenError::UnknownKey);
    assert_eq!(rejection(&token, &[]), TokenError::UnknownKey);
}

#[test]
fn a_tampered_payload_has_a_bad_signature() {
    for signer in all_signers() {
        let keys = [signer.key("k")];
        let genuine = signer.mint(Some("k"), &claims("user-1"));
        let forged_payload = signer.mint(Some("k"), &claims("admin"));
        let mut parts: Vec<&str> = genuine.split('.').collect();
        parts[1] = forged_payload.split('.').nth(1).unwrap();
        let tampered = parts.join(".");
        let error = rejection(&tampered, &keys);
        assert_eq!(error, TokenError::BadSignature, "{}", signer.algorithm);
        assert_eq!(error.code(), "unauthorized_bad_signature");
    }
}

#[test]
fn a_token_signed_by_another_key_has_a_bad_signature() {
    for (signer, impostor) in [
        (Signer::rsa_a(), Signer::rsa_b()),
        (
            Signer::generated(SigningAlgorithm::Es256),
            Signer::generated(SigningAlgorithm::Es256),
        ),
        (
            Signer::generated(SigningAlgorithm::EdDsa),
            Signer::generated(SigningAlgorithm::EdDsa),
        ),
    ] {
        let keys = [signer.key("k")];
        for kid in [Some("k"), None] {
            let token = impostor.mint(kid, &claims("user-1"));
            assert_eq!(
                rejection(&token, &keys),
                TokenError::BadSignature,
                "{}",
                signer.algorithm
            );
        }
    }
}

#[test]
fn a_stripped_or_garbled_signature_is_a_bad_signature() {
    let signer = Signer::rsa_a();
    let token = signer.mint(Some("k"), &claims("user-1"));
    let unsigned = format!("{}.", token.rsplit_once('.').unwrap().0);
    assert_eq!(
        rejection(&unsigned, &[signer.key("k")]),
        TokenError::BadSignature
    );
    let garbled = format!("{}.!!!", token.rsplit_once('.').unwrap().0);
    assert_eq!(
        rejection(&garbled, &[signer.key("k")]),
        TokenError::BadSignature
    );
}

#[test]
fn alg_none_is_refused_as_unsigned() {
    let keys = [Signer::rsa_a().key("k")];
    for alg in ["none", "None", "NONE"] {
        for kid in [json!("k"), Value::Null] {
            let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
            let token = format!("{}.{}.", b64_json(&header), b64_json(&valid_payload()));
            let error = rejection(&token, &keys);
            assert_eq!(error, TokenError::Unsigned, "{alg}");
            assert_eq!(error.code(), "unauthorized_unsigned_token");
        }
    }
}

#[test]
fn hs256_keyed_with_the_public_key_is_not_allowed() {
    let rsa = Signer::rsa_a();
    let ec = Signer::generated(SigningAlgorithm::Es256);
    let keys = [rsa.key("rsa"), ec.key("ec")];
    for (public_key_pem, kid) in [(&rsa.public_key_pem, "rsa"), (&ec.public_key_pem, "ec")] {
        let secret = EncodingKey::from_secret(public_key_pem.as_bytes());
        for algorithm in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            for header_kid in [json!(kid), Value::Null] {
                let header =
                    json!({"alg": format!("{algorithm:?}"), "typ": "JWT", "kid": header_kid});
                let token = sign_with(&header, &valid_payload(), &secret, algorithm);
                assert_eq!(
                    rejection(&token, &keys),
                    TokenError::AlgorithmNotAllowed,
                    "{algorithm:?}"
                );
            }
        }
    }
}

#[test]
fn other_asymmetric_algorithms_are_not_allowed() {
    let keys = [Signer::rsa_a().key("k")];
    for alg in [
        "RS384", "RS512", "PS256", "ES384", "ES512", "Ed25519", "rs256", "",
    ] {
        let header = json!({"alg": alg, "kid": "k"});
        let token = format!("{}.{}.c2ln", b64_json(&header), b64_json(&valid_payload()));
        assert_eq!(
            rejection(&token, &keys),
            TokenError::AlgorithmNotAllowed,
            "{alg:?}"
        );
    }
}

#[test]
fn a_key_pinned_to_one_algorithm_refuses_tokens_claiming_another() {
    let rsa = Signer::rsa_a();
    let ec = Signer::generated(SigningAlgorithm::Es256);
    // The project registered an EC key as "k"; the token says RS256 and "k".
    let token = rsa.mint(Some("k"), &claims("user-1"));
    assert_eq!(
        rejection(&token, &[ec.key("k")]),
        TokenError::AlgorithmNotAllowed
    );
    // And the other way round.
    let token = ec.mint(Some("k"), &claims("user-1"));
    assert_eq!(
        rejection(&token, &[rsa.key("k")]),
        TokenError::AlgorithmNotAllowed
    );
}

#[test]
fn a_stored_key_that_does_not_match_its_pinned_algorithm_verifies_nothing() {
    let ec = Signer::generated(SigningAlgorithm::Es256);
    let ed = Signer::generated(SigningAlgorithm::EdDsa);
    let mislabelled = VerificationKey {
        kid: "k".into(),
        algorithm: SigningAlgorithm::Es256,
        public_key_pem: ed.public_key_pem.clone(),
    };
    let token = ec.mint(Some("k"), &claims("user-1"));
    assert_eq!(rejection(&token, &[mislabelled]), TokenError::BadSignature);
    // Control: the same token with the right key.
    assert!(verify_at(&token, &[ec.key("k")], NOW).is_ok());
}

#[test]
fn a_1024_bit_rsa_key_verifies_nothing_even_when_stored_anyway() {
    let weak = VerificationKey {
        kid: "weak".into(),
        algorithm: SigningAlgorithm::Rs256,
        public_key_pem: fixture("test-only-rsa-1024.public.pem"),
    };
    let token = fixture("test-only-rsa-1024-signed.jwt");
    assert_eq!(rejection(token.trim(), &[weak]), TokenError::BadSignature);
}

#[test]
fn rotation_accepts_each_active_key_for_its_own_tokens() {
    let old = Signer::generated(SigningAlgorithm::Es256);
    let new = Signer::generated(SigningAlgorithm::Es256);
    let keys = [old.key("2024"), new.key("2025")];
    let by_old = old.mint(Some("2024"), &claims("user-1"));
    let by_new = new.mint(Some("2025"), &claims("user-1"));
    assert_eq!(verify_at(&by_old, &keys, NOW).unwrap().key_id, "2024");
    assert_eq!(verify_at(&by_new, &keys, NOW).unwrap().key_id, "2025");
    // Without kid every key of the algorithm is tried.
    assert_eq!(
        verify_at(&old.mint(None, &claims("u")), &keys, NOW)
            .unwrap()
            .key_id,
        "2024"
    );
    assert_eq!(
        verify_at(&new.mint(None, &claims("u")), &keys, NOW)
            .unwrap()
            .key_id,
        "2025"
    );
    // A kid selects exactly one key: the other key's token does not pass under it.
    let misnamed = new.mint(Some("2024"), &claims("user-1"));
    assert_eq!(rejection(&misnamed, &keys), TokenError::BadSignature);
    // Once the old key is removed its tokens stop working.
    assert_eq!(rejection(&by_old, &keys[1..]), TokenError::UnknownKey);
}

#[test]
fn rotation_across_algorithms() {
    let rsa = Signer::rsa_a();
    let ed = Signer::generated(SigningAlgorithm::EdDsa);
    let keys = [rsa.key("rsa"), ed.key("ed")];
    assert_eq!(
        verify_at(&rsa.mint(None, &claims("u")), &keys, NOW)
            .unwrap()
            .key_id,
        "rsa"
    );
    assert_eq!(
        verify_at(&ed.mint(None, &claims("u")), &keys, NOW)
            .unwrap()
            .key_id,
        "ed"
    );
}

#[test]
fn the_audience_must_name_this_project_when_present() {
    let signer = Signer::generated(SigningAlgorithm::EdDsa);
    let keys = [signer.key("k")];
    let mine = project();
    let theirs = other_project();
    let header = json!({"alg": "EdDSA", "kid": "k"});
    let with_audience = |aud: Value| {
        let mut payload = valid_payload();
        payload["aud"] = aud;
        signer.sign_raw(&header, &payload)
    };
    for accepted in [
        json!(format!("patchbay:{mine}")),
        json!(format!("useparagon.com/{mine}")),
        json!(format!("patchbay:{}", mine.to_string().to_uppercase())),
        json!([
            format!("patchbay:{theirs}"),
            format!("useparagon.com/{mine}")
        ]),
    ] {
        assert!(
            verify_at(&with_audience(accepted.clone()), &keys, NOW).is_ok(),
            "{accepted}"
        );
    }
    for refused in [
        json!(format!("patchbay:{theirs}")),
        json!(format!("useparagon.com/{theirs}")),
        json!([format!("patchbay:{theirs}")]),
        json!([]),
        json!(mine.to_string()),
        json!(format!("https://patchbay.example/{mine}")),
    ] {
        let error = rejection(&with_audience(refused.clone()), &keys);
        assert_eq!(error, TokenError::WrongAudience, "{refused}");
        assert_eq!(error.code(), "unauthorized_wrong_project");
    }
    for malformed in [
        json!(42),
        json!({"project": mine}),
        json!([format!("patchbay:{mine}"), 7]),
    ] {
        assert!(
            matches!(
                rejection(&with_audience(malformed.clone()), &keys),
                TokenError::Malformed(_)
            ),
            "{malformed}"
        );
    }
    // No audience at all is fine: the key already belongs to the project.
    assert!(verify_at(&signer.sign_raw(&header, &valid_payload()), &keys, NOW).is_ok());
}

#[test]
fn each_required_claim_is_named_when_missing() {
    let signer = Signer::generated(SigningAlgorithm::Es256);
    let keys = [signer.key("k")];
    let header = json!({"alg": "ES256", "kid": "k"});
    let cases = [
        ("sub", None),
        ("sub", Some(json!(""))),
        ("sub", Some(json!(42))),
        ("iat", None),
        ("iat", Some(json!("1700000000"))),
        ("exp", None),
        ("exp", Some(Value::Null)),
    ];
    for (claim, replacement) in cases {
        let mut payload = json_object(valid_payload());
        match &replacement {
            None => payload.remove(claim),
            Some(value) => payload.insert(claim.to_owned(), value.clone()),
        };
        let error = rejection(&signer.sign_raw(&header, &Value::Object(payload)), &keys);
        assert_eq!(
            error,
            TokenError::MissingClaim(claim),
            "{claim} = {replacement:?}"
        );
        assert_eq!(error.code(), "unauthorized_missing_claim");
        assert!(error.to_string().contains(&format!("`{claim}`")), "{error}");
    }
}

#[test]
fn a_non_numeric_nbf_is_malformed() {
    let signer = Signer::generated(SigningAlgorithm::Es256);
    let mut payload = valid_payload();
    payload["nbf"] = json!("soon");
    let token = signer.sign_raw(&json!({"alg": "ES256"}), &payload);
    assert!(matches!(
        rejection(&token, &[signer.key("k")]),
        TokenError::Malformed(_)
    ));
}

#[test]
fn metadata_claims_are_copied_and_registered_ones_are_not() {
    let signer = Signer::rsa_a();
    let permissions = json!({"integration:*": true});
    let payload = json!({
        "sub": "user-1", "iat": NOW, "exp": NOW + 60, "nbf": NOW,
        "aud": format!("patchbay:{}", project()), "iss": "backend", "jti": "once",
        "urn:useparagon:connect:permissions": permissions,
        "Name": "Ada Lovelace", "Email": "ada@example.com",
        "plan": {"tier": "pro", "seats": 3},
    });
    let token = signer.sign_raw(&json!({"alg": "RS256", "kid": "k"}), &payload);
    let verified = verify_at(&token, &[signer.key("k")], NOW).unwrap();
    let expected = json_object(json!({
        "Name": "Ada Lovelace", "Email": "ada@example.com", "plan": {"tier": "pro", "seats": 3},
    }));
    assert_eq!(verified.meta, expected);
    assert!(verified.permissions.is_some());
}

#[test]
fn metadata_given_to_mint_arrives_in_meta() {
    let signer = Signer::generated(SigningAlgorithm::EdDsa);
    let mut minted = claims("user-1");
    minted.meta =
        json_object(json!({"Name": "Grace", "Email": "grace@example.com", "team": ["a", "b"]}));
    let verified = verify_at(&signer.mint(None, &minted), &[signer.key("k")], NOW).unwrap();
    assert_eq!(verified.meta, minted.meta);
}

#[test]
fn structurally_broken_tokens_are_malformed() {
    let signer = Signer::rsa_a();
    let keys = [signer.key("k")];
    let payload = b64_json(&valid_payload());
    let cases = [
        String::new(),
        "not-a-jwt".to_owned(),
        "a.b".to_owned(),
        format!("{}.{payload}.sig.extra", b64_json(&json!({"alg": "RS256"}))),
        format!("%%%.{payload}.sig"),
        format!("{}.{payload}.sig", b64_json(&json!(["alg", "RS256"]))),
        format!("{}.{payload}.sig", super::b64_bytes(b"{\"alg\":")),
        format!("{}.{payload}.sig", b64_json(&json!({"typ": "JWT"}))),
        format!("{}.{payload}.sig", b64_json(&json!({"alg": 256}))),
    ];
    for token in cases {
        let error = rejection(&token, &keys);
        assert!(
            matches!(error, TokenError::Malformed(_)),
            "{token:?}: {error:?}"
        );
        assert_eq!(error.code(), "unauthorized_malformed_token");
    }
}

#[test]
fn a_signed_payload_that_is_not_json_is_malformed() {
    let signer = Signer::generated(SigningAlgorithm::EdDsa);
    let header = b64_json(&json!({"alg": "EdDSA", "kid": "k"}));
    let message = format!("{header}.{}", super::b64_bytes(b"not json"));
    let key = EncodingKey::from_ed_pem(signer.private_key_pem.as_bytes()).unwrap();
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::EdDSA).unwrap();
    let token = format!("{message}.{signature}");
    assert!(matches!(
        rejection(&token, &[signer.key("k")]),
        TokenError::Malformed(_)
    ));
}

#[test]
fn critical_header_extensions_and_odd_kids_are_malformed() {
    let signer = Signer::generated(SigningAlgorithm::EdDsa);
    let keys = [signer.key("k")];
    for header in [
        json!({"alg": "EdDSA", "kid": "k", "crit": ["b64"], "b64": false}),
        json!({"alg": "EdDSA", "kid": 7}),
    ] {
        let token = signer.sign_raw(&header, &valid_payload());
        assert!(
            matches!(rejection(&token, &keys), TokenError::Malformed(_)),
            "{header}"
        );
    }
    // Control: the same signer with a plain header.
    assert!(
        verify_at(
            &signer.sign_raw(&json!({"alg": "EdDSA", "kid": "k"}), &valid_payload()),
            &keys,
            NOW
        )
        .is_ok()
    );
}

#[test]
fn every_error_has_its_own_stable_code() {
    let cases = [
        (TokenError::Malformed("x"), "unauthorized_malformed_token"),
        (
            TokenError::AlgorithmNotAllowed,
            "unauthorized_algorithm_not_allowed",
        ),
        (TokenError::Unsigned, "unauthorized_unsigned_token"),
        (TokenError::UnknownKey, "unauthorized_unknown_key"),
        (TokenError::BadSignature, "unauthorized_bad_signature"),
        (TokenError::Expired, "unauthorized_token_expired"),
        (TokenError::NotYetValid, "unauthorized_token_not_yet_valid"),
        (
            TokenError::MissingClaim("sub"),
            "unauthorized_missing_claim",
        ),
        (TokenError::WrongAudience, "unauthorized_wrong_project"),
    ];
    for (error, code) in cases {
        assert_eq!(error.code(), code);
        assert!(!error.to_string().is_empty());
    }
}
