//! Webhook deliveries waiting out their backoff survive a SIGKILL: the
//! restarted server sends every event, once, in order per account.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use patchbay_api::{InstallRequest, WebhookDeliveryStatus};
use patchbay_sdk::Patchbay;
use patchbay_server::sandbox::{SANDBOX_ACCOUNTS, SandboxConfig};
use patchbay_test_support::{
    ADMIN_TOKEN, FakeProvider, ReceivedWebhook, TestProject, WebhookReceiver,
};
use serde_json::json;
use uuid::Uuid;

use crate::binary::{Running, patchbay};

/// `patchbay serve` on the SQLite database and master key file of
/// `data_dir`, both created by the first start and found again by the next.
fn serve(cwd: &Path, data_dir: &Path) -> Running {
    let mut command = patchbay(cwd);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(["--refresh-interval", "3600"])
        // A failing delivery is tried again every second rather than after
        // 5 s, 10 s, 20 s...: a receiver that is back is found quickly.
        .args(["--webhook-max-retry-delay", "1"])
        .env("PATCHBAY_ADMIN_TOKEN", ADMIN_TOKEN);
    Running::start(&mut command).unwrap()
}

/// An API-key install of the sandbox account `account` (an index into
/// [`SANDBOX_ACCOUNTS`]), as another account or replacing `replacing`.
fn with_key(account: usize, replacing: Option<Uuid>) -> InstallRequest {
    let key = SANDBOX_ACCOUNTS[account].api_key;
    InstallRequest {
        credentials: Some(json!({"apiKey": key}).as_object().unwrap().clone()),
        allow_multiple_credentials: replacing.is_none(),
        selected_credential_id: replacing.map(|id| id.to_string()),
        ..Default::default()
    }
}

/// Two accounts, two events each: A created then replaced, B created then
/// deleted. Returns `(A, B)`.
async fn two_accounts_two_events_each(project: &TestProject) -> (Uuid, Uuid) {
    let ada = project.user("ada");
    let install = |request| {
        let ada = &ada;
        async move {
            ada.install_with_credentials("keys", &request)
                .await
                .unwrap()
                .credential
                .id
        }
    };
    let a = install(with_key(0, None)).await;
    let b = install(with_key(1, None)).await;
    install(with_key(2, Some(a))).await;
    ada.uninstall("keys", Some(&b.to_string())).await.unwrap();
    (a, b)
}

/// The event types each account's webhooks arrived with, in order.
fn per_account(webhooks: &[ReceivedWebhook]) -> HashMap<String, Vec<String>> {
    let mut accounts: HashMap<String, Vec<String>> = HashMap::new();
    for webhook in webhooks {
        let body = webhook.json();
        accounts
            .entry(body["data"]["credentialId"].as_str().unwrap().to_owned())
            .or_default()
            .push(body["type"].as_str().unwrap().to_owned());
    }
    accounts
}

/// Waits until the receiver has had no request for `gap`: the sender is
/// between two attempts. A delivery claimed when the process dies is not
/// lost, but it keeps its lease (the webhook timeout plus 30 s) before the
/// restarted server may send it, which is longer than this test should take.
async fn between_attempts(receiver: &WebhookReceiver, gap: Duration) {
    let mut seen = receiver.received().len();
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < gap {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now_seen = receiver.received().len();
        if now_seen != seen {
            seen = now_seen;
            quiet_since = Instant::now();
        }
    }
}

#[tokio::test]
async fn deliveries_in_backoff_survive_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let receiver = WebhookReceiver::start().await;
    receiver.set_up(false);
    let mut server = serve(dir.path(), &data_dir);
    let project = TestProject::at(&server.base_url, &provider.config_document()).await;
    let endpoint = project
        .admin
        .create_webhook_endpoint(&receiver.url, &[])
        .await
        .unwrap()
        .endpoint;
    let (a, b) = two_accounts_two_events_each(&project).await;

    // Each account's first event refused twice: retried, so in backoff.
    receiver
        .wait_until(|got| {
            let attempts = per_account(got);
            [a, b].iter().all(|id| {
                attempts
                    .get(&id.to_string())
                    .is_some_and(|events| events.len() >= 2)
            })
        })
        .await;
    let log = project
        .admin
        .webhook_deliveries(endpoint.id, None, None)
        .await
        .unwrap();
    assert_eq!(log.data.len(), 4);
    assert!(
        log.data
            .iter()
            .all(|d| d.status == WebhookDeliveryStatus::Pending),
        "{:?}",
        log.data
    );
    between_attempts(&receiver, Duration::from_millis(200)).await;
    server.signal("KILL");
    server.wait(Duration::from_secs(5));
    assert!(receiver.accepted().is_empty());

    let server = serve(dir.path(), &data_dir);
    receiver.set_up(true);
    receiver
        .wait_until(|got| got.iter().filter(|r| r.accepted).count() >= 4)
        .await;
    // Longer than a retry takes: a duplicate would have arrived by now.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 4, "each event accepted exactly once");
    assert_eq!(
        per_account(&accepted),
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
    );
    let admin = Patchbay::new(server.base_url.clone()).admin(project.id, &project.secret_key);
    let log = admin
        .webhook_deliveries(endpoint.id, None, None)
        .await
        .unwrap();
    let mut delivered: Vec<String> = log
        .data
        .iter()
        .filter(|d| d.status == WebhookDeliveryStatus::Delivered)
        .map(|d| d.event_id.to_string())
        .collect();
    let mut received: Vec<String> = accepted.iter().map(|w| w.id.clone()).collect();
    delivered.sort();
    received.sort();
    assert_eq!(delivered.len(), 4, "{:?}", log.data);
    assert_eq!(received, delivered, "one webhook per event, by event id");
}
