//! Killing the server in the middle of token refreshes loses nothing.

use std::time::Duration;

use patchbay_api::InstallRequest;
use patchbay_server::sandbox::{FailureKind, FailureMode, FailureTarget, SandboxConfig};
use patchbay_test_support::{ADMIN_TOKEN, FakeProvider, TestDb, TestProject, connect_crm};

use crate::binary::{Running, json_of, serve_command};

fn serve(db: &TestDb, dir: &std::path::Path) -> Running {
    let mut command = serve_command(dir, db.url());
    command
        .args(["--refresh-interval", "3600"])
        // A lease left by a killed refresh expires after this plus 2 s.
        .args(["--provider-timeout", "1"])
        .env("PATCHBAY_ADMIN_TOKEN", ADMIN_TOKEN);
    Running::start(&mut command).unwrap()
}

/// Kill moments are drawn from this many milliseconds after a round's first
/// refresh. The calls go on until the kill, so every moment falls among
/// refreshes (one takes about 10 ms here).
const KILL_WINDOW_MS: u64 = 500;

/// The seed of this run's kill moments: `PATCHBAY_CRASH_SEED` replays a run,
/// otherwise every run draws a fresh one.
fn kill_seed() -> u64 {
    match std::env::var("PATCHBAY_CRASH_SEED") {
        Ok(seed) => seed.parse().expect("PATCHBAY_CRASH_SEED is a u64"),
        Err(_) => uuid::Uuid::new_v4().as_u64_pair().0,
    }
}

/// Moments within [`KILL_WINDOW_MS`], from SplitMix64: a few lines, no
/// dependency, and well spread whatever the seed.
#[derive(Debug)]
struct KillMoments(u64);

impl Iterator for KillMoments {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Some(Duration::from_millis(z % KILL_WINDOW_MS))
    }
}

/// 20 times: calls that force refreshes (the provider refuses every access
/// token once), a SIGKILL at a random moment among them, a restart, and a
/// call that must succeed with the account still valid. The moments come
/// from a seed printed with the test's output, so a failure can be replayed.
#[tokio::test]
async fn sigkill_during_refreshes_never_breaks_an_account() {
    let seed = kill_seed();
    let moments: Vec<Duration> = KillMoments(seed).take(20).collect();
    println!(
        "kill moments after each round's first refresh: {moments:?} \
         (seed {seed}; PATCHBAY_CRASH_SEED={seed} replays them)"
    );
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    // The provider rotates the refresh token on every refresh. A kill after
    // the provider answered but before the server stored the answer loses
    // the new refresh token, and the old one is spent: with strict rotation
    // nothing valid would be left, whatever the client did. Real providers
    // (Okta, Auth0 with a reuse interval) accept a used refresh token again
    // for a while for exactly this reason, and so does this one.
    let config = SandboxConfig {
        refresh_reuse_grace: Duration::from_secs(60),
        ..SandboxConfig::default()
    };
    let provider = FakeProvider::start(config).await;
    let mut server = serve(&db, dir.path());
    let project = TestProject::at(&server.base_url, &provider.config_document()).await;
    let token = project.signer.mint("ada").unwrap();
    let ada = project.user_with_token(token.clone());
    connect_crm(&ada, &InstallRequest::default(), "acct_ada").await;
    let client = reqwest::Client::new();

    for (round, moment) in moments.into_iter().enumerate() {
        provider
            .sandbox
            .set_failure(FailureMode::new(FailureKind::Unauthorized).target(FailureTarget::Api));
        let url = server.url(&format!("/projects/{}/sdk/proxy/crm/me", project.id));
        let load = (0..4).map(|_| {
            let request = client.get(&url).bearer_auth(&token);
            async move {
                // Until the kill, so the moment always falls among refreshes.
                while request.try_clone().unwrap().send().await.is_ok() {}
            }
        });
        let refreshed = provider.sandbox.stats().refreshes_succeeded;
        let storm = tokio::spawn(futures_util::future::join_all(load));
        // Refreshes are under way; then this round's moment.
        while provider.sandbox.stats().refreshes_succeeded == refreshed {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(moment).await;
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
            "round {round}, killed {moment:?} after its first refresh (seed {seed}): {}",
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
    let me = json_of(
        client
            .get(server.url(&format!("/projects/{}/sdk/me", project.id)))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(me["integrations"]["crm"]["credentialStatus"], "VALID");
}
