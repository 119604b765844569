use std::path::Path;

use patchbay_test_support::{TEST_CONFIG, TestDb, backend_tests};
use serde_json::Value;

use crate::binary::{MASTER_KEY, Running, patchbay, run};

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

    let mut command = patchbay(dir.path());
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            db.url(),
        ])
        .env("PATCHBAY_MASTER_KEY", MASTER_KEY);
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

backend_tests!(a_project_is_set_up_entirely_from_the_command_line);
