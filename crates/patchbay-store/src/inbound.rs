//! Deliveries providers send to an integration's webhook URL, kept with what each one started
//! (docs/api.md, "Integration triggers").

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What came of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InboundStatus {
    /// At least one run was queued.
    Routed,
    /// No connected account is the one the delivery concerns.
    Unmatched,
    /// Accounts matched, but none of them has a workflow enabled for the event.
    Unhandled,
}

impl InboundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Routed => "routed",
            Self::Unmatched => "unmatched",
            Self::Unhandled => "unhandled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "routed" => Some(Self::Routed),
            "unmatched" => Some(Self::Unmatched),
            "unhandled" => Some(Self::Unhandled),
            _ => None,
        }
    }
}

/// One delivery, as written and as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundDelivery {
    pub id: Uuid,
    pub project_id: Uuid,
    pub integration_id: Uuid,
    pub event_type: String,
    /// The provider's id of the event; at most one delivery of an integration holds one.
    pub event_id: Option<String>,
    /// What the integration's routing rule read from the delivery.
    pub account_key: String,
    pub status: InboundStatus,
    /// The accounts it concerned.
    pub credential_ids: Vec<Uuid>,
    /// The runs it started, one per account and workflow.
    pub execution_ids: Vec<Uuid>,
    /// The delivery's body: its JSON, its form fields as an object, or its text.
    pub payload: serde_json::Value,
    pub received_at: DateTime<Utc>,
}

/// Which deliveries of a project to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct InboundFilter {
    pub integration_id: Option<Uuid>,
    pub status: Option<InboundStatus>,
    /// Only those before this position (a page's last delivery's `received_at` and id).
    pub before: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}
