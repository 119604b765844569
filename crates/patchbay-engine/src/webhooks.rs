//! The webhook sender: delivers the outbox to the developer's endpoints,
//! signed per the Standard Webhooks specification (docs/api.md).
//!
//! Deliveries are queued in the same transaction as their event, so none is
//! lost; each replica runs a sender, and the store's claim (a lease, `SKIP
//! LOCKED` on PostgreSQL) makes them share the outbox. An endpoint receives
//! one account's events in order: the store only hands out the oldest
//! pending delivery of each account. A failed attempt is retried with
//! exponential backoff until the retry window has passed, then dead-lettered.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use patchbay_store::{ClaimedDelivery, DeliveryOutcome, StoreResult, now};
use rand::RngCore as _;
use standardwebhooks::Webhook;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

use patchbay_core::crypto::Keyring;
use patchbay_store::Store;
use tokio_util::sync::CancellationToken;

use crate::events;
use crate::metrics::Metrics;
use crate::secrets::{self, WEBHOOK_SECRET};

/// How deliveries are attempted and retried.
#[derive(Debug, Clone, Copy)]
pub struct WebhookPolicy {
    /// Total time one attempt may take.
    pub timeout: Duration,
    /// The wait after the first failure; it doubles after each one.
    pub first_retry: Duration,
    pub max_retry_delay: Duration,
    /// A delivery still failing this long after it was queued is dead.
    pub retry_window: Duration,
    /// How often the sender looks for due retries when no event wakes it.
    pub poll_interval: Duration,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            first_retry: Duration::from_secs(5),
            max_retry_delay: Duration::from_secs(60 * 60),
            retry_window: Duration::from_secs(25 * 60 * 60),
            poll_interval: Duration::from_secs(1),
        }
    }
}

impl WebhookPolicy {
    /// When to try again after `attempts` failed attempts, or `None` when the
    /// delivery queued at `queued_at` has used up its retry window.
    fn next_attempt(
        &self,
        attempts: i64,
        queued_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let delay = self
            .first_retry
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.max_retry_delay);
        let next = at + chrono::Duration::from_std(delay).ok()?;
        let deadline = queued_at + chrono::Duration::from_std(self.retry_window).ok()?;
        (next <= deadline).then_some(next)
    }
}

/// Deliveries claimed per look at the outbox.
const BATCH: i64 = 64;
/// Attempts in flight at once, per replica.
const CONCURRENCY: usize = 16;
/// Error texts kept in the delivery log are cut to this many characters.
const MAX_ERROR_CHARS: usize = 300;

/// A new endpoint secret, in the Standard Webhooks format (`whsec_` and
/// base64 of 32 random bytes).
fn generate_secret() -> String {
    use base64::Engine as _;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// A new signing secret for the endpoint `endpoint_id`: as it is shown once, and sealed to
/// the endpoint's row as it is stored.
pub fn new_secret(keyring: &Keyring, project_id: Uuid, endpoint_id: Uuid) -> (String, Vec<u8>) {
    let secret = generate_secret();
    let sealed = secrets::seal_str(keyring, project_id, endpoint_id, WEBHOOK_SECRET, &secret);
    (secret, sealed)
}

/// Gives an endpoint a new signing secret in place of its current one, and answers it.
/// Deliveries are signed with the secret they were claimed with, so every attempt claimed
/// from now on signs with the new one. `NotFound` for an endpoint the project does not have.
pub async fn rotate_secret(
    store: &dyn Store,
    keyring: &Keyring,
    project_id: Uuid,
    endpoint_id: Uuid,
) -> StoreResult<String> {
    let (secret, sealed) = new_secret(keyring, project_id, endpoint_id);
    store
        .events()
        .set_webhook_endpoint_secret(project_id, endpoint_id, &sealed)
        .await?;
    Ok(secret)
}

/// What sending webhooks needs.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) keyring: Arc<Keyring>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) policy: WebhookPolicy,
    /// The sender stops when this is cancelled.
    pub(crate) shutdown: CancellationToken,
}

/// Starts the sender; it stops with the server's shutdown.
pub fn spawn(sender: WebhookSender) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut notices = sender.store.events().event_notices();
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        let client = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(sender.policy.timeout)
            .build()
        {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "cannot build the webhook client; webhooks are off");
                return;
            }
        };
        loop {
            let sent = send_due(&sender, &client, &permits).await;
            if sent {
                continue;
            }
            tokio::select! {
                () = sender.shutdown.cancelled() => return,
                _ = notices.recv() => {}
                () = tokio::time::sleep(sender.policy.poll_interval) => {}
            }
        }
    })
}

/// Attempts every due delivery once; whether there were any.
async fn send_due(
    sender: &WebhookSender,
    client: &reqwest::Client,
    permits: &Arc<Semaphore>,
) -> bool {
    let policy = sender.policy;
    let lease = chrono::Duration::from_std(policy.timeout + Duration::from_secs(30))
        .unwrap_or_else(|_| chrono::Duration::minutes(1));
    let at = now();
    let claimed = match sender
        .store
        .events()
        .claim_webhook_deliveries(at, at + lease, BATCH)
        .await
    {
        Ok(claimed) => claimed,
        Err(error) => {
            tracing::warn!(%error, "cannot claim webhook deliveries");
            return false;
        }
    };
    if claimed.is_empty() {
        return false;
    }
    let mut running = JoinSet::new();
    for delivery in claimed {
        let Ok(permit) = Arc::clone(permits).acquire_owned().await else {
            break;
        };
        let sender = sender.clone();
        let client = client.clone();
        running.spawn(async move {
            let _permit = permit;
            let outcome = attempt(&sender, &client, &delivery).await;
            sender.metrics.count_webhook_delivery(match outcome {
                DeliveryOutcome::Delivered { .. } => "delivered",
                DeliveryOutcome::Retry { .. } => "retry",
                DeliveryOutcome::Dead { .. } => "dead",
            });
            if let Err(error) = sender
                .store
                .events().record_delivery_attempt(delivery.delivery.id, &outcome)
                .await
            {
                // The lease expires and the delivery is attempted again.
                tracing::warn!(%error, delivery = %delivery.delivery.id, "cannot record a webhook attempt");
            }
        });
    }
    while running.join_next().await.is_some() {}
    true
}

/// The body of a webhook: the stored event as its wire type. An event that
/// does not read back is reported, never sent half-formed.
fn body(claimed: &ClaimedDelivery) -> Result<String, String> {
    let body = events::webhook_event(&claimed.event)?;
    serde_json::to_string(&body).map_err(|error| error.to_string())
}

async fn attempt(
    sender: &WebhookSender,
    client: &reqwest::Client,
    claimed: &ClaimedDelivery,
) -> DeliveryOutcome {
    let failed = |status_code: Option<u16>, error: String| {
        let delivery = &claimed.delivery;
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        match sender
            .policy
            .next_attempt(delivery.attempts + 1, delivery.queued_at, now())
        {
            Some(next_attempt_at) => DeliveryOutcome::Retry {
                status_code,
                error,
                next_attempt_at,
            },
            None => DeliveryOutcome::Dead { status_code, error },
        }
    };
    let secret = match secrets::open_str(
        &sender.keyring,
        claimed.secret.project_id,
        claimed.secret.record_id,
        WEBHOOK_SECRET,
        &claimed.secret.ciphertext,
    ) {
        Ok(secret) => secret,
        Err(error) => return failed(None, format!("cannot open the endpoint's secret: {error}")),
    };
    let webhook = match Webhook::new(&secret) {
        Ok(webhook) => webhook,
        Err(error) => return failed(None, format!("the endpoint's secret is unusable: {error}")),
    };
    let payload = match body(claimed) {
        Ok(payload) => payload,
        Err(error) => {
            return DeliveryOutcome::Dead {
                status_code: None,
                error,
            };
        }
    };
    // The event id is the message id: the same on every retry, so receivers
    // can drop duplicates.
    let message_id = claimed.event.id.to_string();
    let timestamp = Utc::now().timestamp();
    let signature = match webhook.sign(&message_id, timestamp, payload.as_bytes()) {
        Ok(signature) => signature,
        Err(error) => return failed(None, format!("cannot sign: {error}")),
    };
    let sent = client
        .post(&claimed.url)
        .header("content-type", "application/json")
        .header("webhook-id", &message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(payload)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => DeliveryOutcome::Delivered {
            status_code: response.status().as_u16(),
        },
        Ok(response) => failed(
            Some(response.status().as_u16()),
            format!("the endpoint answered {}", response.status()),
        ),
        Err(error) if error.is_timeout() => failed(None, "the endpoint timed out".to_owned()),
        Err(error) if error.is_connect() => {
            failed(None, "cannot connect to the endpoint".to_owned())
        }
        Err(_) => failed(None, "the request to the endpoint failed".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_until_the_window_closes() {
        let policy = WebhookPolicy {
            first_retry: Duration::from_secs(5),
            max_retry_delay: Duration::from_secs(3600),
            retry_window: Duration::from_secs(24 * 3600),
            ..WebhookPolicy::default()
        };
        let queued = now();
        let delays: Vec<i64> = (1..=12)
            .map(|attempts| {
                let next = policy.next_attempt(attempts, queued, queued).unwrap();
                (next - queued).num_seconds()
            })
            .collect();
        assert_eq!(
            delays,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        // Still retried a day later, dead once the window has passed.
        let late = queued + chrono::Duration::hours(23);
        assert!(policy.next_attempt(40, queued, late).is_some());
        let later = queued + chrono::Duration::hours(24);
        assert_eq!(policy.next_attempt(41, queued, later), None);
    }
}
