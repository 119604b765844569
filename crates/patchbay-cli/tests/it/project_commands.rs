use std::path::Path;

use patchbay_store::{CredentialStatus, NewCredential};
use patchbay_test_support::{TEST_CONFIG, TestDb, backend_tests};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::binary::{MASTER_KEY, Running, patchbay, run, serve_command};

const RSA_PUBLIC: &str = "../patchbay-core/tests/fixtures/test-only-rsa-2048-a.public.pem";

/// Runs a command against `db`; returns (success, stdout, stderr).
fn patchbay_on(db: &TestDb, dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = run(patchbay(dir)
        .args(args)
        .args(["--database-url", db.url()])
        .env("PATCHBAY_MASTER_KEY", MASTER_KEY));
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (
        output.status.success(),
        text(output.stdout),
        text(output.stderr),
    )
}

async fn a_project_is_set_up_entirely_from_the_command_line(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = patchbay_on(
        &db,
        dir.path(),
        &["project", "create", "--name", "CLI", "--json"],
    );
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let project = created["projectId"].as_str().unwrap().to_owned();

    let key_file = dir.path().join("dev.pem");
    let key_path = key_file.to_str().unwrap();
    let (ok, out, err) = patchbay_on(
        &db,
        dir.path(),
        &[
            "signing-key",
            "generate",
            "--project",
            &project,
            "--out",
            key_path,
            "--kid",
            "dev",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("Added signing key dev (ES256)"), "{out}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let rsa = std::fs::canonicalize(RSA_PUBLIC).unwrap();
    let (ok, out, err) = patchbay_on(
        &db,
        dir.path(),
        &[
            "signing-key",
            "add",
            "--project",
            &project,
            "--file",
            rsa.to_str().unwrap(),
            "--kid",
            "rsa",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("(RS256)"), "{out}");
    let (ok, _, err) = patchbay_on(
        &db,
        dir.path(),
        &[
            "signing-key",
            "add",
            "--project",
            &project,
            "--file",
            key_path,
            "--kid",
            "private",
        ],
    );
    assert!(!ok, "a private key is not a public key");
    assert!(err.contains("private key"), "{err}");

    let config = dir.path().join("patchbay.yaml");
    std::fs::write(&config, TEST_CONFIG).unwrap();
    let (ok, out, err) = patchbay_on(
        &db,
        dir.path(),
        &[
            "apply",
            "--project",
            &project,
            "-f",
            config.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("version 1: 2 integration(s), 2 workflow(s)"),
        "{out}"
    );
    std::fs::write(&config, TEST_CONFIG.replace("status: 200", "status: 999")).unwrap();
    let (ok, _, err) = patchbay_on(
        &db,
        dir.path(),
        &[
            "apply",
            "--project",
            &project,
            "-f",
            config.to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(err.contains("workflows[1].steps[0].status"), "{err}");

    // Minting needs only the private key, not the database.
    let minted = run(patchbay(dir.path()).args([
        "token",
        "mint",
        "--project",
        &project,
        "--user",
        "ada",
        "--key",
        key_path,
        "--kid",
        "dev",
        "--meta",
        r#"{"Name": "Ada"}"#,
    ]));
    assert!(
        minted.status.success(),
        "{}",
        String::from_utf8_lossy(&minted.stderr)
    );
    let token = String::from_utf8(minted.stdout).unwrap();

    let mut command = serve_command(dir.path(), db.url());
    let server = Running::start(&mut command).unwrap();
    let me: Value = reqwest::Client::new()
        .get(server.url(&format!("/projects/{project}/sdk/me")))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["userId"], "ada", "{me}");
    assert_eq!(me["meta"]["Name"], "Ada");
    assert_eq!(me["integrations"]["crm"]["enabled"], false);
}

/// `apply --prune` deletes the accounts of a removed integration as any
/// deletion does: with a `credential.deleted` event each.
async fn apply_prune_records_the_deletions(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = patchbay_on(
        &db,
        dir.path(),
        &["project", "create", "--name", "CLI", "--json"],
    );
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let project: Uuid = created["projectId"].as_str().unwrap().parse().unwrap();
    let config = dir.path().join("patchbay.yaml");
    let apply = |document: &str, prune: bool| {
        std::fs::write(&config, document).unwrap();
        let project = project.to_string();
        let mut args = vec![
            "apply",
            "--project",
            &project,
            "-f",
            config.to_str().unwrap(),
        ];
        if prune {
            args.push("--prune");
        }
        patchbay_on(&db, dir.path(), &args)
    };
    let (ok, _, err) = apply(TEST_CONFIG, false);
    assert!(ok, "{err}");

    let store = db.store();
    let chat = store
        .projects()
        .list_integrations(project)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.type_name == "chat")
        .unwrap();
    let account = NewCredential {
        id: Uuid::new_v4(),
        project_id: project,
        integration_id: chat.id,
        user_id: "ada".to_owned(),
        external_id: None,
        provider_id: Some("C-1".to_owned()),
        provider_data: json!({}),
        status: CredentialStatus::Valid,
        secrets: None,
        account_vars: json!({}),
        valid_until: None,
        next_refresh_at: None,
        workflow_settings: json!({}),
    };
    store
        .credentials()
        .insert_credential(&account, &[])
        .await
        .unwrap();

    let start = TEST_CONFIG.find("  chat:").unwrap();
    let end = TEST_CONFIG.find("workflows:").unwrap();
    let without_chat = format!("{}{}", &TEST_CONFIG[..start], &TEST_CONFIG[end..]);
    let (ok, _, err) = apply(&without_chat, false);
    assert!(!ok, "removing an integration with accounts takes --prune");
    assert!(err.contains("prune"), "{err}");
    let (ok, _, err) = apply(&without_chat, true);
    assert!(ok, "{err}");
    assert!(
        store
            .credentials()
            .get_credential(project, account.id)
            .await
            .unwrap()
            .is_none()
    );
    let events = store
        .events()
        .list_user_events(project, "ada", 0, 10)
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.name.as_str(), e.payload.clone()))
            .collect::<Vec<_>>(),
        [(
            "credential.deleted",
            json!({"integrationId": chat.id, "integrationType": "chat", "credentialId": account.id})
        )]
    );
}

backend_tests!(
    a_project_is_set_up_entirely_from_the_command_line,
    apply_prune_records_the_deletions,
);
