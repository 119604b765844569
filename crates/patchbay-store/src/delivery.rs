//! Records of event delivery (docs/api.md): live notices for event streams, and
//! the webhook endpoints and outbox of the developer's webhooks.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{EventRecord, NewEvent, SealedValue};

/// New events of a user were committed. Carries no event: a listener reads
/// them from the store after the last one it has, so a notice that is lost,
/// late or duplicated changes when a listener looks, never what it sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventNotice {
    pub project_id: Uuid,
    /// `None` when the user id was too long to carry (PostgreSQL limits a
    /// notification's payload): every listener of the project looks.
    pub user_id: Option<String>,
}

impl EventNotice {
    /// Whether a listener following this user should read the store.
    pub fn concerns(&self, project_id: Uuid, user_id: &str) -> bool {
        self.project_id == project_id && self.user_id.as_deref().is_none_or(|id| id == user_id)
    }
}

/// A webhook endpoint to create. `secret` is sealed to the endpoint's row.
#[derive(Debug, Clone)]
pub struct NewWebhookEndpoint {
    pub id: Uuid,
    pub project_id: Uuid,
    pub url: String,
    /// Event names this endpoint receives; empty means every event.
    pub event_types: Vec<String>,
    pub secret: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpointRecord {
    pub id: Uuid,
    pub project_id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpointRecord {
    /// Whether an event of this name is delivered to this endpoint.
    pub fn wants(&self, event_name: &str) -> bool {
        self.event_types.is_empty() || self.event_types.iter().any(|name| name == event_name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or for an earlier event of the same
    /// account to be delivered first).
    Pending,
    Delivered,
    /// Retried for the whole retry window without success.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// One event on its way to one endpoint, and its delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDeliveryRecord {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_seq: i64,
    pub event_id: Uuid,
    pub event_name: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    /// When the delivery was queued, or last replayed: its retry window
    /// starts here.
    pub queued_at: DateTime<Utc>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A delivery claimed for an attempt, with what the attempt needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery: WebhookDeliveryRecord,
    pub url: String,
    /// The endpoint's sealed signing secret.
    pub secret: SealedValue,
    pub event: EventRecord,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Delivered {
        status_code: u16,
    },
    /// Failed; tried again at `next_attempt_at`.
    Retry {
        status_code: Option<u16>,
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
    /// Failed for the last time.
    Dead {
        status_code: Option<u16>,
        error: String,
    },
}

impl DeliveryOutcome {
    /// What the outcome writes onto its delivery row.
    pub fn row_update(&self) -> AttemptUpdate<'_> {
        match self {
            Self::Delivered { status_code } => AttemptUpdate {
                status: DeliveryStatus::Delivered,
                status_code: Some(i64::from(*status_code)),
                error: None,
                next_attempt_at: None,
                delivered: true,
            },
            Self::Retry {
                status_code,
                error,
                next_attempt_at,
            } => AttemptUpdate {
                status: DeliveryStatus::Pending,
                status_code: status_code.map(i64::from),
                error: Some(error),
                next_attempt_at: Some(*next_attempt_at),
                delivered: false,
            },
            Self::Dead { status_code, error } => AttemptUpdate {
                status: DeliveryStatus::Dead,
                status_code: status_code.map(i64::from),
                error: Some(error),
                next_attempt_at: None,
                delivered: false,
            },
        }
    }
}

/// The columns an attempt sets, for the backends.
#[derive(Debug)]
pub struct AttemptUpdate<'a> {
    pub status: DeliveryStatus,
    pub status_code: Option<i64>,
    pub error: Option<&'a str>,
    /// Unchanged when `None`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered: bool,
}

impl NewEvent {
    /// Webhook deliveries keep the order of one account's events: the
    /// credential's, else (an event about no account) the user's.
    pub fn delivery_ordering_key(&self) -> String {
        match self.credential_id {
            Some(id) => id.to_string(),
            None => format!("user:{}", self.user_id),
        }
    }
}

/// Which deliveries of an endpoint to list, newest event first.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    /// Only deliveries of events before this one (the page cursor).
    pub before_seq: Option<i64>,
    pub limit: i64,
}
