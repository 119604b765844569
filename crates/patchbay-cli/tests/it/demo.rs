use std::io::BufRead as _;
use std::time::Duration;

use patchbay_test_support::{TestDb, authorize, backend_tests, open};
use serde_json::{Value, json};

use crate::binary::{MASTER_KEY, Running, json_of, patchbay};
use crate::config_validate::schema_errors;

/// What `serve --demo` prints once it listens.
#[derive(Debug)]
struct Printed {
    project: String,
    token: String,
    secret_key: String,
}

/// Reads what the demo prints, up to its user token line.
fn demo_output(server: &mut Running) -> Printed {
    let (mut project, mut token, mut secret_key) = (None, None, None);
    let mut line = String::new();
    while server.stdout.read_line(&mut line).unwrap() > 0 {
        let text = line.trim();
        if let Some((_, fragment)) = text.split_once("/demo#") {
            for pair in fragment.split('&') {
                match pair.split_once('=') {
                    Some(("project", value)) => project = Some(value.to_owned()),
                    Some(("token", value)) => token = Some(value.to_owned()),
                    _ => {}
                }
            }
        } else if let Some(rest) = text.strip_prefix("secret key") {
            secret_key = rest.split_whitespace().next().map(str::to_owned);
        } else if text.starts_with("user token") {
            break;
        }
        line.clear();
    }
    Printed {
        project: project.expect("a demo link"),
        token: token.expect("a token in the demo link"),
        secret_key: secret_key.expect("a secret key line"),
    }
}

/// Reads the demo link `serve --demo` prints and returns (project, token).
fn demo_link(server: &mut Running) -> (String, String) {
    let printed = demo_output(server);
    (printed.project, printed.token)
}

/// The demo as a newcomer uses it: the page loads, and sandbox accounts
/// connect through the real OAuth flow of the same server, twice over.
#[tokio::test]
async fn the_demo_connects_sandbox_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = patchbay(dir.path());
    command
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("PATCHBAY_MASTER_KEY", MASTER_KEY);
    let mut server = Running::start(&mut command).unwrap();
    let (project, token) = demo_link(&mut server);
    // What the README's run command promises a newcomer: ready, and a demo.
    let ready = open(&server.url("/readyz")).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    let page = open(&server.url("/demo")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Patchbay demo"));

    let client = reqwest::Client::new();
    let sdk = |path: &str| server.url(&format!("/projects/{project}/sdk{path}"));
    for (account, multiple) in [("acct_ada", false), ("acct_grace", true)] {
        let started = json_of(
            client
                .post(sdk("/integrations/sandbox/install"))
                .bearer_auth(&token)
                .json(&json!({"allowMultipleCredentials": multiple})),
        )
        .await;
        let url = started["authorizationUrl"]
            .as_str()
            .unwrap_or_else(|| panic!("{started}"));
        assert!(
            url.starts_with(&server.url("/sandbox/oauth/authorize")),
            "{url}"
        );
        let reply = authorize(url, account).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let me = json_of(client.get(sdk("/me")).bearer_auth(&token)).await;
    let accounts = me["integrations"]["sandbox"]["allCredentials"]
        .as_array()
        .unwrap();
    let providers: Vec<_> = accounts
        .iter()
        .map(|c| c["providerId"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["acct_ada", "acct_grace"]);

    // The demo workflow (request, function, response) runs as the chosen account.
    let grace = accounts[1]["id"].as_str().unwrap();
    let summary = client
        .post(sdk("/triggers/contact-summary"))
        .bearer_auth(&token)
        .header("X-Paragon-Credential", grace)
        .send()
        .await
        .unwrap();
    assert_eq!(summary.status(), 200);
    let summary: Value = summary.json().await.unwrap();
    assert_eq!(summary["count"], 2, "{summary}");
    assert_eq!(summary["names"], json!(["Howard Aiken", "Jean Sammet"]));
    assert_eq!(me["meta"]["Name"], "Demo User");
    assert!(me["integrations"]["sandbox-keys"].is_object());

    // A restart keeps the demo project and its accounts, with a new token.
    server.signal("TERM");
    server.wait(Duration::from_secs(10));
    let mut again = Running::start(&mut command).unwrap();
    let (same_project, new_token) = demo_link(&mut again);
    assert_eq!(same_project, project);
    let me = json_of(
        client
            .get(again.url(&format!("/projects/{project}/sdk/me")))
            .bearer_auth(&new_token),
    )
    .await;
    assert_eq!(
        me["integrations"]["sandbox"]["allCredentials"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// A restart leaves what was added to the demo project alone — an
/// integration and its account — and reuses the demo's keys: the secret key
/// it printed and the signing key of the link's token still work. The log
/// says what each start changed.
async fn a_restart_keeps_what_was_added_and_reuses_the_keys(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = patchbay(dir.path());
    command
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .args(["--database-url", db.url()])
        .env("PATCHBAY_MASTER_KEY", MASTER_KEY);
    let mut first = Running::start(&mut command).unwrap();
    let printed = demo_output(&mut first);
    let client = reqwest::Client::new();
    let admin = |server: &Running, path: &str| {
        server.url(&format!("/api/v1/projects/{}{path}", printed.project))
    };

    // Someone adds an integration to the demo project and connects an account.
    let mut document: Value = json_of(
        client
            .get(admin(&first, "/config"))
            .bearer_auth(&printed.secret_key),
    )
    .await;
    // The demo's document, as the server holds it, matches the published schema.
    assert_eq!(schema_errors(&document), "", "{document}");
    document["integrations"]["extra"] = document["integrations"]["sandbox-keys"].clone();
    let applied = client
        .put(admin(&first, "/config"))
        .bearer_auth(&printed.secret_key)
        .body(document.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(applied.status(), 200, "{}", applied.text().await.unwrap());
    let installed = client
        .post(first.url(&format!(
            "/projects/{}/sdk/integrations/extra/install",
            printed.project
        )))
        .bearer_auth(&printed.token)
        .json(&json!({"credentials": {"apiKey": "sbx_key_ada_3f9c2e71d4b8"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(installed.status(), 201);
    let installed: Value = installed.json().await.unwrap();
    let account = installed["credential"]["id"].as_str().unwrap().to_owned();
    let first_url = first.base_url.clone();
    let log = first.stop();
    for said in [
        "created the demo project",
        "applied the demo configuration",
        "added a signing key to the demo project",
        "saved the demo's keys",
    ] {
        assert!(log.contains(said), "the log says {said:?}: {log}");
    }
    let keys_file = dir.path().join("patchbay-data/demo-keys.json");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&keys_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the keys file is private");

    let mut again = Running::start(&mut command).unwrap();
    let reprinted = demo_output(&mut again);
    assert_eq!(reprinted.project, printed.project);
    assert_eq!(
        reprinted.secret_key, printed.secret_key,
        "the same secret key"
    );
    let project = client
        .get(admin(&again, ""))
        .bearer_auth(&printed.secret_key)
        .send()
        .await
        .unwrap();
    assert_eq!(project.status(), 200);
    // The first run's token: its signing key is still the project's.
    let me = json_of(
        client
            .get(again.url(&format!("/projects/{}/sdk/me", printed.project)))
            .bearer_auth(&printed.token),
    )
    .await;
    let kept: Vec<_> = me["integrations"]["extra"]["allCredentials"]
        .as_array()
        .unwrap_or_else(|| panic!("{me}"))
        .iter()
        .map(|credential| credential["id"].as_str().unwrap())
        .collect();
    assert_eq!(kept, [account.as_str()]);
    // The demo's own integration follows this run's address.
    let started = json_of(
        client
            .post(again.url(&format!(
                "/projects/{}/sdk/integrations/sandbox/install",
                printed.project
            )))
            .bearer_auth(&reprinted.token)
            .json(&json!({})),
    )
    .await;
    let url = started["authorizationUrl"].as_str().unwrap_or_default();
    assert!(url.starts_with(&again.url("/sandbox/oauth/")), "{started}");

    let second_url = again.base_url.clone();
    let log = again.stop();
    for unsaid in [
        "created the demo project",
        "added a secret key",
        "added a signing key",
        "saved the demo's keys",
    ] {
        assert!(
            !log.contains(unsaid),
            "the log does not say {unsaid:?}: {log}"
        );
    }
    if second_url != first_url {
        assert!(
            log.contains("updated the demo's part") && log.contains("integration sandbox"),
            "{log}"
        );
    }
}

backend_tests!(a_restart_keeps_what_was_added_and_reuses_the_keys);
