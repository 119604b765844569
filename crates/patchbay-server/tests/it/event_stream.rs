//! `GET /sdk/events/stream`: each user's own changes, live, resumable, and
//! across replicas.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt as _};
use patchbay_api::InstallRequest;
use patchbay_sdk::api::{EventPayload, StreamEndReason};
use patchbay_sdk::{SigningAlgorithm, TokenSigner, UserClient, UserEvent, UserEventData};
use patchbay_server::sandbox::{FailureKind, FailureMode, FailureTarget, SandboxConfig};
use patchbay_test_support::{
    FakeProvider, TestDb, TestProject, TestServer, backend_tests, connect_crm,
};
use serde_json::{Map, json};
use uuid::Uuid;

type Events = Pin<Box<dyn Stream<Item = Result<UserEvent, patchbay_sdk::Error>> + Send>>;

async fn subscribe(user: &UserClient, after: Option<i64>) -> Events {
    Box::pin(user.events(after).await.unwrap())
}

/// The next event, failing the test if none comes within 10 s.
async fn next(events: &mut Events) -> UserEvent {
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream is open")
        .unwrap()
}

/// Asserts that nothing arrives for a while.
async fn quiet(events: &mut Events) {
    let got = tokio::time::timeout(Duration::from_millis(500), events.next()).await;
    assert!(got.is_err(), "unexpected event: {got:?}");
}

fn payload_of(event: &UserEvent) -> &EventPayload {
    match &event.data {
        UserEventData::Changed(payload) => payload,
        UserEventData::StreamEnded(reason) => panic!("the stream ended: {reason:?}"),
    }
}

fn credential_of(event: &UserEvent) -> Uuid {
    match payload_of(event) {
        EventPayload::Credential(change) => change.credential_id,
        EventPayload::WorkflowStateChanged(change) => change.credential_id,
        EventPayload::TaskFailed(failure) => failure.credential_id,
    }
}

fn with_key(key: &str) -> InstallRequest {
    InstallRequest {
        credentials: Some(json!({"apiKey": key}).as_object().unwrap().clone()),
        allow_multiple_credentials: true,
        ..Default::default()
    }
}

const ADA_KEY: &str = "sbx_key_ada_3f9c2e71d4b8";
const GRACE_KEY: &str = "sbx_key_grace_8a1d6f04c2e9";
const KATHERINE_KEY: &str = "sbx_key_katherine_5b7e0c93a6f1";

async fn a_subscriber_gets_every_change_of_its_own_user_only(db: TestDb) {
    let server = TestServer::start(&db).await;
    // Access tokens that expire at once, so the refresher soon meets the
    // refusal set below.
    let provider = FakeProvider::start(SandboxConfig {
        access_token_ttl: Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    let project = TestProject::with_config(&server, &provider.config_document()).await;
    let (ada, grace) = (project.user("ada"), project.user("grace"));
    let mut ada_events = subscribe(&ada, None).await;
    let mut grace_events = subscribe(&grace, None).await;

    let a = connect_crm(&ada, &InstallRequest::default(), "acct_ada").await;
    let multiple = InstallRequest {
        allow_multiple_credentials: true,
        ..Default::default()
    };
    let b = connect_crm(&ada, &multiple, "acct_grace").await;
    let replace_b = InstallRequest {
        selected_credential_id: Some(b.to_string()),
        ..Default::default()
    };
    assert_eq!(connect_crm(&ada, &replace_b, "acct_katherine").await, b);
    ada.enable_workflow("sync", Some(&a.to_string()))
        .await
        .unwrap();
    ada.uninstall("crm", Some(&b.to_string())).await.unwrap();
    provider
        .sandbox
        .set_failure(FailureMode::new(FailureKind::InvalidGrant).target(FailureTarget::Token));

    let expected = [
        ("onIntegrationInstall", a),
        ("onIntegrationInstall", b),
        ("onCredentialChange", b),
        ("onWorkflowChange", a),
        ("onIntegrationUninstall", b),
        ("onCredentialChange", a),
    ];
    let mut last_id = 0;
    for (name, credential) in expected {
        let event = next(&mut ada_events).await;
        assert_eq!(
            (event.name.as_str(), credential_of(&event)),
            (name, credential)
        );
        assert!(event.id > last_id, "ids grow");
        last_id = event.id;
        match (name, payload_of(&event)) {
            ("onIntegrationInstall" | "onIntegrationUninstall", EventPayload::Credential(e)) => {
                assert_eq!(e.integration_type, "crm");
            }
            ("onWorkflowChange", EventPayload::WorkflowStateChanged(e)) => {
                assert_eq!(e.workflow_id, "sync");
                assert_eq!(e.workflow_state_change.enabled, Some(true));
            }
            ("onCredentialChange", EventPayload::Credential(_)) => {}
            (name, payload) => panic!("{name} carried {payload:?}"),
        }
    }
    // Grace's stream carried none of it: her first event is her own.
    let own = grace
        .install_with_credentials("keys", &with_key(GRACE_KEY))
        .await
        .unwrap();
    let event = next(&mut grace_events).await;
    assert_eq!(event.name, "onIntegrationInstall");
    assert_eq!(credential_of(&event), own.credential.id);
}

async fn last_event_id_resumes_exactly_after_it(db: TestDb) {
    let server = TestServer::start(&db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&server, &provider.config_document()).await;
    let ada = project.user("ada");

    let mut events = subscribe(&ada, None).await;
    ada.install_with_credentials("keys", &with_key(ADA_KEY))
        .await
        .unwrap();
    let seen = next(&mut events).await;
    drop(events);

    // Missed while disconnected.
    let mut missed = Vec::new();
    for key in [GRACE_KEY, KATHERINE_KEY] {
        let installed = ada
            .install_with_credentials("keys", &with_key(key))
            .await
            .unwrap();
        missed.push(installed.credential.id);
    }
    let mut resumed = subscribe(&ada, Some(seen.id)).await;
    for id in &missed {
        assert_eq!(credential_of(&next(&mut resumed).await), *id);
    }
    quiet(&mut resumed).await;
    ada.uninstall("keys", Some(&missed[0].to_string()))
        .await
        .unwrap();
    let after = next(&mut resumed).await;
    assert_eq!(after.name, "onIntegrationUninstall");
    assert_eq!(credential_of(&after), missed[0]);

    // A fresh subscription starts with the next change, not the history.
    let mut fresh = subscribe(&ada, None).await;
    quiet(&mut fresh).await;

    let err = ada.events(Some(-1)).await.err().unwrap();
    assert_eq!(err.code(), Some("validation_failed"));
}

async fn a_token_limited_to_one_account_sees_only_that_account(db: TestDb) {
    let server = TestServer::start(&db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&server, &provider.config_document()).await;
    let ada = project.user("ada");
    let first = ada
        .install_with_credentials("keys", &with_key(ADA_KEY))
        .await
        .unwrap()
        .credential
        .id;
    let mut permissions = Map::new();
    permissions.insert(format!("credential:{first}"), json!(true));
    let token = project
        .signer
        .mint_with("ada", Map::new(), Some(permissions))
        .unwrap();
    let mut limited = subscribe(&project.user_with_token(token), None).await;

    let second = ada
        .install_with_credentials("keys", &with_key(GRACE_KEY))
        .await
        .unwrap()
        .credential
        .id;
    ada.uninstall("keys", Some(&first.to_string()))
        .await
        .unwrap();
    let event = next(&mut limited).await;
    assert_eq!(event.name, "onIntegrationUninstall");
    assert_eq!(credential_of(&event), first, "not {second}'s install");
}

async fn the_token_may_come_in_the_query_for_event_source(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let token = project.signer.mint("ada").unwrap();
    let url = server.url(&format!("/projects/{}/sdk/events/stream", project.id));
    let client = reqwest::Client::new();
    let response = client
        .get(&url)
        .query(&[("token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    drop(response);
    let rejected = client
        .get(&url)
        .query(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 401);
    let body: serde_json::Value = rejected.json().await.unwrap();
    assert!(
        body["code"].as_str().unwrap().starts_with("unauthorized"),
        "{body}"
    );
    let missing = client.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 401);
}

async fn shutdown_ends_open_streams(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let mut events = subscribe(&project.user("ada"), None).await;
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("graceful shutdown does not wait for streams");
    let end = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
    assert!(matches!(end, Ok(None) | Ok(Some(Err(_)))), "{end:?}");
}

/// The stream's last event once its token would no longer be accepted.
async fn stream_ended(events: &mut Events, reason: StreamEndReason) {
    let ended = tokio::time::timeout(Duration::from_secs(15), events.next())
        .await
        .expect("the stream ends within 15 s")
        .expect("a last event before the end")
        .unwrap();
    assert_eq!(ended.name, "streamEnded");
    assert_eq!(ended.data, UserEventData::StreamEnded(reason));
    let after = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
    assert!(matches!(after, Ok(None)), "the stream goes on: {after:?}");
}

async fn a_stream_ends_when_its_token_stops_being_valid(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    // Expired 57 s ago: accepted for 3 s more, within the clock-skew leeway.
    let expiring = TokenSigner::new(
        project.id,
        &project.private_key_pem,
        SigningAlgorithm::Es256,
    )
    .unwrap()
    .with_kid(project.kid.clone())
    .with_ttl_seconds(-57)
    .mint("ada")
    .unwrap();
    let mut events = subscribe(&project.user_with_token(expiring), None).await;
    stream_ended(&mut events, StreamEndReason::TokenExpired).await;

    let mut events = subscribe(&project.user("grace"), None).await;
    quiet(&mut events).await;
    project
        .admin
        .revoke_signing_key(&project.kid)
        .await
        .unwrap();
    stream_ended(&mut events, StreamEndReason::SigningKeyRevoked).await;
}

backend_tests!(
    a_stream_ends_when_its_token_stops_being_valid,
    a_subscriber_gets_every_change_of_its_own_user_only,
    last_event_id_resumes_exactly_after_it,
    a_token_limited_to_one_account_sees_only_that_account,
    the_token_may_come_in_the_query_for_event_source,
    shutdown_ends_open_streams,
);

/// Two servers on one PostgreSQL database: a change made through one
/// reaches a stream on the other through `LISTEN/NOTIFY`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_replica_reaches_a_stream_on_another() {
    let db = TestDb::postgres().await;
    let first = TestServer::start(&db).await;
    let second = first.replica(&db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&first, &provider.config_document()).await;
    let token = project.signer.mint("ada").unwrap();
    let on_second = patchbay_sdk::Patchbay::new(second.base_url.clone()).user(project.id, token);
    let mut events = subscribe(&on_second, None).await;
    let installed = project
        .user("ada")
        .install_with_credentials("keys", &with_key(ADA_KEY))
        .await
        .unwrap();
    // Sooner than the stream's periodic look at the store (5 s): the notice
    // crossed from one replica to the other.
    let event = tokio::time::timeout(Duration::from_secs(3), events.next())
        .await
        .expect("notified within 3 s")
        .unwrap()
        .unwrap();
    assert_eq!(credential_of(&event), installed.credential.id);
}
