//! The sandbox's webhooks. Every change to a contact is sent, signed, to the one URL set with
//! [`Sandbox::send_webhooks_to`], each event naming the account it concerns: the way a
//! provider sends its app's events to the URL registered in its developer console. Before
//! the first event, that URL must pass a handshake by echoing a challenge. Each event also
//! goes to the URLs its account registered through the API (`POST /api/webhooks`), as
//! providers with per-account webhooks send them.
//!
//! A delivery is `POST {url}` with a JSON body and `X-Sandbox-Signature: t=<unix seconds>,
//! v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the webhook secret>`:
//! `{"id": "evt_…", "type": "contact.created" | "contact.updated" | "contact.deleted",
//! "account": "acct_…", "created": <unix seconds>, "data": <the contact>}`. The handshake is
//! `{"type": "url_verification", "challenge": "…"}`, signed the same way. Events go out one
//! at a time, in order; a failed one is tried three times in all.

use std::sync::{Arc, Weak};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Inner, Sandbox};

/// The header carrying a delivery's signature.
pub const SIGNATURE_HEADER: &str = "x-sandbox-signature";

/// Waits before the second and third attempt of a delivery.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(200), Duration::from_secs(1)];

/// One event on its way out.
#[derive(Debug)]
pub(super) struct Event {
    pub account: &'static str,
    pub event_type: &'static str,
    pub data: Value,
}

/// Where events go, and whether that URL has passed the handshake.
#[derive(Debug, Default)]
pub(super) struct Target {
    url: Option<String>,
    verified: bool,
}

impl Sandbox {
    /// Sends every contact change, signed, to `url` from now on (after a handshake); `None`
    /// stops sending.
    pub fn send_webhooks_to(&self, url: Option<String>) {
        let mut target = self
            .inner
            .webhook_target
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *target = Target {
            url,
            verified: false,
        };
    }

    /// Queues `event` for the app's URL and the account's registered ones, if there are any.
    pub(super) fn announce(&self, event: Event) {
        let subscribed = self.with_state(|state| !state.subscriptions(event.account).is_empty());
        if self.target_url().is_none() && !subscribed {
            return;
        }
        let sender = self.inner.webhook_queue.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(send_all(Arc::downgrade(&self.inner), receiver));
            sender
        });
        // The receiving task lives as long as the sandbox: sending cannot fail.
        let _ = sender.send(event);
    }

    fn target_url(&self) -> Option<String> {
        let target = self
            .inner
            .webhook_target
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        target.url.clone()
    }
}

/// Sends the queued events one at a time. It holds the sandbox weakly: once the sandbox is
/// dropped, so is the queue's sender, and the task ends.
async fn send_all(sandbox: Weak<Inner>, mut events: mpsc::UnboundedReceiver<Event>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    while let Some(event) = events.recv().await {
        let Some(inner) = sandbox.upgrade() else {
            return;
        };
        let sandbox = Sandbox { inner };
        let body = json!({
            "id": format!("evt_{}", random_token()),
            "type": event.event_type,
            "account": event.account,
            "created": chrono::Utc::now().timestamp(),
            "data": event.data,
        })
        .to_string();
        if let Some(url) = sandbox.target_url() {
            let delivered = verified(&sandbox, &client, &url).await
                && deliver(&sandbox, &client, &url, &body).await;
            sandbox.with_state(|state| state.count_webhook(delivered));
        }
        let subscriptions = sandbox.with_state(|state| state.subscriptions(event.account));
        for subscription in subscriptions {
            let delivered = deliver(&sandbox, &client, &subscription.url, &body).await;
            sandbox.with_state(|state| state.count_webhook(delivered));
        }
    }
}

/// Whether the app's `url` has passed the handshake, shaking hands first if it has not yet.
async fn verified(sandbox: &Sandbox, client: &reqwest::Client, url: &str) -> bool {
    let target = || {
        sandbox
            .inner
            .webhook_target
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    };
    if target().verified {
        return true;
    }
    if !handshake(sandbox, client, url).await {
        tracing::warn!(%url, "the sandbox's webhook URL did not echo its challenge");
        return false;
    }
    let mut target = target();
    if target.url.as_deref() == Some(url) {
        target.verified = true;
    }
    true
}

/// Sends one delivery to `url`, trying three times in all.
async fn deliver(sandbox: &Sandbox, client: &reqwest::Client, url: &str, body: &str) -> bool {
    for delay in std::iter::once(Duration::ZERO).chain(RETRY_DELAYS) {
        tokio::time::sleep(delay).await;
        match post(sandbox, client, url, body).await {
            Ok(response) if response.status().is_success() => return true,
            Ok(response) => {
                tracing::warn!(%url, status = %response.status(), "a sandbox webhook was refused")
            }
            Err(error) => tracing::warn!(%url, %error, "a sandbox webhook could not be sent"),
        }
    }
    false
}

async fn handshake(sandbox: &Sandbox, client: &reqwest::Client, url: &str) -> bool {
    let challenge = random_token();
    let body = json!({"type": "url_verification", "challenge": challenge}).to_string();
    match post(sandbox, client, url, &body).await {
        Ok(response) if response.status().is_success() => response
            .text()
            .await
            .is_ok_and(|text| text.trim() == challenge),
        _ => false,
    }
}

async fn post(
    sandbox: &Sandbox,
    client: &reqwest::Client,
    url: &str,
    body: &str,
) -> reqwest::Result<reqwest::Response> {
    let signature = sign(
        &sandbox.config().webhook_secret,
        chrono::Utc::now().timestamp(),
        body,
    );
    client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(body.to_owned())
        .send()
        .await
}

/// The `X-Sandbox-Signature` of `body` sent at `time`.
pub fn sign(secret: &str, time: i64, body: &str) -> String {
    // An HMAC takes a key of any length: `new_from_slice` cannot fail.
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{time}.{body}").as_bytes());
    format!("t={time},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
