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
