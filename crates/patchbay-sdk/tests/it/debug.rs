//! No client type prints the secret it holds.

use patchbay_sdk::{Method, Patchbay, SigningAlgorithm, TokenSigner};
use uuid::Uuid;

const SECRET_KEY: &str = "pb_sk_5f0c1d2e3a4b5c6d7e8f9a0b1c2d3e4f";
const USER_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl";

/// Both `Debug` forms of `value`, which must mention `type_name` (so the
/// value was printed at all) and none of `secrets`.
fn assert_redacted(value: &impl std::fmt::Debug, type_name: &str, secrets: &[&str]) {
    for printed in [format!("{value:?}"), format!("{value:#?}")] {
        assert!(printed.contains(type_name), "{printed}");
        for secret in secrets {
            assert!(
                !printed.contains(secret),
                "{type_name} printed a secret: {printed}"
            );
        }
    }
}

#[test]
fn debug_output_never_contains_a_key_or_a_token() {
    let project_id = Uuid::new_v4();
    let patchbay = Patchbay::new("https://patchbay.example");
    let admin = patchbay.admin(project_id, SECRET_KEY);
    let user = patchbay.user(project_id, USER_TOKEN);
    let proxy = user
        .proxy("crm", Method::POST, "/contacts")
        .selected_credential("ext:work")
        .header("x-trace", "1")
        .body("a body");

    let pair = patchbay_sdk::generate_key_pair(SigningAlgorithm::Es256).unwrap();
    let signer = TokenSigner::new(project_id, &pair.private_key_pem, SigningAlgorithm::Es256)
        .unwrap()
        .with_kid("kid-1");
    let minted = signer.mint("ada").unwrap();
    // The PEM's base64 body, the part that is the key.
    let private_key: String = pair
        .private_key_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    assert!(!private_key.is_empty());

    assert_redacted(&patchbay, "Patchbay", &[SECRET_KEY, USER_TOKEN]);
    assert_redacted(&admin, "AdminClient", &[SECRET_KEY]);
    assert_redacted(&user, "UserClient", &[USER_TOKEN]);
    assert_redacted(&proxy, "ProxyRequest", &[USER_TOKEN]);
    assert_redacted(&signer, "TokenSigner", &[&private_key, &minted]);
    assert_redacted(
        &patchbay.user(project_id, minted.clone()),
        "UserClient",
        &[&minted],
    );

    // What identifies them is still there, for whoever reads the log.
    let printed = format!("{admin:?} {user:?} {proxy:?}");
    assert!(printed.contains(&project_id.to_string()), "{printed}");
    assert!(printed.contains("https://patchbay.example"), "{printed}");
    assert!(
        printed.contains("ext:work") && printed.contains("/contacts"),
        "{printed}"
    );
}
