//! The events a change to a user object records (docs/api.md). They are written
//! in the same transaction as the change, by whoever makes it.

use patchbay_store::{CredentialRecord, NewEvent};
use serde_json::{Value, json};
use uuid::Uuid;

/// What happened to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialChange {
    Created,
    Replaced,
    Deleted,
    StatusChanged,
    SettingsChanged,
}

impl CredentialChange {
    /// The stored event name, as webhooks carry it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Created => "credential.created",
            Self::Replaced => "credential.replaced",
            Self::Deleted => "credential.deleted",
            Self::StatusChanged => "credential.status_changed",
            Self::SettingsChanged => "credential.settings_changed",
        }
    }
}

/// The name the SDK's `subscribe` knows a stored event by (docs/api.md); `None`
/// for events meant for the developer's webhooks only.
pub fn sdk_event_name(stored: &str) -> Option<&'static str> {
    match stored {
        "credential.created" => Some("onIntegrationInstall"),
        "credential.deleted" => Some("onIntegrationUninstall"),
        "credential.replaced" | "credential.status_changed" | "credential.settings_changed" => {
            Some("onCredentialChange")
        }
        "workflow.state_changed" => Some("onWorkflowChange"),
        _ => None,
    }
}

/// The account an event is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub project_id: Uuid,
    pub user_id: &'a str,
    pub integration_id: Uuid,
    pub integration_type: &'a str,
    pub credential_id: Uuid,
}

impl<'a> Subject<'a> {
    pub fn of(credential: &'a CredentialRecord, integration_type: &'a str) -> Self {
        Self {
            project_id: credential.project_id,
            user_id: &credential.user_id,
            integration_id: credential.integration_id,
            integration_type,
            credential_id: credential.id,
        }
    }

    fn event(self, name: &str, payload: Value) -> NewEvent {
        NewEvent {
            id: Uuid::new_v4(),
            project_id: self.project_id,
            user_id: self.user_id.to_owned(),
            integration_id: Some(self.integration_id),
            credential_id: Some(self.credential_id),
            name: name.to_owned(),
            payload,
        }
    }
}

/// `{integrationId, integrationType, credentialId, ...extra}`
pub fn credential_event(subject: Subject<'_>, change: CredentialChange, extra: Value) -> NewEvent {
    let mut payload = json!({
        "integrationId": subject.integration_id,
        "integrationType": subject.integration_type,
        "credentialId": subject.credential_id,
    });
    if let (Some(payload), Value::Object(extra)) = (payload.as_object_mut(), extra) {
        payload.extend(extra);
    }
    subject.event(change.name(), payload)
}

/// `{integrationId, workflowId, credentialId, workflowStateChange: {enabled?, settings?}}`
pub fn workflow_state_changed(
    subject: Subject<'_>,
    workflow_id: &str,
    enabled: Option<bool>,
    settings: Option<&Value>,
) -> NewEvent {
    let mut change = serde_json::Map::new();
    if let Some(enabled) = enabled {
        change.insert("enabled".into(), json!(enabled));
    }
    if let Some(settings) = settings {
        change.insert("settings".into(), settings.clone());
    }
    subject.event(
        "workflow.state_changed",
        json!({
            "integrationId": subject.integration_id,
            "workflowId": workflow_id,
            "credentialId": subject.credential_id,
            "workflowStateChange": change,
        }),
    )
}
