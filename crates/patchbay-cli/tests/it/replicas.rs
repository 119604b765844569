//! Two `patchbay serve` processes on one PostgreSQL database behave as one
//! deployment.

use std::time::Duration;

use patchbay_api::InstallRequest;
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{ADMIN_TOKEN, FakeProvider, TestDb, TestProject, connect_crm};
use serde_json::Value;

use crate::binary::{Running, serve_command};

fn replica(db: &TestDb, dir: &std::path::Path) -> Running {
    let mut command = serve_command(dir, db.url());
    command
        // Refreshes happen on demand only, so the test decides when.
        .args(["--refresh-interval", "3600"])
        .env("PATCHBAY_ADMIN_TOKEN", ADMIN_TOKEN);
    Running::start(&mut command).unwrap()
}

/// 100 requests to each replica at once for an account whose token has
/// expired: exactly one refresh at the provider, every request served.
#[tokio::test]
async fn two_replicas_refresh_an_expired_token_once() {
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let config = SandboxConfig {
        access_token_ttl: Duration::from_secs(3),
        ..SandboxConfig::default()
    };
    let provider = FakeProvider::start(config).await;
    let one = replica(&db, dir.path());
    let two = replica(&db, dir.path());

    let project = TestProject::at(&one.base_url, &provider.config_document()).await;
    let token = project.signer.mint("ada").unwrap();
    let ada = project.user_with_token(token.clone());
    connect_crm(&ada, &InstallRequest::default(), "acct_ada").await;
    tokio::time::sleep(Duration::from_millis(3300)).await;

    let before = provider.sandbox.stats().refreshes_succeeded;
    let client = reqwest::Client::new();
    let calls = (0..200).map(|i| {
        let base = if i % 2 == 0 {
            &one.base_url
        } else {
            &two.base_url
        };
        let request = client
            .get(format!("{base}/projects/{}/sdk/proxy/crm/me", project.id))
            .bearer_auth(&token);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or_default())
        }
    });
    let results = futures_util::future::join_all(calls).await;
    let failed: Vec<_> = results
        .iter()
        .filter(|(status, me)| *status != 200 || me["output"]["id"] != "acct_ada")
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    assert_eq!(provider.sandbox.stats().refreshes_succeeded - before, 1);
}
