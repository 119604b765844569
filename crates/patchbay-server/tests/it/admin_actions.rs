//! What the admin API does to a project besides reading it: replaying a
//! finished run as the same account, checking an account with its provider
//! now, enabling and disabling an account's workflow, rotating a webhook
//! endpoint's signing secret, and following every user's events live.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt as _};
use patchbay_api::{
    CredentialStatus, EventPayload, EventType, ExecutionStatus, InstallRequest, StreamEndReason,
};
use patchbay_sdk::admin::ExecutionQuery;
use patchbay_sdk::{AdminClient, Patchbay, ProjectEvent, ProjectEventData, UserClient};
use patchbay_server::sandbox::{FailureKind, FailureMode, FailureTarget, SandboxConfig};
use patchbay_test_support::{
    FakeProvider, TestDb, TestProject, TestServer, WebhookReceiver, backend_tests, connect_crm,
};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::api_error;
use crate::webhooks::reference_library_verifies;
use crate::workflows::{calls, finished};

/// Workflows appended to the fake provider's document (its `workflows:` list
/// comes last).
const WORKFLOWS: &str = r#"
  - id: save-contact
    integration: crm
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: create, type: request, method: POST, path: /contacts, body: {name: "{{ trigger.body.name }}"}}
  - id: welcome
    integration: crm
    defaultEnabled: false
    trigger: {type: integration_enabled}
    steps:
      - {id: hello, type: function, code: "return 'welcome';"}
"#;

const ADA_KEY: &str = "sbx_key_ada_3f9c2e71d4b8";
const GRACE_KEY: &str = "sbx_key_grace_8a1d6f04c2e9";

struct Setup {
    server: TestServer,
    provider: FakeProvider,
    project: TestProject,
    ada: UserClient,
}

/// A project on the fake provider, with [`WORKFLOWS`]. No background
/// refresher: only the checks a test asks for refresh a token.
async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::without_refresher(db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = project_on(&server, &provider).await;
    let ada = project.user("ada");
    Setup {
        server,
        provider,
        project,
        ada,
    }
}

async fn project_on(server: &TestServer, provider: &FakeProvider) -> TestProject {
    let document = format!("{}{WORKFLOWS}", provider.config_document());
    TestProject::with_config(server, &document).await
}

/// Runs `save-contact` as `account`, saving a contact named `name`; the
/// run's id.
async fn save_contact(user: &UserClient, account: Uuid, name: &str) -> Uuid {
    let body = json!({ "name": name });
    let accepted = user
        .trigger_workflow("save-contact", &body, Some(&account.to_string()))
        .await
        .unwrap();
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    accepted.body["executionId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn replaying_a_failed_run_runs_it_again_as_the_same_account(db: TestDb) {
    let s = setup(&db).await;
    let first = connect_crm(&s.ada, &InstallRequest::default(), "acct_ada").await;
    let second = patchbay_test_support::connect_another_crm(&s.ada, "acct_grace").await;
    s.provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::Error500).target(FailureTarget::Api));
    let failed_id = save_contact(&s.ada, second, "Grace's colleague").await;
    let failed = finished(&s.project, failed_id).await;
    assert_eq!(failed.status, ExecutionStatus::Failed, "{failed:?}");

    // The provider is back: the replay succeeds, as the second account.
    s.provider.sandbox.set_failure(FailureMode::NONE);
    let (as_first, as_second) = (
        calls(&s.provider, "acct_ada"),
        calls(&s.provider, "acct_grace"),
    );
    let replay = s.project.admin.replay_execution(failed_id).await.unwrap();
    assert_ne!(replay.execution_id, failed_id);
    let replayed = finished(&s.project, replay.execution_id).await;
    assert_eq!(replayed.status, ExecutionStatus::Succeeded, "{replayed:?}");
    assert_eq!(replayed.credential_id, second);
    assert_ne!(replayed.credential_id, first);
    assert_eq!(replayed.workflow_id, "save-contact");
    assert_eq!(replayed.user_id, "ada");
    assert_eq!(replayed.trigger["replayOf"], json!(failed_id));
    assert_eq!(
        replayed.trigger["body"],
        json!({"name": "Grace's colleague"})
    );
    assert_eq!(replayed.trigger["type"], failed.trigger["type"]);
    let steps = replayed.steps.unwrap();
    assert_eq!(
        steps[0].output.as_ref().unwrap()["status"],
        201,
        "{steps:?}"
    );
    assert_eq!(calls(&s.provider, "acct_grace"), as_second + 1);
    assert_eq!(calls(&s.provider, "acct_ada"), as_first);

    // Task History lists both runs of the account, the replay naming the first.
    let history = s
        .project
        .admin
        .executions(&ExecutionQuery {
            credential_id: Some(second.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    let runs: Vec<_> = history
        .data
        .iter()
        .map(|run| (run.id, run.trigger.get("replayOf").cloned()))
        .collect();
    assert_eq!(
        runs,
        [
            (replay.execution_id, Some(json!(failed_id))),
            (failed_id, None)
        ]
    );

    // The overview counts them among the day's runs (summed, should the test straddle an hour).
    let overview = s.project.admin.overview().await.unwrap();
    assert_eq!(overview.runs_per_hour.len(), 24);
    let (succeeded, failed): (i64, i64) = (overview.runs_per_hour.iter())
        .fold((0, 0), |(ok, ko), hour| {
            (ok + hour.succeeded, ko + hour.failed)
        });
    assert_eq!((succeeded, failed), (1, 1));
}

async fn only_a_finished_run_of_the_project_is_replayed(db: TestDb) {
    let s = setup(&db).await;
    let account = connect_crm(&s.ada, &InstallRequest::default(), "acct_ada").await;
    // The provider answers in two seconds: the run is still going when it is replayed.
    let slow = FailureMode::new(FailureKind::Slow)
        .target(FailureTarget::Api)
        .delay(Duration::from_secs(2))
        .times(1);
    s.provider.sandbox.set_failure(slow);
    let going = save_contact(&s.ada, account, "Someone").await;
    let err = s.project.admin.replay_execution(going).await.unwrap_err();
    api_error(&err, 409, "execution_not_finished");
    // Once it has ended, it can be.
    assert_eq!(
        finished(&s.project, going).await.status,
        ExecutionStatus::Succeeded
    );
    s.project.admin.replay_execution(going).await.unwrap();

    let err = s
        .project
        .admin
        .replay_execution(Uuid::new_v4())
        .await
        .unwrap_err();
    api_error(&err, 404, "execution_not_found");

    // Another project's finished run is unknown here, and replayable there.
    let other = project_on(&s.server, &s.provider).await;
    let grace = other.user("grace");
    let theirs = connect_crm(&grace, &InstallRequest::default(), "acct_grace").await;
    let their_run = save_contact(&grace, theirs, "Elsewhere").await;
    finished(&other, their_run).await;
    let err = s
        .project
        .admin
        .replay_execution(their_run)
        .await
        .unwrap_err();
    api_error(&err, 404, "execution_not_found");
    other.admin.replay_execution(their_run).await.unwrap();
}

async fn checking_an_oauth_account_now_refreshes_it_or_records_the_refusal(db: TestDb) {
    let s = setup(&db).await;
    let account = connect_crm(&s.ada, &InstallRequest::default(), "acct_ada").await;
    let connected = s.ada.credential(&account.to_string()).await.unwrap();
    let refreshes = s.provider.sandbox.stats().refreshes_succeeded;

    let checked = s.project.admin.check_credential(account).await.unwrap();
    assert_eq!(checked.id, account);
    assert_eq!(checked.status, CredentialStatus::Valid);
    assert!(checked.date_refreshed > connected.date_refreshed);
    assert_eq!(
        s.provider.sandbox.stats().refreshes_succeeded,
        refreshes + 1
    );

    // A provider that fails is the provider's error; the account stays valid.
    s.provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::Error500).target(FailureTarget::Token));
    let err = s.project.admin.check_credential(account).await.unwrap_err();
    api_error(&err, 502, "upstream_unreachable");
    let kept = s.ada.credential(&account.to_string()).await.unwrap();
    assert_eq!(kept.status, CredentialStatus::Valid);

    // A refusal is the answer: the account is INVALID, and says so everywhere.
    s.provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::InvalidGrant).target(FailureTarget::Token));
    let refused = s.project.admin.check_credential(account).await.unwrap();
    assert_eq!(refused.status, CredentialStatus::Invalid);
    let seen = s.ada.credential(&account.to_string()).await.unwrap();
    assert_eq!(seen.status, CredentialStatus::Invalid);
    crate::fixtures::invalidation_recorded(&s.server, s.project.id, account).await;
    // Checked again, it is answered as it stands: an INVALID account is not refreshed.
    let asked = s.provider.sandbox.stats().token_requests.clone();
    let again = s.project.admin.check_credential(account).await.unwrap();
    assert_eq!(again.status, CredentialStatus::Invalid);
    assert_eq!(s.provider.sandbox.stats().token_requests, asked);
}

async fn the_overview_counts_proxied_calls_their_errors_and_failed_refreshes(db: TestDb) {
    let s = setup(&db).await;
    let account = connect_crm(&s.ada, &InstallRequest::default(), "acct_ada").await;
    // Summed over the day, so a test that straddles an hour counts the same.
    let crm = |overview: &patchbay_api::Overview| {
        let usage = overview
            .usage
            .iter()
            .find(|u| u.integration == "crm")
            .unwrap();
        usage
            .hours
            .iter()
            .fold((0, 0, 0), |(calls, errors, refreshes), hour| {
                (
                    calls + hour.proxy_calls,
                    errors + hour.proxy_errors,
                    refreshes + hour.refresh_failures,
                )
            })
    };
    assert_eq!(crm(&s.project.admin.overview().await.unwrap()), (0, 0, 0));

    let answered = s
        .ada
        .proxy("crm", reqwest::Method::GET, "/contacts")
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    s.provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::Error500).target(FailureTarget::Api));
    let failed = s
        .ada
        .proxy("crm", reqwest::Method::GET, "/contacts")
        .send()
        .await
        .unwrap();
    assert!(failed.status() >= 500, "{}", failed.status());
    // One transient refresh failure, then a definitive one.
    s.provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::Error500).target(FailureTarget::Token));
    s.project.admin.check_credential(account).await.unwrap_err();
    s.provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::InvalidGrant).target(FailureTarget::Token));
    s.project.admin.check_credential(account).await.unwrap();

    let overview = s.project.admin.overview().await.unwrap();
    assert_eq!(crm(&overview), (2, 1, 2));
    assert_eq!(
        overview
            .usage
            .iter()
            .find(|u| u.integration == "crm")
            .unwrap()
            .hours
            .len(),
        24
    );
    // What the overview read is stored, not only in this replica's memory.
    let stored = s
        .server
        .state
        .store()
        .dashboard()
        .list_usage(
            s.project.id,
            chrono::Utc::now() - chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    let proxy_calls: i64 = stored.iter().map(|row| row.proxy_calls).sum();
    assert_eq!(proxy_calls, 2);
}

async fn checking_an_api_key_account_now_runs_its_verification(db: TestDb) {
    let s = setup(&db).await;
    let (_, account) = s.project.connect_api_key("ada", "keys", ADA_KEY).await;
    let before = calls(&s.provider, "acct_ada");
    let checked = s.project.admin.check_credential(account.id).await.unwrap();
    assert_eq!(checked.status, CredentialStatus::Valid);
    assert_eq!(calls(&s.provider, "acct_ada"), before + 1, "verified once");

    s.provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::Unauthorized).target(FailureTarget::Api));
    let refused = s.project.admin.check_credential(account.id).await.unwrap();
    assert_eq!(refused.status, CredentialStatus::Invalid);

    let err = s
        .project
        .admin
        .check_credential(Uuid::new_v4())
        .await
        .unwrap_err();
    api_error(&err, 404, "credential_not_found");
}

async fn an_admin_disables_and_enables_an_account_s_workflow(db: TestDb) {
    let s = setup(&db).await;
    let account = connect_crm(&s.ada, &InstallRequest::default(), "acct_ada").await;
    let mut events = Box::pin(s.ada.events(None).await.unwrap());
    let admin = &s.project.admin;

    let disabled = admin
        .set_credential_workflow_enabled(account, "save-contact", false)
        .await
        .unwrap();
    assert!(!disabled.configurations[0].workflow_settings["save-contact"].enabled);
    let body = json!({"name": "Nobody"});
    let err = s
        .ada
        .trigger_workflow("save-contact", &body, None)
        .await
        .unwrap_err();
    api_error(&err, 400, "workflow_not_enabled");
    let enabled = admin
        .set_credential_workflow_enabled(account, "save-contact", true)
        .await
        .unwrap();
    assert!(enabled.configurations[0].workflow_settings["save-contact"].enabled);
    save_contact(&s.ada, account, "Somebody").await;

    // The user hears both changes, as from their own toggle.
    for expected in [false, true] {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .unwrap();
        assert_eq!(event.name, "onWorkflowChange");
        let patchbay_sdk::UserEventData::Changed(EventPayload::WorkflowStateChanged(change)) =
            event.data
        else {
            panic!("{event:?}")
        };
        assert_eq!(
            (change.credential_id, change.workflow_id.as_str()),
            (account, "save-contact")
        );
        assert_eq!(change.workflow_state_change.enabled, Some(expected));
    }

    // Enabling an `integration_enabled` workflow runs it once, as the account.
    admin
        .set_credential_workflow_enabled(account, "welcome", true)
        .await
        .unwrap();
    let welcomed = admin
        .executions(&ExecutionQuery {
            workflow_id: Some("welcome".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(welcomed.data.len(), 1);
    assert_eq!(welcomed.data[0].credential_id, account);

    for (credential, workflow, status, code) in [
        (account, "no-such-workflow", 404, "workflow_not_found"),
        (Uuid::new_v4(), "save-contact", 404, "credential_not_found"),
    ] {
        let err = admin
            .set_credential_workflow_enabled(credential, workflow, false)
            .await
            .unwrap_err();
        api_error(&err, status, code);
    }
    // A workflow of another integration is not one of this account's.
    let (_, key_account) = s.project.connect_api_key("ada", "keys", ADA_KEY).await;
    let err = admin
        .set_credential_workflow_enabled(key_account.id, "save-contact", false)
        .await
        .unwrap_err();
    api_error(&err, 404, "workflow_not_found");
}

async fn a_rotated_secret_signs_later_deliveries_and_the_old_one_no_longer_does(db: TestDb) {
    let s = setup(&db).await;
    let receiver = WebhookReceiver::start().await;
    let admin = &s.project.admin;
    let created = admin
        .create_webhook_endpoint(&receiver.url, &[])
        .await
        .unwrap();
    let old = created.secret;
    s.project.connect_api_key("ada", "keys", ADA_KEY).await;
    receiver.wait_until(|got| got.len() == 1).await;
    reference_library_verifies(&old, &receiver.received()).unwrap();

    let rotated = admin
        .rotate_webhook_secret(created.endpoint.id)
        .await
        .unwrap();
    assert!(rotated.secret.starts_with("whsec_"));
    assert_ne!(rotated.secret, old);
    s.project.connect_api_key("grace", "keys", GRACE_KEY).await;
    receiver.wait_until(|got| got.len() == 2).await;
    let after = &receiver.received()[1..];
    assert_eq!(after[0].json()["data"]["userId"], "grace");
    reference_library_verifies(&rotated.secret, after).unwrap();
    assert!(
        reference_library_verifies(&old, after).is_err(),
        "the old secret still verifies"
    );

    let err = admin
        .rotate_webhook_secret(Uuid::new_v4())
        .await
        .unwrap_err();
    api_error(&err, 404, "webhook_endpoint_not_found");
}

type ProjectEvents = Pin<Box<dyn Stream<Item = Result<ProjectEvent, patchbay_sdk::Error>> + Send>>;

async fn subscribe(admin: &AdminClient, after: Option<i64>) -> ProjectEvents {
    Box::pin(admin.events(after).await.unwrap())
}

/// The next event, failing the test if none comes within `within`.
async fn next(events: &mut ProjectEvents, within: Duration) -> ProjectEvent {
    tokio::time::timeout(within, events.next())
        .await
        .expect("an event in time")
        .expect("the stream is open")
        .unwrap()
}

/// The user and type of a recorded event.
fn recorded(event: &ProjectEvent) -> (String, EventType) {
    match &event.data {
        ProjectEventData::Recorded(webhook) => (webhook.data.user_id.clone(), webhook.event_type),
        ProjectEventData::StreamEnded(reason) => panic!("the stream ended: {reason:?}"),
    }
}

async fn the_project_stream_carries_every_user_s_events(db: TestDb) {
    let s = setup(&db).await;
    let mut events = subscribe(&s.project.admin, None).await;
    let (_, ada_account) = s.project.connect_api_key("ada", "keys", ADA_KEY).await;
    let (_, grace_account) = s.project.connect_api_key("grace", "keys", GRACE_KEY).await;

    let first = next(&mut events, Duration::from_secs(10)).await;
    let second = next(&mut events, Duration::from_secs(10)).await;
    assert_eq!(
        (recorded(&first), recorded(&second)),
        (
            ("ada".to_owned(), EventType::CredentialCreated),
            ("grace".to_owned(), EventType::CredentialCreated)
        )
    );
    let ProjectEventData::Recorded(body) = &second.data else {
        unreachable!()
    };
    let EventPayload::Credential(change) = &body.data.payload else {
        panic!("{body:?}")
    };
    assert_eq!(change.credential_id, grace_account.id);
    assert_ne!(change.credential_id, ada_account.id);
    assert!(first.id < second.id);

    // Resuming after the first event starts with the second.
    let mut resumed = subscribe(&s.project.admin, Some(first.id)).await;
    let again = next(&mut resumed, Duration::from_secs(10)).await;
    assert_eq!((again.id, recorded(&again)), (second.id, recorded(&second)));
}

async fn a_project_stream_ends_when_its_secret_key_is_revoked(db: TestDb) {
    let s = setup(&db).await;
    let key = s.project.admin.create_secret_key().await.unwrap();
    let admin = Patchbay::new(s.server.base_url.clone()).admin(s.project.id, key.secret_key);
    let mut events = subscribe(&admin, None).await;
    s.project.admin.revoke_secret_key(key.id).await.unwrap();
    // Looked at again within five seconds.
    let ended = next(&mut events, Duration::from_secs(15)).await;
    assert_eq!(
        ended.data,
        ProjectEventData::StreamEnded(StreamEndReason::SecretKeyRevoked)
    );
    let closed = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
    assert!(matches!(closed, Ok(None)), "{closed:?}");
}

backend_tests!(
    replaying_a_failed_run_runs_it_again_as_the_same_account,
    only_a_finished_run_of_the_project_is_replayed,
    checking_an_oauth_account_now_refreshes_it_or_records_the_refusal,
    checking_an_api_key_account_now_runs_its_verification,
    the_overview_counts_proxied_calls_their_errors_and_failed_refreshes,
    an_admin_disables_and_enables_an_account_s_workflow,
    a_rotated_secret_signs_later_deliveries_and_the_old_one_no_longer_does,
    the_project_stream_carries_every_user_s_events,
    a_project_stream_ends_when_its_secret_key_is_revoked,
);
