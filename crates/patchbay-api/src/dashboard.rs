//! What the dashboard reads besides the rest of the admin API: its session, the project's
//! users and overview, the audit log and the configuration's history. All of it is admin
//! API, answered to a secret key as well as to a dashboard session.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ProjectView;

/// `POST /dashboard/session`: a project secret key, or the instance admin token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInRequest {
    pub key: String,
}

/// The signed-in session, as the dashboard page reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DashboardSessionView {
    /// `project` (signed in with that project's secret key) or `instance` (the admin token).
    pub scope: String,
    /// The project of a `project` session.
    pub project_id: Option<Uuid>,
    /// Send as `X-CSRF-Token` with every change.
    pub csrf_token: String,
    #[serde(with = "crate::timestamp")]
    pub expires_at: DateTime<Utc>,
}

/// `GET /api/v1/projects` (instance admin token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectList {
    pub data: Vec<ProjectView>,
}

/// An end user as the admin listing shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummaryView {
    pub id: String,
    /// Their metadata, as their tokens last set it (`name`, `email`, ...).
    #[schema(value_type = Object)]
    pub meta: serde_json::Map<String, Value>,
    /// Accounts connected, and how many of them need reconnecting.
    pub accounts: i64,
    pub invalid_accounts: i64,
    #[serde(with = "crate::timestamp")]
    pub date_created: DateTime<Utc>,
}

/// `GET /api/v1/projects/{projectId}/users`: a page of users, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    pub data: Vec<UserSummaryView>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// How many accounts one integration has in each status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationAccounts {
    pub integration: String,
    pub name: String,
    pub pending: i64,
    pub valid: i64,
    pub invalid: i64,
}

/// Runs that finished in one hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunsInHour {
    /// The hour's start.
    #[serde(with = "crate::timestamp")]
    pub hour: DateTime<Utc>,
    pub succeeded: i64,
    pub failed: i64,
}

/// What one integration did in one hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageInHour {
    /// The hour's start.
    #[serde(with = "crate::timestamp")]
    pub hour: DateTime<Utc>,
    /// Calls through the Proxy API, and those answered with an error (status 400 or more).
    pub proxy_calls: i64,
    pub proxy_errors: i64,
    /// Token refreshes (or new grants) that failed.
    pub refresh_failures: i64,
}

/// One integration's usage, hour by hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationUsage {
    pub integration: String,
    pub name: String,
    pub hours: Vec<UsageInHour>,
}

/// `GET /api/v1/projects/{projectId}/overview`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// Accounts per integration, integrations with INVALID accounts first.
    pub accounts: Vec<IntegrationAccounts>,
    /// Workflow runs of the last 24 hours, hour by hour, oldest first.
    pub runs_per_hour: Vec<RunsInHour>,
    /// Each integration's proxied calls, errors and failed refreshes over the same hours.
    pub usage: Vec<IntegrationUsage>,
}

/// One change made through the admin API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryView {
    pub id: Uuid,
    /// `secret key <id>`, `dashboard (secret key <id>)` or `dashboard (admin token)`.
    pub actor: String,
    /// The method and path of the change.
    pub action: String,
    pub status: u16,
    #[serde(with = "crate::timestamp")]
    pub date_created: DateTime<Utc>,
}

/// `GET /api/v1/projects/{projectId}/audit-log`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLog {
    pub data: Vec<AuditEntryView>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// A configuration document applied to the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigVersionView {
    pub version: i64,
    #[serde(with = "crate::timestamp")]
    pub date_applied: DateTime<Utc>,
    /// As it was applied, secrets masked: applying it again keeps the current secrets.
    #[schema(value_type = Object)]
    pub document: Value,
}

/// `GET /api/v1/projects/{projectId}/config/versions`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigVersionList {
    pub data: Vec<ConfigVersionView>,
}

/// `POST /api/v1/projects/{projectId}/webhook-endpoints/{endpointId}/rotate-secret`: the
/// endpoint's new signing secret, shown this once. Deliveries attempted from now on are signed
/// with it, and no longer with the one it replaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecret {
    /// `whsec_…`, the Standard Webhooks form.
    pub secret: String,
}
