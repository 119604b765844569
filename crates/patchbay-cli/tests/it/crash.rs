//! Killing the server in the middle of token refreshes loses nothing.

use std::time::Duration;

use patchbay_api::InstallRequest;
use patchbay_server::sandbox::{FailureKind, FailureMode, FailureTarget, SandboxConfig};
use patchbay_test_support::{ADMIN_TOKEN, FakeProvider, TestDb, TestProject, authorize};

use crate::binary::{MASTER_KEY, Running, patchbay};

fn serve(db: &TestDb, dir: &std::path::Path) -> Running {
    let mut command = patchbay(dir);
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            db.url(),
        ])
        .args(["--refresh-interval", "3600"])
        // A lease left by a killed refresh expires after this plus 2 s.
        .args(["--provider-timeout", "1"])
        .env("PATCHBAY_MASTER_KEY", MASTER_KEY)
        .env("PATCHBAY_ADMIN_TOKEN", ADMIN_TOKEN);
    Running::start(&mut command).unwrap()
}

/// 20 times: calls that force refreshes (the provider refuses every access
/// token once), a SIGKILL at a random moment among them, a restart, and a
/// call that must succeed with the account still valid. The provider
/// invalidates each refresh token as soon as it is used, so a refresh whose
/// result was lost would break the account for good.
#[tokio::test]
async fn sigkill_during_refreshes_never_breaks_an_account() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    // Like Okta or Auth0 with a reuse interval: a refresh token used by a
    // refresh whose answer died with the server is accepted again for a
    // while. Without any grace no client could survive losing that answer.
    let config = SandboxConfig {
        refresh_reuse_grace: Duration::from_secs(60),
        ..SandboxConfig::default()
    };
    let provider = FakeProvider::start(config).await;
    let mut server = serve(&db, dir.path());
    let project = TestProject::at(&server.base_url, &provider.config_document()).await;
    let token = project.signer.mint("ada").unwrap();
    let ada = project.user_with_token(token.clone());
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
    let client = reqwest::Client::new();

    for round in 0..20u64 {
        provider
            .sandbox
            .set_failure(FailureMode::new(FailureKind::Unauthorized).target(FailureTarget::Api));
        let url = server.url(&format!("/projects/{}/sdk/proxy/crm/me", project.id));
        let load = (0..4).map(|_| {
            let request = client.get(&url).bearer_auth(&token);
            async move {
                for _ in 0..50 {
                    if request.try_clone().unwrap().send().await.is_err() {
                        return; // the server is gone
                    }
                }
            }
        });
        let refreshed = provider.sandbox.stats().refreshes_succeeded;
        let storm = tokio::spawn(futures_util::future::join_all(load));
        // Refreshes are under way; then a different moment every round.
        while provider.sandbox.stats().refreshes_succeeded == refreshed {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis((round * 7) % 30)).await;
        server.signal("KILL");
        server.wait(Duration::from_secs(5));
        let _ = storm.await;

        provider.sandbox.set_failure(FailureMode::NONE);
        server = serve(&db, dir.path());
        let response = client
            .get(server.url(&format!("/projects/{}/sdk/proxy/crm/me", project.id)))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "round {round}: {}",
            response.text().await.unwrap()
        );
    }
    let stats = provider.sandbox.stats();
    assert!(
        stats.refreshes_succeeded >= 20,
        "refreshes happened: {}",
        stats.refreshes_succeeded
    );
    assert_eq!(
        stats.token_requests.get("refresh_token").copied(),
        Some(stats.refreshes_succeeded),
        "no refresh token was refused"
    );
    let me: serde_json::Value = client
        .get(server.url(&format!("/projects/{}/sdk/me", project.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["integrations"]["crm"]["credentialStatus"], "VALID");
}
