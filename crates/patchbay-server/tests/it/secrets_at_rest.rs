//! What an attacker with a copy of the database learns: no token, no API
//! key, no client secret.

use patchbay_api::InstallRequest;
use patchbay_core::crypto::Aad;
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{
    Backend, EchoUpstream, FakeProvider, TestDb, TestProject, TestServer, backend_tests,
    connect_crm,
};
use serde_json::{Value, json};

const API_KEY: &str = "sbx_key_grace_8a1d6f04c2e9";
const CLIENT_SECRET: &str = "sandbox-secret";

/// Everything the database holds, as bytes: the SQLite file and its WAL, or
/// a `pg_dump` of the PostgreSQL database.
pub(crate) fn database_bytes(db: &TestDb) -> Vec<u8> {
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

pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

async fn no_secret_is_stored_in_the_clear(db: TestDb) {
    let server = TestServer::start(&db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&server, &provider.config_document()).await;
    let ada = project.user("ada");
    connect_crm(&ada, &InstallRequest::default(), "acct_ada").await;
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
        .store()
        .credentials()
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
            .engine
            .keyring()
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

/// Each sealed value is bound to its row: copied onto another account's row
/// (by someone with write access to the database), it opens for nobody, and
/// nothing is sent upstream in that account's name.
async fn a_secret_moved_to_another_account_opens_for_nobody(db: TestDb) {
    let server = TestServer::start(&db).await;
    let upstream = EchoUpstream::start().await;
    let project = TestProject::with_config(&server, &upstream.config_document()).await;
    let (_, ada) = project.connect_api_key("ada", "echo", "echo-key-ada").await;
    let (_, grace) = project
        .connect_api_key("grace", "echo", "echo-key-grace")
        .await;
    let (ada, grace) = (ada.id, grace.id);
    db.execute(&format!(
        "UPDATE credentials SET secrets = (SELECT secrets FROM credentials WHERE id = '{ada}') \
         WHERE id = '{grace}'"
    ))
    .await;

    let call = |user: &str| {
        let request = reqwest::Client::new()
            .get(server.url(&format!(
                "/projects/{}/sdk/proxy/echo/echo/whoami",
                project.id
            )))
            .bearer_auth(project.signer.mint(user).unwrap());
        async move { request.send().await.unwrap() }
    };
    let before = upstream.requests_received();
    let refused = call("grace").await;
    assert_eq!(refused.status(), 500);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "internal_error", "{body}");
    assert_eq!(
        upstream.requests_received(),
        before,
        "nothing went upstream as grace"
    );

    assert_eq!(call("ada").await.status(), 200, "ada's own row still opens");
    let (_, headers) = upstream.last_request().unwrap();
    assert_eq!(headers["x-api-key"], "echo-key-ada");
}

backend_tests!(
    no_secret_is_stored_in_the_clear,
    a_secret_moved_to_another_account_opens_for_nobody,
);
