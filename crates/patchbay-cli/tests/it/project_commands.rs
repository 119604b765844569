use std::path::Path;

use patchbay_store::{CredentialStatus, NewCredential};
use patchbay_test_support::{TEST_CONFIG, TestDb, backend_tests};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::binary::{MASTER_KEY, Running, json_of, patchbay, run, serve_command};

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

/// `patchbay project create`; the new project's id and secret key.
fn create_project(db: &TestDb, dir: &Path) -> (Uuid, String) {
    let (ok, out, err) = patchbay_on(db, dir, &["project", "create", "--name", "CLI", "--json"]);
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    (
        created["projectId"].as_str().unwrap().parse().unwrap(),
        created["secretKey"].as_str().unwrap().to_owned(),
    )
}

/// `patchbay apply` of `document`, written to `dir/patchbay.yaml`, with `extra` flags.
fn apply_file(
    db: &TestDb,
    dir: &Path,
    project: Uuid,
    document: &str,
    extra: &[&str],
) -> (bool, String, String) {
    let config = dir.join("patchbay.yaml");
    std::fs::write(&config, document).unwrap();
    let project = project.to_string();
    let mut args = vec![
        "apply",
        "--project",
        &project,
        "-f",
        config.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    patchbay_on(db, dir, &args)
}

async fn a_project_is_set_up_entirely_from_the_command_line(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let project = create_project(&db, dir.path()).0.to_string();

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
    let (ok, out, err) = add_signing_key(&db, dir.path(), &project, rsa.to_str().unwrap(), "rsa");
    assert!(ok, "{err}");
    assert!(out.contains("(RS256)"), "{out}");
    let (ok, _, err) = add_signing_key(&db, dir.path(), &project, key_path, "private");
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
    let me = json_of(
        reqwest::Client::new()
            .get(server.url(&format!("/projects/{project}/sdk/me")))
            .bearer_auth(token.trim()),
    )
    .await;
    assert_eq!(me["userId"], "ada", "{me}");
    assert_eq!(me["meta"]["Name"], "Ada");
    assert_eq!(me["integrations"]["crm"]["enabled"], false);

    // A token limited by its permissions claim sees only what the claim allows.
    let limited = run(patchbay(dir.path()).args([
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
        "--permissions",
        r#"{"integration:chat": true}"#,
    ]));
    assert!(
        limited.status.success(),
        "{}",
        String::from_utf8_lossy(&limited.stderr)
    );
    let limited = String::from_utf8(limited.stdout).unwrap();
    let me = json_of(
        reqwest::Client::new()
            .get(server.url(&format!("/projects/{project}/sdk/me")))
            .bearer_auth(limited.trim()),
    )
    .await;
    assert!(me["integrations"].get("crm").is_none(), "{me}");
    assert!(me["integrations"].get("chat").is_some(), "{me}");
}

/// `apply --prune` deletes the accounts of a removed integration as any
/// deletion does: with a `credential.deleted` event each.
async fn apply_prune_records_the_deletions(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let (project, _) = create_project(&db, dir.path());
    let apply = |document: &str, prune: bool| {
        let extra: &[&str] = if prune { &["--prune"] } else { &[] };
        apply_file(&db, dir.path(), project, document, extra)
    };
    let (ok, _, err) = apply(TEST_CONFIG, false);
    assert!(ok, "{err}");

    let store = db.store();
    let (chat, account) = connect_chat_account(&db, project).await;

    let without_chat = without_chat();
    let (ok, _, err) = apply(&without_chat, false);
    assert!(!ok, "removing an integration with accounts takes --prune");
    assert!(err.contains("prune"), "{err}");
    let (ok, _, err) = apply(&without_chat, true);
    assert!(ok, "{err}");
    assert!(
        store
            .credentials()
            .get_credential(project, account)
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
            json!({"integrationId": chat.id, "integrationType": "chat", "credentialId": account})
        )]
    );
}

/// [`TEST_CONFIG`] without its `chat` integration.
fn without_chat() -> String {
    let start = TEST_CONFIG.find("  chat:").unwrap();
    let end = TEST_CONFIG.find("workflows:").unwrap();
    format!("{}{}", &TEST_CONFIG[..start], &TEST_CONFIG[end..])
}

/// Connects an account of user `ada` to the project's `chat` integration;
/// returns the integration and the account's id.
async fn connect_chat_account(
    db: &TestDb,
    project: Uuid,
) -> (patchbay_store::IntegrationRecord, Uuid) {
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
    (chat, account.id)
}

/// `apply --dry-run` and `?dryRun=true` report what an apply would change,
/// refuse what it would refuse, and change nothing.
async fn a_dry_run_reports_the_changes_and_changes_nothing(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let (project, secret_key) = create_project(&db, dir.path());
    let apply =
        |document: &str, extra: &[&str]| apply_file(&db, dir.path(), project, document, extra);

    let (ok, out, err) = apply(TEST_CONFIG, &["--dry-run"]);
    assert!(ok, "{err}");
    assert!(out.contains("integrations: added crm, chat\n"), "{out}");
    assert!(
        out.contains("workflows: added sync-contacts, notify\n"),
        "{out}"
    );
    let store = db.store();
    assert!(
        store
            .projects()
            .list_integrations(project)
            .await
            .unwrap()
            .is_empty()
    );

    let (ok, _, err) = apply(TEST_CONFIG, &[]);
    assert!(ok, "{err}");
    let (ok, out, err) = apply(TEST_CONFIG, &["--dry-run"]);
    assert!(ok, "{err}");
    assert!(out.contains("  settings: unchanged\n  integrations: unchanged\n  workflows: unchanged\n  accounts deleted: 0\n"), "{out}");

    let (_, account) = connect_chat_account(&db, project).await;
    let edited = without_chat().replace("Copy new contacts", "Copy every new contact");
    let (ok, _, err) = apply(&edited, &["--dry-run"]);
    assert!(!ok, "a dry run refuses what the apply would refuse");
    assert!(
        err.contains("integrations.chat: is removed but has 1 connected account(s)"),
        "{err}"
    );
    let (ok, out, err) = apply(&edited, &["--dry-run", "--prune"]);
    assert!(ok, "{err}");
    assert!(out.contains("integrations: removed chat\n"), "{out}");
    assert!(out.contains("workflows: changed sync-contacts\n"), "{out}");
    assert!(
        out.contains(&format!(
            "accounts deleted: 1\n    chat {account} (user ada)\n"
        )),
        "{out}"
    );
    assert!(
        store
            .credentials()
            .get_credential(project, account)
            .await
            .unwrap()
            .is_some()
    );

    // The same over HTTP, with the project's secret key.
    let mut command = serve_command(dir.path(), db.url());
    let server = Running::start(&mut command).unwrap();
    let url = server.url(&format!("/api/v1/projects/{project}/config"));
    let response = reqwest::Client::new()
        .put(format!("{url}?dryRun=true&prune=true"))
        .bearer_auth(&secret_key)
        .header("content-type", "application/yaml")
        .body(edited.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let plan: Value = response.json().await.unwrap();
    assert_eq!(
        plan,
        json!({
            "settingsChanged": false,
            "integrations": {"added": [], "changed": [], "removed": ["chat"]},
            "workflows": {"added": [], "changed": ["sync-contacts"], "removed": []},
            "deletedAccounts": [{"integration": "chat", "credentialId": account, "userId": "ada"}],
        })
    );
    let document = json_of(reqwest::Client::new().get(&url).bearer_auth(&secret_key)).await;
    assert!(document["integrations"]["chat"].is_object(), "{document}");
    assert!(
        store
            .credentials()
            .get_credential(project, account)
            .await
            .unwrap()
            .is_some()
    );
}

backend_tests!(
    a_dry_run_reports_the_changes_and_changes_nothing,
    a_project_is_set_up_entirely_from_the_command_line,
    apply_prune_records_the_deletions,
);

/// `patchbay signing-key add` of the public key in `file`, named `kid`.
fn add_signing_key(
    db: &TestDb,
    dir: &Path,
    project: &str,
    file: &str,
    kid: &str,
) -> (bool, String, String) {
    patchbay_on(
        db,
        dir,
        &[
            "signing-key",
            "add",
            "--project",
            project,
            "--file",
            file,
            "--kid",
            kid,
        ],
    )
}
