//! The developer's webhook endpoint, for webhook tests: it records every
//! request it receives, and can be switched to failing (`503`) and back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct ReceivedWebhook {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    /// Whether the receiver accepted it (it was up).
    pub accepted: bool,
}

impl ReceivedWebhook {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// Stopped when dropped.
#[derive(Debug)]
pub struct WebhookReceiver {
    pub url: String,
    up: Arc<AtomicBool>,
    received: Arc<Mutex<Vec<ReceivedWebhook>>>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        let up = Arc::new(AtomicBool::new(true));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (is_up, log) = (Arc::clone(&up), Arc::clone(&received));
        let router = Router::new().route(
            "/hooks",
            post(move |headers: HeaderMap, body: Bytes| {
                let (is_up, log) = (Arc::clone(&is_up), Arc::clone(&log));
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|value| value.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let accepted = is_up.load(Ordering::SeqCst);
                    log.lock().unwrap().push(ReceivedWebhook {
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp"),
                        signature: header("webhook-signature"),
                        body: String::from_utf8_lossy(&body).into_owned(),
                        accepted,
                    });
                    if accepted {
                        StatusCode::NO_CONTENT
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            url,
            up,
            received,
            task,
        }
    }

    /// Up: `204`; down: `503`.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedWebhook> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `done` holds for what was received so far, for at most
    /// 15 s (then the test fails, showing what arrived).
    pub async fn wait_until(&self, done: impl Fn(&[ReceivedWebhook]) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while !done(&self.received()) {
            assert!(
                std::time::Instant::now() < deadline,
                "not reached in 15 s; received: {:#?}",
                self.received()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The requests accepted so far, in arrival order.
    pub fn accepted(&self) -> Vec<ReceivedWebhook> {
        self.received().into_iter().filter(|r| r.accepted).collect()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
