//! Every way an OAuth install can fail ends the install session `failed`
//! with a clear error, and leaves no credential behind.

use std::time::Duration;

use patchbay_api::{InstallRequest, InstallStatus};
use patchbay_server::sandbox::{FailureKind, FailureMode, FailureTarget, SandboxConfig};
use patchbay_test_support::{
    Backend, FakeProvider, TestDb, TestProject, TestServer, authorize, backend_tests, consent, open,
};
use uuid::Uuid;

struct Setup {
    server: TestServer,
    provider: FakeProvider,
    project: TestProject,
}

/// An integration whose account step finds no id in the provider's answer.
const UNIDENTIFIABLE: &str = r#"  noid:
    name: No id
    auth:
      type: oauth2
      authorizationUrl: {PROVIDER}/oauth/authorize
      tokenUrl: {PROVIDER}/oauth/token
      clientId: patchbay-sandbox
      clientSecret: sandbox-secret
      scopes: [offline_access]
    api:
      baseUrl: {PROVIDER}/api
    account:
      request: {method: GET, path: /me}
      id: "{{ response.body.no_such_field }}"
"#;

async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::start(db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let document = provider.config_document().replace(
        "  keys:\n",
        &format!(
            "{}  keys:\n",
            UNIDENTIFIABLE.replace("{PROVIDER}", &provider.base_url)
        ),
    );
    let project = TestProject::with_config(&server, &document).await;
    Setup {
        server,
        provider,
        project,
    }
}

impl Setup {
    async fn credentials(&self) -> usize {
        self.server
            .state
            .store()
            .credentials()
            .list_credentials(self.project.id, &Default::default())
            .await
            .unwrap()
            .len()
    }

    /// Starts an install of `integration` for ada; returns (session, authorization URL).
    async fn start(&self, integration: &str) -> (Uuid, String) {
        let started = self
            .project
            .user("ada")
            .start_install(integration, &InstallRequest::default())
            .await
            .unwrap();
        (started.install_session_id, started.authorization_url)
    }

    /// The session's final state, which must be `failed` with an error
    /// containing `expected`, with no credential stored.
    async fn assert_failed(&self, session: Uuid, expected: &str) {
        let view = self
            .project
            .user("ada")
            .install_session(session)
            .await
            .unwrap();
        assert_eq!(view.status, InstallStatus::Failed, "{view:?}");
        let error = view.error.unwrap_or_default();
        assert!(
            error.contains(expected),
            "error {error:?} lacks {expected:?}"
        );
        assert!(view.credential_id.is_none());
        assert_eq!(self.credentials().await, 0, "no credential may exist");
    }
}

async fn the_user_denies_access(db: TestDb) {
    let setup = setup(&db).await;
    let (session, url) = setup.start("crm").await;
    let reply = open(&consent(&url, "acct_ada", "deny").await).await;
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("access_denied"), "{}", reply.body);
    setup.assert_failed(session, "access_denied").await;
}

async fn a_state_works_once(db: TestDb) {
    let setup = setup(&db).await;
    let (session, url) = setup.start("crm").await;
    let callback = consent(&url, "acct_ada", "allow").await;
    assert_eq!(open(&callback).await.status, 200);
    let replay = open(&callback).await;
    assert_eq!(replay.status, 400);
    assert!(replay.body.contains("already been used"), "{}", replay.body);
    assert_eq!(setup.credentials().await, 1);
    let view = setup
        .project
        .user("ada")
        .install_session(session)
        .await
        .unwrap();
    assert_eq!(view.status, InstallStatus::Complete);

    // A made-up state, or none, is refused the same way.
    let forged = callback.replace("state=", "state=x");
    assert_eq!(open(&forged).await.status, 400);
    let bare = format!("{}/oauth/callback?code=abc", setup.server.base_url);
    assert_eq!(open(&bare).await.status, 400);
}

async fn an_expired_state_fails(db: TestDb) {
    let setup = setup(&db).await;
    let (session, url) = setup.start("crm").await;
    let past = match db.backend() {
        Backend::Sqlite => "UPDATE install_sessions SET expires_at = 0".to_owned(),
        Backend::Postgres => {
            "UPDATE install_sessions SET expires_at = now() - interval '1 minute'".to_owned()
        }
    };
    db.execute(&past).await;
    let reply = authorize(&url, "acct_ada").await;
    assert_eq!(reply.status, 400);
    setup.assert_failed(session, "10 minutes").await;
}

async fn a_session_belongs_to_its_user_and_project(db: TestDb) {
    let setup = setup(&db).await;
    let (session, url) = setup.start("crm").await;
    let grace = setup.project.user("grace");
    assert_eq!(
        grace.install_session(session).await.unwrap_err().code(),
        Some("install_session_not_found")
    );
    let other = TestProject::with_config(&setup.server, &setup.provider.config_document()).await;
    assert_eq!(
        other
            .user("ada")
            .install_session(session)
            .await
            .unwrap_err()
            .code(),
        Some("install_session_not_found")
    );
    // Whoever's browser brings the state back, the account goes to the
    // user and project that started the install.
    assert_eq!(authorize(&url, "acct_grace").await.status, 200);
    assert_eq!(
        setup
            .project
            .user("ada")
            .credentials(Some("crm"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(grace.credentials(Some("crm")).await.unwrap().is_empty());
    assert!(
        other
            .user("ada")
            .credentials(Some("crm"))
            .await
            .unwrap()
            .is_empty()
    );
}

/// The `state` parameter of an authorization URL.
fn state_of(authorization_url: &str) -> String {
    url::Url::parse(authorization_url)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "state")
        .unwrap()
        .1
        .into_owned()
}

/// A state naming `session` but carrying the secret of `donor` (a state
/// issued for another install).
fn grafted_state(session: Uuid, donor: &str) -> String {
    let (_, secret) = donor.split_once('.').unwrap();
    format!("{}.{secret}", session.simple())
}

async fn a_state_issued_for_another_session_fails_the_session(db: TestDb) {
    let setup = setup(&db).await;
    let callback = |state: &str| {
        let url = url::Url::parse_with_params(
            &setup.server.url("/oauth/callback"),
            [("code", "any"), ("state", state)],
        )
        .unwrap();
        async move { open(url.as_str()).await }
    };

    // Another user of the same project started an install too.
    let (_, graces_url) = setup
        .project
        .user("grace")
        .start_install("crm", &InstallRequest::default())
        .await
        .map(|started| (started.install_session_id, started.authorization_url))
        .unwrap();
    let (session, _) = setup.start("crm").await;
    let reply = callback(&grafted_state(session, &state_of(&graces_url))).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    setup
        .assert_failed(session, "not issued for this install session")
        .await;

    // And a user of another project.
    let other = TestProject::with_config(&setup.server, &setup.provider.config_document()).await;
    let others_url = other
        .user("ada")
        .start_install("crm", &InstallRequest::default())
        .await
        .unwrap()
        .authorization_url;
    let (session, _) = setup.start("crm").await;
    let reply = callback(&grafted_state(session, &state_of(&others_url))).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    setup
        .assert_failed(session, "not issued for this install session")
        .await;

    // The states that were grafted from are untouched: grace's install
    // still completes, as hers.
    assert_eq!(authorize(&graces_url, "acct_grace").await.status, 200);
    assert_eq!(
        setup
            .project
            .user("grace")
            .credentials(Some("crm"))
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn token_endpoint_failures(db: TestDb) {
    let setup = setup(&db).await;
    for (mode, expected) in [
        (FailureMode::new(FailureKind::InvalidGrant), "invalid_grant"),
        (FailureMode::new(FailureKind::Error500), "500"),
        (
            FailureMode::new(FailureKind::Slow).delay(Duration::from_secs(6)),
            "did not answer in time",
        ),
    ] {
        setup
            .provider
            .sandbox
            .set_failure(mode.target(FailureTarget::Token).times(1));
        let (session, url) = setup.start("crm").await;
        let reply = authorize(&url, "acct_ada").await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        setup.assert_failed(session, expected).await;
    }
}

async fn an_account_without_an_id_is_refused(db: TestDb) {
    let setup = setup(&db).await;
    let (session, url) = setup.start("noid").await;
    assert_eq!(authorize(&url, "acct_ada").await.status, 400);
    setup.assert_failed(session, "identifying").await;
}

async fn no_refresh_token_means_no_lasting_connection(db: TestDb) {
    let server = TestServer::start(&db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    // Without offline_access the provider issues no refresh token.
    let document = provider
        .config_document()
        .replace("scopes: [contacts, offline_access]", "scopes: [contacts]");
    let project = TestProject::with_config(&server, &document).await;
    let setup = Setup {
        server,
        provider,
        project,
    };
    let (session, url) = setup.start("crm").await;
    assert_eq!(authorize(&url, "acct_ada").await.status, 400);
    setup.assert_failed(session, "no refresh token").await;
}

backend_tests!(
    no_refresh_token_means_no_lasting_connection,
    the_user_denies_access,
    a_state_works_once,
    an_expired_state_fails,
    a_session_belongs_to_its_user_and_project,
    a_state_issued_for_another_session_fails_the_session,
    token_endpoint_failures,
    an_account_without_an_id_is_refused,
);
