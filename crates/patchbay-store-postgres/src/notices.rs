//! Event notices across replicas with `LISTEN/NOTIFY`.
//!
//! Event writers `pg_notify` inside their transaction, so PostgreSQL
//! delivers the notice to every listening replica exactly when the events
//! become visible, and never for a transaction that rolled back. Each store
//! opens one listening connection, on first use, and fans notices out to its
//! in-process subscribers.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use patchbay_store::EventNotice;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use uuid::Uuid;

pub(crate) const CHANNEL: &str = "patchbay_events";

/// PostgreSQL refuses notification payloads of 8000 bytes or more; a longer
/// user id is left out and the notice then concerns the whole project.
const MAX_USER_ID_IN_PAYLOAD: usize = 4000;

/// How long a listener waits for a notice before checking whether its store
/// still exists, and before reconnecting after an error.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// `<project id> <user id>`, or the project id alone.
pub(crate) fn payload(project_id: Uuid, user_id: &str) -> String {
    if user_id.len() <= MAX_USER_ID_IN_PAYLOAD {
        format!("{project_id} {user_id}")
    } else {
        project_id.to_string()
    }
}

fn parse(payload: &str) -> Option<EventNotice> {
    let (project_id, user_id) = match payload.split_once(' ') {
        Some((project_id, user_id)) => (project_id, Some(user_id.to_owned())),
        None => (payload, None),
    };
    Some(EventNotice {
        project_id: project_id.parse().ok()?,
        user_id,
    })
}

#[derive(Debug)]
pub(crate) struct Notices {
    url: String,
    sender: broadcast::Sender<EventNotice>,
    listening: OnceLock<()>,
}

impl Notices {
    pub(crate) fn new(url: &str) -> Arc<Self> {
        Arc::new(Self {
            url: url.to_owned(),
            sender: broadcast::channel(1024).0,
            listening: OnceLock::new(),
        })
    }

    /// Subscribes, starting this store's listening connection the first time.
    pub(crate) fn subscribe(self: &Arc<Self>) -> broadcast::Receiver<EventNotice> {
        let receiver = self.sender.subscribe();
        self.listening.get_or_init(|| {
            tokio::spawn(listen(Arc::downgrade(self), self.url.clone()));
        });
        receiver
    }
}

/// Relays notifications until the store is dropped, reconnecting after
/// errors. A notice missed while disconnected only delays a listener until
/// its next periodic look at the store.
async fn listen(notices: Weak<Notices>, url: String) {
    loop {
        let mut listener = match connect(&url).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for event notices; retrying");
                tokio::time::sleep(IDLE_CHECK).await;
                if notices.strong_count() == 0 {
                    return;
                }
                continue;
            }
        };
        loop {
            let received = tokio::time::timeout(IDLE_CHECK, listener.try_recv()).await;
            let Some(notices) = notices.upgrade() else {
                return;
            };
            match received {
                Ok(Ok(Some(notification))) => {
                    if let Some(notice) = parse(notification.payload()) {
                        // No subscriber is not an error.
                        let _ = notices.sender.send(notice);
                    }
                }
                // The connection was lost and is re-established by the next
                // `try_recv`.
                Ok(Ok(None)) | Err(_) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "event notice listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}

async fn connect(url: &str) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
