//! What an attacker with a copy of the database learns: no token, no API
//! key, no client secret.

use patchbay_api::InstallRequest;
use patchbay_core::crypto::Aad;
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{
    Backend, FakeProvider, TestDb, TestProject, TestServer, authorize, backend_tests,
};
use serde_json::{Value, json};

const API_KEY: &str = "sbx_key_grace_8a1d6f04c2e9";
const CLIENT_SECRET: &str = "sandbox-secret";

/// Everything the database holds, as bytes: the SQLite file and its WAL, or
/// a `pg_dump` of the PostgreSQL database.
fn database_bytes(db: &TestDb) -> Vec<u8> {
    match db.backend() {
        Backend::Sqlite => {
            let path = db.url().trim_start_matches("sqlite://").to_owned();
            let mut bytes = std::fs::read(&path).unwrap();
            for suffix in ["-wal", "-shm"] {
                bytes.extend(std::fs::read(format!("{path}{suffix}")).unwrap_or_default());
            }
            bytes
        }
        Backend::Postgres => {
            let dump = std::process::Command::new("pg_dump")
                .arg(db.url())
                .output()
                .unwrap();
            assert!(
                dump.status.success(),
                "{}",
                String::from_utf8_lossy(&dump.stderr)
            );
            dump.stdout
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

async fn no_secret_is_stored_in_the_clear(db: TestDb) {
    let server = TestServer::start(&db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&server, &provider.config_document()).await;
    let ada = project.user("ada");
    let started = ada
        .start_install("crm", &InstallRequest::default())
        .await
        .unwrap();
    assert_eq!(
        authorize(&started.authorization_url, "acct_ada")
            .await
            .status,
        200
    );
    let with_key = InstallRequest {
        credentials: Some(json!({"apiKey": API_KEY}).as_object().unwrap().clone()),
        ..Default::default()
    };
    ada.install_with_credentials("keys", &with_key)
        .await
        .unwrap();

    // The tokens Patchbay holds, opened with its own keyring.
    let mut needles = vec![API_KEY.to_owned(), CLIENT_SECRET.to_owned()];
    for credential in server
        .state
        .store
        .list_credentials(project.id, &Default::default())
        .await
        .unwrap()
    {
        let id = credential.id.to_string();
        let aad = Aad {
            project_id: project.id,
            record_id: &id,
            field: "secrets",
        };
        let opened = server
            .state
            .keyring
            .decrypt(aad, credential.secrets.as_deref().unwrap())
            .unwrap();
        let secrets: Value = serde_json::from_slice(&opened).unwrap();
        for key in ["accessToken", "refreshToken"] {
            if let Some(token) = secrets[key].as_str() {
                needles.push(token.to_owned());
            }
        }
    }
    assert_eq!(
        needles.len(),
        4,
        "an access and a refresh token were issued: {}",
        needles.len()
    );

    let bytes = database_bytes(&db);
    assert!(
        contains(&bytes, "acct_ada"),
        "the dump is of the right database"
    );
    for needle in &needles {
        assert!(
            !contains(&bytes, needle),
            "a secret is stored in the clear: {}…",
            &needle[..6]
        );
    }
}

backend_tests!(no_secret_is_stored_in_the_clear);
