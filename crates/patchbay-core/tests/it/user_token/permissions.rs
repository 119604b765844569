//! The permissions claim: the most specific entry wins, anything odd is refused.

use patchbay_core::user_token::{
    ConfigurationRef, Permissions, SigningAlgorithm, TokenError, VerifiedToken,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{NOW, Signer, claims, json_object, rejection, verify_at};

const A: Uuid = Uuid::from_u128(0xa);
const B: Uuid = Uuid::from_u128(0xb);

fn permissions(claim: Value) -> Permissions {
    Permissions::from_claim(&claim).unwrap()
}

#[test]
fn the_most_specific_entry_decides_whether_a_credential_is_allowed() {
    // (claim, integration of the credential, credential, allowed)
    let cases = [
        (json!({"integration:*": true}), "slack", A, true),
        (json!({}), "slack", A, false),
        (json!({"integration:*": false}), "slack", A, false),
        (json!({"integration:slack": true}), "slack", A, true),
        (json!({"integration:slack": true}), "github", B, false),
        (
            json!({"integration:*": true, "integration:slack": false}),
            "slack",
            A,
            false,
        ),
        (
            json!({"integration:*": true, "integration:slack": false}),
            "github",
            B,
            true,
        ),
        (
            json!({"integration:*": false, "integration:slack": true}),
            "slack",
            A,
            true,
        ),
        (
            json!({"credential:00000000-0000-0000-0000-00000000000a": true}),
            "slack",
            A,
            true,
        ),
        (
            json!({"credential:00000000-0000-0000-0000-00000000000a": true}),
            "slack",
            B,
            false,
        ),
        (
            json!({"integration:slack": true, "credential:00000000-0000-0000-0000-00000000000a": false}),
            "slack",
            A,
            false,
        ),
        (
            json!({"integration:slack": true, "credential:00000000-0000-0000-0000-00000000000a": false}),
            "slack",
            B,
            true,
        ),
        (
            json!({"integration:slack": false, "credential:00000000-0000-0000-0000-00000000000a": true}),
            "slack",
            A,
            true,
        ),
        (
            json!({"integration:*": false, "credential:00000000-0000-0000-0000-00000000000a": true}),
            "slack",
            A,
            true,
        ),
        (
            json!({"integration:*": true, "credential:00000000-0000-0000-0000-00000000000a": false}),
            "slack",
            A,
            false,
        ),
        (json!({"integration:Slack": true}), "slack", A, false),
    ];
    for (claim, integration, credential, allowed) in cases {
        assert_eq!(
            permissions(claim.clone()).allows_credential(integration, credential),
            allowed,
            "{claim} for {integration}/{credential}"
        );
    }
}

#[test]
fn a_configuration_s_own_entry_wins_over_its_credential_s() {
    const TEAM: Uuid = Uuid::from_u128(0xc1);
    const OTHER: Uuid = Uuid::from_u128(0xc2);
    let team = ConfigurationRef {
        id: TEAM,
        external_id: Some("Team A"),
    };
    let other = ConfigurationRef {
        id: OTHER,
        external_id: None,
    };
    // (claim, configuration, allowed)
    let cases = [
        (
            json!({"configuration:00000000-0000-0000-0000-0000000000c1": true}),
            team,
            true,
        ),
        (
            json!({"configuration:00000000-0000-0000-0000-0000000000c1": true}),
            other,
            false,
        ),
        (json!({"configuration:ext:Team A": true}), team, true),
        (json!({"configuration:ext:Team A": true}), other, false),
        (
            json!({"credential:00000000-0000-0000-0000-00000000000a": true}),
            other,
            true,
        ),
        (
            json!({"credential:00000000-0000-0000-0000-00000000000a": true,
                   "configuration:ext:Team A": false}),
            team,
            false,
        ),
        (json!({"integration:slack": true}), team, true),
        (json!({}), team, false),
    ];
    for (claim, configuration, allowed) in cases {
        assert_eq!(
            permissions(claim.clone()).allows_configuration("slack", A, configuration),
            allowed,
            "{claim} {configuration:?}"
        );
    }
    // A configuration grant alone gives neither its credential whole nor new accounts.
    let only = permissions(json!({"configuration:ext:Team A": true}));
    assert!(!only.allows_credential("slack", A));
    assert!(!only.allows_new_credentials("slack"));
    for malformed in ["configuration:", "configuration:ext:", "configuration:nope"] {
        assert!(
            Permissions::from_claim(&json!({ malformed: true })).is_err(),
            "{malformed}"
        );
    }
}

#[test]
fn only_integration_entries_allow_connecting_new_accounts() {
    let cases = [
        (json!({"integration:*": true}), "slack", true),
        (json!({"integration:slack": true}), "slack", true),
        (json!({"integration:slack": true}), "github", false),
        (
            json!({"integration:*": true, "integration:slack": false}),
            "slack",
            false,
        ),
        (
            json!({"integration:*": false, "integration:slack": true}),
            "slack",
            true,
        ),
        (
            json!({"credential:00000000-0000-0000-0000-00000000000a": true}),
            "slack",
            false,
        ),
        (json!({}), "slack", false),
    ];
    for (claim, integration, allowed) in cases {
        assert_eq!(
            permissions(claim.clone()).allows_new_credentials(integration),
            allowed,
            "{claim} {integration}"
        );
    }
}

/// A user's accounts: (integration, credential).
fn accounts() -> [(&'static str, Uuid); 4] {
    [
        ("slack", Uuid::from_u128(1)),
        ("slack", Uuid::from_u128(2)),
        ("github", Uuid::from_u128(3)),
        ("salesforce", Uuid::from_u128(4)),
    ]
}

fn verified_with(permissions: Option<Value>) -> VerifiedToken {
    let signer = Signer::generated(SigningAlgorithm::EdDsa);
    let mut minted = claims("user-1");
    minted.permissions = permissions.map(json_object);
    verify_at(&signer.mint(None, &minted), &[signer.key("k")], NOW).unwrap()
}

#[test]
fn a_token_scoped_to_one_credential_sees_and_uses_only_that_credential() {
    let chosen = Uuid::from_u128(2);
    let token = verified_with(Some(json!({ format!("credential:{chosen}"): true })));
    let usable: Vec<Uuid> = accounts()
        .into_iter()
        .filter(|(integration, id)| token.allows_credential(integration, *id))
        .map(|(_, id)| id)
        .collect();
    assert_eq!(usable, [chosen]);
    for integration in ["slack", "github", "salesforce"] {
        assert!(!token.allows_new_credentials(integration), "{integration}");
    }
}

#[test]
fn a_token_without_the_claim_may_do_everything_its_user_may() {
    let token = verified_with(None);
    assert!(token.permissions.is_none());
    for (integration, id) in accounts() {
        assert!(token.allows_credential(integration, id));
        assert!(token.allows_new_credentials(integration));
    }
    // Control: an empty claim denies everything.
    let denied = verified_with(Some(json!({})));
    assert!(!denied.allows_credential("slack", Uuid::from_u128(1)));
    assert!(!denied.allows_new_credentials("slack"));
}

#[test]
fn odd_permission_claims_are_malformed() {
    let signer = Signer::generated(SigningAlgorithm::Es256);
    let keys = [signer.key("k")];
    let cases = [
        json!(true),
        json!("integration:*"),
        json!(["integration:*"]),
        json!(null),
        json!({"integration:*": "true"}),
        json!({"integration:*": 1}),
        json!({"integration:*": null}),
        json!({"integration:": true}),
        json!({"workflow:sync": true}),
        json!({"slack": true}),
        json!({"credential:not-a-uuid": true}),
        json!({"credential:": true}),
        json!({
            "credential:0195e3a4-0000-7000-8000-00000000000a": true,
            "credential:0195E3A4-0000-7000-8000-00000000000A": false,
        }),
    ];
    for claim in cases {
        let payload = json!({
            "sub": "user-1", "iat": NOW, "exp": NOW + 60,
            "urn:useparagon:connect:permissions": claim.clone(),
        });
        let token = signer.sign_raw(&json!({"alg": "ES256", "kid": "k"}), &payload);
        let error = rejection(&token, &keys);
        assert!(
            matches!(error, TokenError::Malformed(_)),
            "{claim}: {error:?}"
        );
        assert_eq!(error.code(), "unauthorized_malformed_token");
        assert!(error.to_string().contains("permissions"), "{error}");
    }
}

#[test]
fn two_spellings_of_one_credential_that_agree_are_fine() {
    let claim = json!({
        "credential:0195e3a4-0000-7000-8000-00000000000a": true,
        "credential:0195E3A4-0000-7000-8000-00000000000A": true,
    });
    let id = Uuid::parse_str("0195e3a4-0000-7000-8000-00000000000a").unwrap();
    assert!(permissions(claim).allows_credential("slack", id));
}
