use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use patchbay_core::user_token::{self, SigningAlgorithm, TokenClaims};
use patchbay_test_support::{TestDb, TestProject, TestServer, backend_tests};
use serde_json::{Map, json};
use uuid::Uuid;

use crate::fixtures::connect_valid;

const RSA_A_PRIVATE: &str =
    include_str!("../../../patchbay-core/tests/fixtures/test-only-rsa-2048-a.private.pem");
const RSA_A_PUBLIC: &str =
    include_str!("../../../patchbay-core/tests/fixtures/test-only-rsa-2048-a.public.pem");
const RSA_B_PRIVATE: &str =
    include_str!("../../../patchbay-core/tests/fixtures/test-only-rsa-2048-b.private-pkcs1.pem");

fn claims(project: &TestProject, user: &str) -> TokenClaims {
    let now = chrono::Utc::now().timestamp();
    TokenClaims {
        user_id: user.to_owned(),
        project_id: Some(project.id),
        issued_at: now,
        expires_at: now + 600,
        not_before: None,
        meta: Map::new(),
        permissions: None,
    }
}

/// The `code` of `GET /sdk/me` with `token`, or "ok".
async fn outcome(project: &TestProject, token: String) -> String {
    match project.user_with_token(token).me().await {
        Ok(_) => "ok".to_owned(),
        Err(err) => err.code().unwrap_or("no code").to_owned(),
    }
}

fn unsigned(header: serde_json::Value, claims: serde_json::Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

async fn tokens_of_every_algorithm_are_accepted(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    assert_eq!(
        outcome(&project, project.signer.mint("ada").unwrap()).await,
        "ok"
    );

    let ed = user_token::generate_key_pair(SigningAlgorithm::EdDsa).unwrap();
    let ed_key = project
        .admin
        .add_signing_key(&ed.public_key_pem, Some("ed"))
        .await
        .unwrap();
    assert_eq!(ed_key.algorithm, "EdDSA");
    project
        .admin
        .add_signing_key(RSA_A_PUBLIC, Some("rsa"))
        .await
        .unwrap();
    let base = claims(&project, "ada");
    let ed_token = user_token::mint(
        &ed.private_key_pem,
        SigningAlgorithm::EdDsa,
        Some("ed"),
        &base,
    )
    .unwrap();
    let rsa_token =
        user_token::mint(RSA_A_PRIVATE, SigningAlgorithm::Rs256, Some("rsa"), &base).unwrap();
    // Without a kid, every key of the token's algorithm is tried.
    let no_kid = user_token::mint(
        &project.private_key_pem,
        SigningAlgorithm::Es256,
        None,
        &base,
    )
    .unwrap();
    for token in [ed_token, rsa_token, no_kid] {
        assert_eq!(outcome(&project, token).await, "ok");
    }
    let listed = project.admin.signing_keys().await.unwrap();
    let algorithms: Vec<_> = listed.data.iter().map(|k| k.algorithm.as_str()).collect();
    assert_eq!(algorithms, ["ES256", "EdDSA", "RS256"]);
}

async fn rejected_tokens_each_say_why(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let other = TestProject::create(&server).await;
    project
        .admin
        .add_signing_key(RSA_A_PUBLIC, Some("rsa"))
        .await
        .unwrap();
    let es = |claims: &TokenClaims, kid: Option<&str>| {
        user_token::mint(
            &project.private_key_pem,
            SigningAlgorithm::Es256,
            kid,
            claims,
        )
        .unwrap()
    };
    let kid = Some(project.kid.as_str());
    let now = chrono::Utc::now().timestamp();

    let expired = TokenClaims {
        issued_at: now - 900,
        expires_at: now - 120,
        ..claims(&project, "ada")
    };
    let early = TokenClaims {
        not_before: Some(now + 300),
        ..claims(&project, "ada")
    };
    let foreign = TokenClaims {
        project_id: Some(other.id),
        ..claims(&project, "ada")
    };
    let valid = claims(&project, "ada");
    let payload = json!({"sub": "ada", "iat": now, "exp": now + 600});
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some("rsa".into()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &payload,
        &jsonwebtoken::EncodingKey::from_secret(RSA_A_PUBLIC.as_bytes()),
    )
    .unwrap();

    let cases: BTreeMap<&str, String> = BTreeMap::from([
        ("expired", es(&expired, kid)),
        ("not yet valid", es(&early, kid)),
        ("unknown kid", es(&valid, Some("no-such-kid"))),
        (
            "bad signature",
            user_token::mint(RSA_B_PRIVATE, SigningAlgorithm::Rs256, Some("rsa"), &valid).unwrap(),
        ),
        (
            "alg none",
            unsigned(json!({"alg": "none", "typ": "JWT"}), payload.clone(), b""),
        ),
        ("HS256 with the public key", hs256),
        ("other project", es(&foreign, kid)),
    ]);
    let mut codes = BTreeMap::new();
    for (case, token) in cases {
        let code = outcome(&project, token).await;
        assert!(code.starts_with("unauthorized_"), "{case}: {code}");
        codes.insert(code, case);
    }
    assert_eq!(codes.len(), 7, "each rejection has its own code: {codes:?}");

    // A revoked key verifies nothing any more, not even a token this server
    // has already accepted (and remembers as verified).
    let accepted = es(&valid, kid);
    for _ in 0..2 {
        let me = project
            .user_with_token(accepted.clone())
            .me()
            .await
            .unwrap();
        assert_eq!(me.user_id, "ada");
    }
    project
        .admin
        .revoke_signing_key(&project.kid)
        .await
        .unwrap();
    assert_eq!(
        outcome(&project, accepted).await,
        "unauthorized_unknown_key"
    );
    assert_eq!(
        outcome(&project, es(&valid, kid)).await,
        "unauthorized_unknown_key"
    );
    assert_eq!(
        outcome(&project, "not.a.jwt".to_owned()).await,
        "unauthorized_malformed_token"
    );
}

async fn a_credential_scoped_token_sees_only_that_credential(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let a = connect_valid(&server, &project, "ada", "crm", "T-A").await;
    let b = connect_valid(&server, &project, "ada", "crm", "T-B").await;
    connect_valid(&server, &project, "ada", "chat", "C-1").await;
    let permissions = json!({format!("credential:{}", b.id): true})
        .as_object()
        .unwrap()
        .clone();
    let scoped = project.user_with_token(
        project
            .signer
            .mint_with("ada", Map::new(), Some(permissions))
            .unwrap(),
    );

    let me = scoped.me().await.unwrap();
    assert_eq!(
        me.integrations.keys().collect::<Vec<_>>(),
        ["crm"],
        "chat is not visible"
    );
    let crm = &me.integrations["crm"];
    assert_eq!(
        crm.all_credentials.iter().map(|c| c.id).collect::<Vec<_>>(),
        [b.id]
    );
    assert_eq!(
        crm.credential_id,
        Some(b.id),
        "the default among what the token sees"
    );
    assert_eq!(
        scoped
            .credentials(None)
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [b.id]
    );
    let hidden = scoped.credential(&a.id.to_string()).await.unwrap_err();
    let missing = scoped
        .credential(&Uuid::new_v4().to_string())
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Some("credential_not_found"));
    assert_eq!(format!("{hidden}"), format!("{missing}"));
    let enabled = scoped.enable_workflow("sync-contacts", None).await.unwrap();
    assert_eq!(enabled.id, b.id, "the only account it may use");
    let err = scoped
        .enable_workflow("sync-contacts", Some(&a.id.to_string()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("credential_not_found"));
    assert_eq!(
        scoped
            .integrations()
            .await
            .unwrap()
            .iter()
            .map(|i| i.type_name.as_str())
            .collect::<Vec<_>>(),
        ["crm"]
    );
}

/// A token expired less than the 60 s leeway ago is accepted, and rejected
/// once the leeway has passed, even though the server remembers it verified.
async fn a_remembered_token_still_expires(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let now = chrono::Utc::now().timestamp();
    let nearly_stale = TokenClaims {
        issued_at: now - 600,
        expires_at: now - 58,
        ..claims(&project, "ada")
    };
    let token = user_token::mint(
        &project.private_key_pem,
        SigningAlgorithm::Es256,
        Some(&project.kid),
        &nearly_stale,
    )
    .unwrap();
    assert_eq!(outcome(&project, token.clone()).await, "ok");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(outcome(&project, token).await, "unauthorized_token_expired");
}

backend_tests!(
    a_remembered_token_still_expires,
    tokens_of_every_algorithm_are_accepted,
    rejected_tokens_each_say_why,
    a_credential_scoped_token_sees_only_that_credential,
);
