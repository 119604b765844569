//! Tokens are renewed before they expire, failures are counted, and a
//! provider's definitive refusal marks the account for reconnection.

use std::time::{Duration, Instant};

use patchbay_api::{Credential, CredentialStatus, InstallRequest};
use patchbay_oauth::Timeouts;
use patchbay_sdk::UserClient;
use patchbay_server::sandbox::{FailureKind, FailureMode, FailureTarget, SandboxConfig};
use patchbay_test_support::{
    FakeProvider, TestDb, TestProject, TestServer, backend_tests, connect_crm, install_fields,
};
use uuid::Uuid;

use crate::fixtures::invalidation_recorded;

struct Setup {
    _server: TestServer,
    provider: FakeProvider,
    project: TestProject,
}

/// A provider whose access tokens live two seconds, and one connected account.
async fn setup(db: &TestDb) -> (Setup, Uuid) {
    let server = TestServer::start(db).await;
    let (provider, project, id) = connected_account(&server.base_url).await;
    (
        Setup {
            _server: server,
            provider,
            project,
        },
        id,
    )
}

/// A provider whose access tokens live two seconds, a project on the server
/// at `base_url` that uses it, and Ada's account connected.
async fn connected_account(base_url: &str) -> (FakeProvider, TestProject, Uuid) {
    let config = SandboxConfig {
        access_token_ttl: Duration::from_secs(2),
        ..SandboxConfig::default()
    };
    let provider = FakeProvider::start(config).await;
    let project = TestProject::at(base_url, &provider.config_document()).await;
    let ada = project.user("ada");
    let id = connect_crm(&ada, &InstallRequest::default(), "acct_ada").await;
    (provider, project, id)
}

/// Polls the credential until `done` holds, for at most `within`.
async fn until(
    user: &UserClient,
    id: Uuid,
    within: Duration,
    done: impl Fn(&Credential) -> bool,
) -> Credential {
    let deadline = Instant::now() + within;
    loop {
        let credential = user.credential(&id.to_string()).await.unwrap();
        if done(&credential) {
            return credential;
        }
        assert!(
            Instant::now() < deadline,
            "not reached within {within:?}: {credential:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn tokens_are_renewed_before_they_expire(db: TestDb) {
    let (setup, id) = setup(&db).await;
    let ada = setup.project.user("ada");
    let first = ada.credential(&id.to_string()).await.unwrap();
    let first_expiry = first.date_valid_until.unwrap();
    // Each access token lives 2 s; over 5 s the refresher must renew it
    // several times, each time with the refresh token the last one rotated in.
    let renewed = until(&ada, id, Duration::from_secs(10), |c| {
        setup.provider.sandbox.stats().refreshes_succeeded >= 3
            && c.date_valid_until > Some(first_expiry)
    })
    .await;
    assert_eq!(renewed.status, CredentialStatus::Valid);
    assert_eq!(renewed.refresh_failure_count, 0);
    assert!(renewed.date_refreshed > first.date_refreshed);
    let stats = setup.provider.sandbox.stats();
    assert_eq!(
        stats.token_requests.get("refresh_token").copied(),
        Some(stats.refreshes_succeeded),
        "no refresh was refused: the rotation chain held"
    );
}

async fn a_refused_refresh_token_invalidates_the_account(db: TestDb) {
    let (setup, id) = setup(&db).await;
    setup
        .provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::InvalidGrant).target(FailureTarget::Token));
    let ada = setup.project.user("ada");
    let invalid = until(&ada, id, Duration::from_secs(10), |c| {
        c.status == CredentialStatus::Invalid
    })
    .await;
    assert_eq!(invalid.refresh_failure_count, 1);
    let me = ada.me().await.unwrap();
    assert_eq!(
        me.integrations["crm"].credential_status,
        Some(CredentialStatus::Invalid)
    );
    invalidation_recorded(&setup._server, setup.project.id, id).await;
    // Invalid accounts are not retried.
    let refreshes = setup
        .provider
        .sandbox
        .stats()
        .token_requests
        .get("refresh_token")
        .copied();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        setup
            .provider
            .sandbox
            .stats()
            .token_requests
            .get("refresh_token")
            .copied(),
        refreshes
    );
}

/// What the server under test waits for a provider: short, so that a token
/// endpoint that does not answer costs a second.
const SHORT_PROVIDER_TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(1),
    total: Duration::from_secs(1),
};

/// Answers of a token endpoint that say "not now" rather than "no", once
/// each: a `500`, a `503` (with `Retry-After: 1`), and no answer within
/// [`SHORT_PROVIDER_TIMEOUTS`]. The silent endpoint would answer only after
/// the test is over, so the refresh it was asked for, had it gone on
/// without the caller, cannot rotate the refresh token under the test.
const TRANSIENT_FAILURES: [(&str, FailureMode); 3] = [
    (
        "500",
        FailureMode::new(FailureKind::Error500)
            .target(FailureTarget::Token)
            .times(1),
    ),
    (
        "503",
        FailureMode::new(FailureKind::Error503)
            .target(FailureTarget::Token)
            .times(1),
    ),
    (
        "timeout",
        FailureMode::new(FailureKind::Slow)
            .delay(Duration::from_secs(30))
            .target(FailureTarget::Token)
            .times(1),
    ),
];

async fn a_transient_failure_keeps_the_account_valid(db: TestDb) {
    let server = TestServer::configured(&db, |config| {
        config.provider_timeouts = SHORT_PROVIDER_TIMEOUTS;
    })
    .await;
    // Each case has its own provider and project, so they run side by side
    // and the test takes as long as the slowest one.
    let cases = TRANSIENT_FAILURES.map(|(name, failure)| {
        let base_url = server.base_url.clone();
        let case = tokio::spawn(async move { refresh_survives(&base_url, failure).await });
        (name, case)
    });
    for (name, case) in cases {
        if let Err(err) = case.await {
            panic!("transient failure {name}: {err}");
        }
    }
}

/// The refresh fails once as `failure` says: the account stays `VALID` with
/// the failure counted, and a later refresh renews it.
async fn refresh_survives(base_url: &str, failure: FailureMode) {
    let (provider, project, id) = connected_account(base_url).await;
    provider.sandbox.set_failure(failure);
    let ada = project.user("ada");
    let failed = until(&ada, id, Duration::from_secs(10), |c| {
        c.refresh_failure_count == 1
    })
    .await;
    assert_eq!(failed.status, CredentialStatus::Valid);
    assert_eq!(provider.sandbox.stats().failures_injected, 1);
    // Retried after the backoff, and renewed.
    let renewed = until(&ada, id, Duration::from_secs(15), |c| {
        c.refresh_failure_count == 0
    })
    .await;
    assert_eq!(renewed.status, CredentialStatus::Valid);
    assert!(renewed.date_valid_until > failed.date_valid_until);
    assert!(provider.sandbox.stats().refreshes_succeeded >= 1);
}

/// API keys have no expiry; the provider's verification request is sent
/// again every `credential_check_interval` (here 300 ms).
async fn api_keys_are_checked_again_until_the_provider_refuses_them(db: TestDb) {
    let server = TestServer::configured(&db, |config| {
        config.credential_check_interval = Duration::from_millis(300);
    })
    .await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&server, &provider.config_document()).await;
    let ada = project.user("ada");
    let request = install_fields(serde_json::json!({"apiKey": "sbx_key_ada_3f9c2e71d4b8"}));
    let installed = ada
        .install_with_credentials("keys", &request)
        .await
        .unwrap()
        .credential;
    // Every API request after the install is a check, answered normally or
    // by an injected failure.
    let checks = || {
        let stats = provider.sandbox.stats();
        stats.api_requests.values().sum::<u64>() + stats.failures_injected
    };
    let at_install = checks();
    let checked = until(&ada, installed.id, Duration::from_secs(10), |c| {
        checks() >= at_install + 2 && c.date_refreshed > installed.date_refreshed
    })
    .await;
    assert_eq!(checked.status, CredentialStatus::Valid);
    assert_eq!(checked.refresh_failure_count, 0);

    // A server error is not the provider refusing the key: counted, still VALID.
    provider.sandbox.set_failure(
        FailureMode::new(FailureKind::Error500)
            .target(FailureTarget::Api)
            .times(1),
    );
    let transient = until(&ada, installed.id, Duration::from_secs(10), |c| {
        c.refresh_failure_count == 1
    })
    .await;
    assert_eq!(transient.status, CredentialStatus::Valid);

    // The provider revokes the key: the account needs reconnecting.
    provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::Unauthorized).target(FailureTarget::Api));
    let invalid = until(&ada, installed.id, Duration::from_secs(15), |c| {
        c.status == CredentialStatus::Invalid
    })
    .await;
    assert_eq!(invalid.refresh_failure_count, 2);
    invalidation_recorded(&server, project.id, installed.id).await;
    let after = checks();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(checks(), after, "an INVALID account is not checked again");
}

backend_tests!(
    api_keys_are_checked_again_until_the_provider_refuses_them,
    tokens_are_renewed_before_they_expire,
    a_refused_refresh_token_invalidates_the_account,
    a_transient_failure_keeps_the_account_valid,
);
