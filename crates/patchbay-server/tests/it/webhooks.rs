//! Webhooks to the developer: signed per Standard Webhooks, durable through
//! outages and restarts, in order per account, dead-lettered and replayable.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use patchbay_api::{InstallRequest, WebhookDeliveryStatus};
use patchbay_server::WebhookPolicy;
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{
    FakeProvider, ReceivedWebhook, TestDb, TestProject, TestServer, WebhookReceiver, backend_tests,
};
use serde_json::json;
use uuid::Uuid;

const ADA_KEY: &str = "sbx_key_ada_3f9c2e71d4b8";
const GRACE_KEY: &str = "sbx_key_grace_8a1d6f04c2e9";
const KATHERINE_KEY: &str = "sbx_key_katherine_5b7e0c93a6f1";

fn with_key(key: &str, replacing: Option<Uuid>) -> InstallRequest {
    InstallRequest {
        credentials: Some(json!({"apiKey": key}).as_object().unwrap().clone()),
        allow_multiple_credentials: replacing.is_none(),
        selected_credential_id: replacing.map(|id| id.to_string()),
        ..Default::default()
    }
}

/// `(type, credentialId)` of each webhook, in arrival order.
fn events_of(webhooks: &[ReceivedWebhook]) -> Vec<(String, String)> {
    webhooks
        .iter()
        .map(|webhook| {
            let body = webhook.json();
            (
                body["type"].as_str().unwrap().to_owned(),
                body["data"]["credentialId"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The event types each account's webhooks arrived with, in order.
fn per_account(webhooks: &[ReceivedWebhook]) -> HashMap<String, Vec<String>> {
    let mut accounts: HashMap<String, Vec<String>> = HashMap::new();
    for (name, credential) in events_of(webhooks) {
        accounts.entry(credential).or_default().push(name);
    }
    accounts
}

/// Checks every signature with the Standard Webhooks reference library
/// (Python, from PyPI; `scripts/test` installs it).
fn verify_with_reference_library(secret: &str, webhooks: &[ReceivedWebhook]) {
    if let Err(report) = reference_library_verifies(secret, webhooks) {
        panic!(
            "signatures did not verify (is `standardwebhooks` installed for {}? scripts/test \
             installs it):\n{report}",
            crate::python::python()
        );
    }
}

/// Whether the Standard Webhooks reference library verifies every signature
/// with `secret`; what it said when it does not.
pub(crate) fn reference_library_verifies(
    secret: &str,
    webhooks: &[ReceivedWebhook],
) -> Result<(), String> {
    let python = crate::python::python();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/verify_webhooks.py"
    );
    let input = json!({
        "secret": secret,
        "webhooks": webhooks.iter().map(|w| json!({
            "id": w.id, "timestamp": w.timestamp, "signature": w.signature, "body": w.body,
        })).collect::<Vec<_>>(),
    });
    let mut child = Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run {python} ({err}); run scripts/test"));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

struct Setup {
    server: TestServer,
    _provider: FakeProvider,
    project: TestProject,
    receiver: WebhookReceiver,
}

async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::start(db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&server, &provider.config_document()).await;
    let receiver = WebhookReceiver::start().await;
    Setup {
        server,
        _provider: provider,
        project,
        receiver,
    }
}

/// Two accounts, two events each: A created then replaced, B created then
/// deleted. Returns `(A, B)`.
async fn two_accounts_two_events_each(project: &TestProject) -> (Uuid, Uuid) {
    let ada = project.user("ada");
    let a = ada
        .install_with_credentials("keys", &with_key(ADA_KEY, None))
        .await
        .unwrap()
        .credential
        .id;
    let b = ada
        .install_with_credentials("keys", &with_key(GRACE_KEY, None))
        .await
        .unwrap()
        .credential
        .id;
    ada.install_with_credentials("keys", &with_key(KATHERINE_KEY, Some(a)))
        .await
        .unwrap();
    ada.uninstall("keys", Some(&b.to_string())).await.unwrap();
    (a, b)
}

fn expected_order(a: Uuid, b: Uuid) -> HashMap<String, Vec<String>> {
    HashMap::from([
        (
            a.to_string(),
            vec!["credential.created".into(), "credential.replaced".into()],
        ),
        (
            b.to_string(),
            vec!["credential.created".into(), "credential.deleted".into()],
        ),
    ])
}

async fn a_receiver_that_was_down_gets_every_event_in_order_per_account(db: TestDb) {
    let setup = setup(&db).await;
    let (project, receiver) = (&setup.project, &setup.receiver);
    let endpoint = project
        .admin
        .create_webhook_endpoint(&receiver.url, &[])
        .await
        .unwrap();
    assert!(endpoint.secret.starts_with("whsec_"));
    receiver.set_up(false);
    let (a, b) = two_accounts_two_events_each(project).await;
    // Refused several times while down...
    receiver.wait_until(|got| got.len() >= 4).await;
    receiver.set_up(true);
    // ...and every event arrives once it is up.
    receiver
        .wait_until(|got| got.iter().filter(|r| r.accepted).count() >= 4)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 4, "each event accepted exactly once");
    assert_eq!(per_account(&accepted), expected_order(a, b));
    let ids: std::collections::HashSet<_> = accepted.iter().map(|w| w.id.clone()).collect();
    assert_eq!(ids.len(), 4, "one webhook-id per event");
    // Retries of an event carry its id: receivers can drop duplicates.
    let first = &accepted[0];
    assert!(
        receiver
            .received()
            .iter()
            .filter(|r| !r.accepted)
            .any(|r| r.id == first.id || r.id == accepted[1].id)
    );
    let body = first.json();
    assert_eq!(body["data"]["userId"], "ada");
    assert_eq!(body["data"]["integrationType"], "keys");
    assert!(body["timestamp"].is_string());
    assert!(!first.body.contains(ADA_KEY) && !first.body.contains(KATHERINE_KEY));
    verify_with_reference_library(&endpoint.secret, &receiver.received());

    let log = project
        .admin
        .webhook_deliveries(endpoint.endpoint.id, None, None)
        .await
        .unwrap();
    assert_eq!(log.data.len(), 4);
    assert!(log.next_cursor.is_none());
    assert!(
        log.data.iter().all(
            |d| d.status == WebhookDeliveryStatus::Delivered && d.last_status_code == Some(204)
        )
    );
    assert!(log.data.iter().any(|d| d.attempts >= 2), "{:?}", log.data);
}

async fn deliveries_survive_a_restart_during_backoff(db: TestDb) {
    let setup = setup(&db).await;
    let (project, receiver) = (&setup.project, &setup.receiver);
    project
        .admin
        .create_webhook_endpoint(&receiver.url, &[])
        .await
        .unwrap();
    receiver.set_up(false);
    let (a, b) = two_accounts_two_events_each(project).await;
    receiver.wait_until(|got| !got.is_empty()).await;
    let restarted = setup.server.replica(&db).await;
    setup.server.stop().await;
    receiver.set_up(true);
    receiver
        .wait_until(|got| got.iter().filter(|r| r.accepted).count() >= 4)
        .await;
    assert_eq!(per_account(&receiver.accepted()), expected_order(a, b));
    drop(restarted);
}

async fn failing_deliveries_are_dead_lettered_then_replayed(db: TestDb) {
    // Retried for half a second, then dead.
    let policy = WebhookPolicy {
        first_retry: Duration::from_millis(50),
        max_retry_delay: Duration::from_millis(100),
        retry_window: Duration::from_millis(500),
        ..patchbay_test_support::WEBHOOK_POLICY
    };
    let server = TestServer::configured(&db, |config| config.webhooks = policy).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&server, &provider.config_document()).await;
    let receiver = WebhookReceiver::start().await;
    let endpoint = project
        .admin
        .create_webhook_endpoint(&receiver.url, &["credential.created"])
        .await
        .unwrap()
        .endpoint;
    receiver.set_up(false);
    project
        .user("ada")
        .install_with_credentials("keys", &with_key(ADA_KEY, None))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let dead = loop {
        let log = project
            .admin
            .webhook_deliveries(endpoint.id, Some("dead"), None)
            .await
            .unwrap();
        if let Some(dead) = log.data.into_iter().next() {
            break dead;
        }
        assert!(Instant::now() < deadline, "never dead-lettered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(dead.event_type, "credential.created");
    assert_eq!(dead.last_status_code, Some(503));
    assert!(dead.attempts >= 2, "retried before giving up: {dead:?}");
    assert!(dead.next_attempt_at.is_none());
    let attempts = receiver.received().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.received().len(),
        attempts,
        "a dead delivery is not retried"
    );

    receiver.set_up(true);
    let replayed = project
        .admin
        .replay_webhook_delivery(dead.id)
        .await
        .unwrap();
    assert_eq!(replayed.status, WebhookDeliveryStatus::Pending);
    receiver
        .wait_until(|got| got.iter().any(|r| r.accepted))
        .await;
    assert_eq!(receiver.accepted()[0].id, dead.event_id.to_string());

    let other = TestProject::create(&server).await;
    let err = other
        .admin
        .replay_webhook_delivery(dead.id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("webhook_delivery_not_found"));
}

async fn endpoints_filter_events_and_can_be_disabled(db: TestDb) {
    let setup = setup(&db).await;
    let (project, receiver) = (&setup.project, &setup.receiver);
    let deletions = WebhookReceiver::start().await;
    project
        .admin
        .create_webhook_endpoint(&deletions.url, &["credential.deleted"])
        .await
        .unwrap();
    let every = project
        .admin
        .create_webhook_endpoint(&receiver.url, &[])
        .await
        .unwrap()
        .endpoint;
    let disabled = project
        .admin
        .set_webhook_endpoint_disabled(every.id, true)
        .await
        .unwrap();
    assert!(disabled.disabled);
    let (_, b) = two_accounts_two_events_each(project).await;
    deletions
        .wait_until(|got| got.iter().any(|r| r.accepted))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        events_of(&deletions.received()),
        [("credential.deleted".to_owned(), b.to_string())]
    );
    assert!(
        receiver.received().is_empty(),
        "a disabled endpoint gets nothing"
    );

    let listed = project.admin.webhook_endpoints().await.unwrap().data;
    assert_eq!(listed.len(), 2);
    let listed_json = serde_json::to_string(&listed).unwrap();
    assert!(
        !listed_json.contains("whsec_"),
        "secrets are shown once only"
    );
    project
        .admin
        .delete_webhook_endpoint(every.id)
        .await
        .unwrap();
    let err = project
        .admin
        .delete_webhook_endpoint(every.id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("webhook_endpoint_not_found"));
}

async fn bad_endpoint_requests_get_clear_errors(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let other = TestProject::create(&server).await;
    for url in ["ftp://hooks.example/x", "not a url", "/relative", "http://"] {
        let err = project
            .admin
            .create_webhook_endpoint(url, &[])
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("validation_failed"), "{url}");
    }
    let err = project
        .admin
        .create_webhook_endpoint("https://hooks.example/x", &["credential.exploded"])
        .await
        .unwrap_err();
    let patchbay_sdk::Error::Api { body } = err else {
        panic!("{err}")
    };
    assert_eq!(body.code, "validation_failed");
    assert_eq!(body.meta.unwrap()["field"], "eventTypes[0]");

    let mine = project
        .admin
        .create_webhook_endpoint("https://hooks.example/x", &[])
        .await
        .unwrap()
        .endpoint;
    for attempt in [
        other
            .admin
            .set_webhook_endpoint_disabled(mine.id, true)
            .await
            .err(),
        other.admin.delete_webhook_endpoint(mine.id).await.err(),
        other
            .admin
            .webhook_deliveries(mine.id, None, None)
            .await
            .err(),
    ] {
        assert_eq!(attempt.unwrap().code(), Some("webhook_endpoint_not_found"));
    }
    for (status, cursor) in [(Some("exploded"), None), (None, Some("not-a-cursor"))] {
        let err = project
            .admin
            .webhook_deliveries(mine.id, status, cursor)
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some("invalid_parameter"),
            "{status:?} {cursor:?}"
        );
    }

    let client = reqwest::Client::new();
    let base = server.url(&format!("/api/v1/projects/{}", project.id));
    for (method, path) in [
        (reqwest::Method::GET, "/webhook-endpoints/not-a-uuid"),
        (reqwest::Method::DELETE, "/webhook-endpoints/not-a-uuid"),
        (
            reqwest::Method::POST,
            "/webhook-deliveries/not-a-uuid/replay",
        ),
    ] {
        let response = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&project.secret_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["code"].as_str().unwrap().starts_with("webhook_"),
            "{body}"
        );
    }
    let unauthenticated = client
        .get(format!("{base}/webhook-endpoints"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
}

backend_tests!(
    a_receiver_that_was_down_gets_every_event_in_order_per_account,
    deliveries_survive_a_restart_during_backoff,
    failing_deliveries_are_dead_lettered_then_replayed,
    endpoints_filter_events_and_can_be_disabled,
    bad_endpoint_requests_get_clear_errors,
);
