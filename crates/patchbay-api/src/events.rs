//! Events: what a change to a user object records, as the SDK's event stream
//! (`GET /sdk/events/stream`) and the developer's webhooks carry them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::CredentialStatus;

/// An event's name, as a webhook's `type` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    #[serde(rename = "credential.created")]
    CredentialCreated,
    #[serde(rename = "credential.replaced")]
    CredentialReplaced,
    #[serde(rename = "credential.deleted")]
    CredentialDeleted,
    #[serde(rename = "credential.status_changed")]
    CredentialStatusChanged,
    #[serde(rename = "credential.settings_changed")]
    CredentialSettingsChanged,
    #[serde(rename = "configuration.created")]
    ConfigurationCreated,
    #[serde(rename = "configuration.updated")]
    ConfigurationUpdated,
    #[serde(rename = "configuration.deleted")]
    ConfigurationDeleted,
    #[serde(rename = "workflow.state_changed")]
    WorkflowStateChanged,
    #[serde(rename = "task.failed")]
    TaskFailed,
}

impl EventType {
    pub const ALL: [Self; 10] = [
        Self::CredentialCreated,
        Self::CredentialReplaced,
        Self::CredentialDeleted,
        Self::CredentialStatusChanged,
        Self::CredentialSettingsChanged,
        Self::ConfigurationCreated,
        Self::ConfigurationUpdated,
        Self::ConfigurationDeleted,
        Self::WorkflowStateChanged,
        Self::TaskFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CredentialCreated => "credential.created",
            Self::CredentialReplaced => "credential.replaced",
            Self::CredentialDeleted => "credential.deleted",
            Self::CredentialStatusChanged => "credential.status_changed",
            Self::CredentialSettingsChanged => "credential.settings_changed",
            Self::ConfigurationCreated => "configuration.created",
            Self::ConfigurationUpdated => "configuration.updated",
            Self::ConfigurationDeleted => "configuration.deleted",
            Self::WorkflowStateChanged => "workflow.state_changed",
            Self::TaskFailed => "task.failed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|event| event.as_str() == name)
    }

    /// The name the SDK's `subscribe` knows the event by (an SSE message's
    /// `event`); `None` for events meant for the developer's webhooks only.
    pub fn sdk_name(self) -> Option<&'static str> {
        match self {
            Self::CredentialCreated => Some("onIntegrationInstall"),
            Self::CredentialDeleted => Some("onIntegrationUninstall"),
            Self::CredentialReplaced
            | Self::CredentialStatusChanged
            | Self::CredentialSettingsChanged
            | Self::ConfigurationCreated
            | Self::ConfigurationUpdated
            | Self::ConfigurationDeleted => Some("onCredentialChange"),
            Self::WorkflowStateChanged => Some("onWorkflowChange"),
            Self::TaskFailed => None,
        }
    }
}

/// What an event says: an SSE message's `data`, and a webhook's `data`
/// beside the user and event ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EventPayload {
    /// Every `credential.*` event.
    Credential(CredentialEvent),
    WorkflowStateChanged(WorkflowStateChangedEvent),
    TaskFailed(TaskFailedEvent),
}

/// A `credential.*` event: the account it is about, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialEvent {
    pub integration_id: Uuid,
    pub integration_type: String,
    pub credential_id: Uuid,
    #[serde(flatten)]
    pub change: CredentialEventDetail,
}

/// The fields only some `credential.*` events carry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialEventDetail {
    /// `credential.replaced`: the same external account was connected again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deduplicated: Option<bool>,
    /// `credential.status_changed`: the new status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CredentialStatus>,
    /// `credential.status_changed`: the status before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<CredentialStatus>,
    /// `credential.status_changed`: why (`refreshed`, `verified`, or the
    /// provider's refusal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `credential.settings_changed` and `configuration.*`: the configuration concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_id: Option<Uuid>,
    /// `configuration.*`: its label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_external_id: Option<String>,
    /// `credential.settings_changed`: the configuration's user settings after the change
    /// (a set password reads `********`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub shared_settings: Option<Value>,
    /// `configuration.created` and `configuration.updated`: its metadata after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
}

/// `workflow.state_changed`: a workflow enabled, disabled or reconfigured for
/// one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStateChangedEvent {
    pub integration_id: Uuid,
    pub workflow_id: String,
    pub credential_id: Uuid,
    /// The configuration whose workflow state changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_id: Option<Uuid>,
    pub workflow_state_change: WorkflowStateChange,
}

/// What changed: only the fields the update set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkflowStateChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
}

/// `task.failed`: a workflow run ended in failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskFailedEvent {
    pub execution_id: Uuid,
    pub workflow_id: String,
    pub credential_id: Uuid,
    /// The account's configuration the run used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_id: Option<Uuid>,
    pub integration_id: Uuid,
    pub error: String,
}

/// The body of a webhook delivery: `{type, timestamp, data}`, as Standard
/// Webhooks recommends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookEvent {
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the event was recorded (RFC 3339, milliseconds, UTC).
    #[serde(serialize_with = "rfc3339_millis")]
    pub timestamp: DateTime<Utc>,
    pub data: WebhookEventData,
}

/// The event's payload with the user it concerns and its id (the
/// `webhook-id` header, the same on every retry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEventData {
    pub user_id: String,
    pub event_id: Uuid,
    #[serde(flatten)]
    pub payload: EventPayload,
}

/// `streamEnded`, an event stream's last message: why what it was opened with
/// (a user token; for a project's stream, a secret key or a dashboard session) is
/// no longer accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StreamEnded {
    pub reason: StreamEndReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamEndReason {
    TokenExpired,
    SigningKeyRevoked,
    #[serde(rename = "project_not_found")]
    ProjectGone,
    /// A project's stream: the secret key it was opened with was revoked.
    SecretKeyRevoked,
    /// A project's stream: the dashboard session it was opened with ended.
    SessionEnded,
}

fn rfc3339_millis<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_reads_back_from_its_name() {
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
            assert_eq!(
                serde_json::to_value(event).unwrap(),
                Value::String(event.as_str().into())
            );
        }
        assert_eq!(EventType::parse("credential.exploded"), None);
    }

    #[test]
    fn stream_end_reasons_keep_their_wire_names() {
        for (reason, name) in [
            (StreamEndReason::TokenExpired, "token_expired"),
            (StreamEndReason::SigningKeyRevoked, "signing_key_revoked"),
            (StreamEndReason::ProjectGone, "project_not_found"),
            (StreamEndReason::SecretKeyRevoked, "secret_key_revoked"),
            (StreamEndReason::SessionEnded, "session_ended"),
        ] {
            assert_eq!(
                serde_json::to_string(&StreamEnded { reason }).unwrap(),
                format!(r#"{{"reason":"{name}"}}"#)
            );
        }
    }

    #[test]
    fn each_payload_reads_back_as_its_own_kind() {
        let credential = EventPayload::Credential(CredentialEvent {
            integration_id: Uuid::new_v4(),
            integration_type: "crm".into(),
            credential_id: Uuid::new_v4(),
            change: CredentialEventDetail {
                status: Some(CredentialStatus::Invalid),
                reason: Some("invalid_grant".into()),
                ..Default::default()
            },
        });
        let workflow = EventPayload::WorkflowStateChanged(WorkflowStateChangedEvent {
            integration_id: Uuid::new_v4(),
            workflow_id: "sync".into(),
            credential_id: Uuid::new_v4(),
            configuration_id: Some(Uuid::new_v4()),
            workflow_state_change: WorkflowStateChange {
                enabled: Some(false),
                settings: None,
            },
        });
        let failed = EventPayload::TaskFailed(TaskFailedEvent {
            execution_id: Uuid::new_v4(),
            workflow_id: "sync".into(),
            credential_id: Uuid::new_v4(),
            configuration_id: None,
            integration_id: Uuid::new_v4(),
            error: "step `fetch` failed".into(),
        });
        let configuration = EventPayload::Credential(CredentialEvent {
            integration_id: Uuid::new_v4(),
            integration_type: "crm".into(),
            credential_id: Uuid::new_v4(),
            change: CredentialEventDetail {
                configuration_id: Some(Uuid::new_v4()),
                configuration_external_id: Some("Team A".into()),
                meta: Some(serde_json::json!({"team": "sales"})),
                ..Default::default()
            },
        });
        for payload in [credential, workflow, failed, configuration] {
            let json = serde_json::to_value(&payload).unwrap();
            assert_eq!(
                serde_json::from_value::<EventPayload>(json).unwrap(),
                payload
            );
        }
    }
}
