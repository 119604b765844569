//! Notices across replicas with `LISTEN/NOTIFY`, on two channels:
//!
//! - **events**: event writers `pg_notify` inside their transaction, so
//!   PostgreSQL delivers the notice to every listening replica exactly when
//!   the events become visible, and never for a transaction that rolled back;
//! - **changes**: what a replica's cache must forget after another replica
//!   wrote (`CachedStore` announces them after its writes commit).
//!
//! Each store opens one listening connection, on first use, and fans notices
//! out to its in-process subscribers.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use patchbay_store::{ChangeNotice, EventNotice};
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use uuid::Uuid;

pub(crate) const EVENTS: &str = "patchbay_events";
pub(crate) const CHANGES: &str = "patchbay_changes";

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

/// `project <id>`, `user <project id> [<user id>]` or `everything`.
pub(crate) fn change_payload(notice: &ChangeNotice) -> String {
    match notice {
        ChangeNotice::Project(id) => format!("project {id}"),
        ChangeNotice::User {
            project_id,
            user_id: Some(user_id),
        } if user_id.len() <= MAX_USER_ID_IN_PAYLOAD => format!("user {project_id} {user_id}"),
        ChangeNotice::User { project_id, .. } => format!("user {project_id}"),
        ChangeNotice::Everything => "everything".to_owned(),
    }
}

fn parse_change(payload: &str) -> Option<ChangeNotice> {
    let (kind, rest) = payload.split_once(' ').unwrap_or((payload, ""));
    match kind {
        "project" => Some(ChangeNotice::Project(rest.parse().ok()?)),
        "user" => {
            let (project_id, user_id) = match rest.split_once(' ') {
                Some((project_id, user_id)) => (project_id, Some(user_id.to_owned())),
                None => (rest, None),
            };
            Some(ChangeNotice::User {
                project_id: project_id.parse().ok()?,
                user_id,
            })
        }
        "everything" => Some(ChangeNotice::Everything),
        _ => None,
    }
}

#[derive(Debug)]
pub(crate) struct Notices {
    url: String,
    events: broadcast::Sender<EventNotice>,
    changes: broadcast::Sender<ChangeNotice>,
    listening: OnceLock<()>,
}

impl Notices {
    pub(crate) fn new(url: &str) -> Arc<Self> {
        Arc::new(Self {
            url: url.to_owned(),
            events: broadcast::channel(1024).0,
            changes: broadcast::channel(1024).0,
            listening: OnceLock::new(),
        })
    }

    pub(crate) fn subscribe_events(self: &Arc<Self>) -> broadcast::Receiver<EventNotice> {
        let receiver = self.events.subscribe();
        self.start_listening();
        receiver
    }

    pub(crate) fn subscribe_changes(self: &Arc<Self>) -> broadcast::Receiver<ChangeNotice> {
        let receiver = self.changes.subscribe();
        self.start_listening();
        receiver
    }

    /// Starts this store's listening connection the first time.
    fn start_listening(self: &Arc<Self>) {
        self.listening.get_or_init(|| {
            tokio::spawn(listen(Arc::downgrade(self), self.url.clone()));
        });
    }

    // No subscriber is not an error: the sends below ignore it.
    fn relay(&self, channel: &str, payload: &str) {
        match channel {
            EVENTS => {
                if let Some(notice) = parse(payload) {
                    let _ = self.events.send(notice);
                }
            }
            CHANGES => {
                if let Some(notice) = parse_change(payload) {
                    let _ = self.changes.send(notice);
                }
            }
            _ => {}
        }
    }
}

/// Relays notifications until the store is dropped, reconnecting after
/// errors. An event notice missed while disconnected only delays a listener
/// until its next periodic look at the store; missed changes are made up for
/// by telling caches that everything may have changed, each time the
/// connection is (re)established.
async fn listen(notices: Weak<Notices>, url: String) {
    loop {
        let mut listener = match connect(&url).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for notices; retrying");
                tokio::time::sleep(IDLE_CHECK).await;
                if notices.strong_count() == 0 {
                    return;
                }
                continue;
            }
        };
        match notices.upgrade() {
            Some(notices) => {
                let _ = notices.changes.send(ChangeNotice::Everything);
            }
            None => return,
        }
        loop {
            let received = tokio::time::timeout(IDLE_CHECK, listener.try_recv()).await;
            let Some(notices) = notices.upgrade() else {
                return;
            };
            match received {
                Ok(Ok(Some(notification))) => {
                    notices.relay(notification.channel(), notification.payload());
                }
                Err(_) => {}
                // The connection was lost: reconnect here rather than inside
                // `try_recv`, so that the reconnection is announced.
                Ok(Ok(None)) => break,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "notice listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}

async fn connect(url: &str) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen_all([EVENTS, CHANGES]).await?;
    Ok(listener)
}
