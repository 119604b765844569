use std::io::BufRead as _;
use std::time::Duration;

use patchbay_test_support::{authorize, open};
use serde_json::{Value, json};

use crate::binary::{MASTER_KEY, Running, patchbay};

/// Reads the demo link `serve --demo` prints and returns (project, token).
fn demo_link(server: &mut Running) -> (String, String) {
    let mut line = String::new();
    while server.stdout.read_line(&mut line).unwrap() > 0 {
        if let Some((_, fragment)) = line.trim().split_once("/demo#") {
            let mut project = String::new();
            let mut token = String::new();
            for pair in fragment.split('&') {
                match pair.split_once('=') {
                    Some(("project", value)) => project = value.to_owned(),
                    Some(("token", value)) => token = value.to_owned(),
                    _ => {}
                }
            }
            return (project, token);
        }
        line.clear();
    }
    panic!("no demo link printed");
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
        let started: Value = client
            .post(sdk("/integrations/sandbox/install"))
            .bearer_auth(&token)
            .json(&json!({"allowMultipleCredentials": multiple}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
    let me: Value = client
        .get(sdk("/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let me: Value = client
        .get(again.url(&format!("/projects/{project}/sdk/me")))
        .bearer_auth(&new_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["integrations"]["sandbox"]["allCredentials"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
