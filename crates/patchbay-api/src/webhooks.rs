//! Webhook endpoints and their delivery log (admin API, docs/api.md), and the
//! events of the end user's live stream.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Every event a webhook endpoint can receive.
pub const WEBHOOK_EVENT_TYPES: [&str; 7] = [
    "credential.created",
    "credential.replaced",
    "credential.deleted",
    "credential.status_changed",
    "credential.settings_changed",
    "workflow.state_changed",
    "task.failed",
];

/// `POST /api/v1/projects/{projectId}/webhook-endpoints`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhookEndpointRequest {
    /// An `http` or `https` URL that receives `POST`s.
    pub url: String,
    /// Event names to receive; empty or absent means every event.
    #[serde(default)]
    pub event_types: Vec<String>,
}

/// `PATCH /api/v1/projects/{projectId}/webhook-endpoints/{endpointId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWebhookEndpointRequest {
    /// A disabled endpoint gets no new deliveries; pending ones wait until
    /// it is enabled again.
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub disabled: bool,
    #[serde(with = "crate::timestamp")]
    pub date_created: DateTime<Utc>,
    #[serde(with = "crate::timestamp")]
    pub date_updated: DateTime<Utc>,
}

/// A new endpoint with its signing secret, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookEndpoint {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_...`, the Standard Webhooks secret that verifies signatures.
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointList {
    pub data: Vec<WebhookEndpoint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookDeliveryStatus {
    Pending,
    Delivered,
    /// Retried for the whole retry window without success; replay it to try again.
    Dead,
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// Also the `webhook-id` header of every attempt.
    pub event_id: Uuid,
    pub event_type: String,
    pub status: WebhookDeliveryStatus,
    pub attempts: i64,
    /// When a pending delivery is tried next.
    #[serde(default, with = "crate::timestamp::option")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    #[serde(with = "crate::timestamp")]
    pub date_created: DateTime<Utc>,
    #[serde(default, with = "crate::timestamp::option")]
    pub date_delivered: Option<DateTime<Utc>>,
}

/// A page of the delivery log, newest event first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryPage {
    pub data: Vec<WebhookDelivery>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// What came of a provider's webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InboundDeliveryStatus {
    /// Runs were queued: `executionIds`.
    Routed,
    /// No connected account is the one it concerns.
    Unmatched,
    /// Accounts matched (`credentialIds`), but none has a workflow enabled for its event.
    Unhandled,
}

/// A delivery a provider sent to an integration's webhook URL, with what it started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboundDelivery {
    pub id: Uuid,
    /// The integration's type.
    pub integration: String,
    pub event_type: String,
    /// The provider's id of the event, by which a repeated delivery is recognised.
    pub event_id: Option<String>,
    /// What the integration's routing rule read from the delivery: the account it concerns.
    pub account_key: String,
    pub status: InboundDeliveryStatus,
    pub credential_ids: Vec<Uuid>,
    pub execution_ids: Vec<Uuid>,
    /// The delivery's body: its JSON, its form fields, or its text.
    pub payload: serde_json::Value,
    #[serde(with = "crate::timestamp")]
    pub date_received: DateTime<Utc>,
}

/// A page of received deliveries, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboundDeliveryPage {
    pub data: Vec<InboundDelivery>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// The answer to a delivery the provider sent: `received`, or `duplicate` for an event id
/// already received (nothing was started again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboundReceipt {
    pub status: InboundReceiptStatus,
    /// The stored delivery; absent for a duplicate.
    pub id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InboundReceiptStatus {
    Received,
    Duplicate,
}
