//! The events a change to a user object records (docs/api.md). They are written
//! in the same transaction as the change, by whoever makes it, and read back
//! as the wire type webhooks and a project's event stream carry.

use patchbay_api::{
    CredentialEvent, CredentialEventDetail, EventPayload, EventType, WebhookEvent,
    WebhookEventData, WorkflowStateChange, WorkflowStateChangedEvent,
};
use patchbay_store::{CredentialRecord, EventRecord, NewEvent};
use serde::Deserialize as _;
use serde_json::Value;
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
    fn event_type(self) -> EventType {
        match self {
            Self::Created => EventType::CredentialCreated,
            Self::Replaced => EventType::CredentialReplaced,
            Self::Deleted => EventType::CredentialDeleted,
            Self::StatusChanged => EventType::CredentialStatusChanged,
            Self::SettingsChanged => EventType::CredentialSettingsChanged,
        }
    }
}

/// What happened to one of an account's configurations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigurationChange {
    Created,
    Updated,
    Deleted,
}

impl ConfigurationChange {
    fn event_type(self) -> EventType {
        match self {
            Self::Created => EventType::ConfigurationCreated,
            Self::Updated => EventType::ConfigurationUpdated,
            Self::Deleted => EventType::ConfigurationDeleted,
        }
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

    /// The event to store.
    pub fn event(self, event_type: EventType, payload: &EventPayload) -> NewEvent {
        NewEvent {
            id: Uuid::new_v4(),
            project_id: self.project_id,
            user_id: self.user_id.to_owned(),
            integration_id: Some(self.integration_id),
            credential_id: Some(self.credential_id),
            name: event_type.as_str().to_owned(),
            payload: stored(payload),
        }
    }
}

/// A payload as the store keeps it: the wire type's JSON.
pub fn stored(payload: &EventPayload) -> Value {
    serde_json::to_value(payload).expect("event payloads are plain JSON objects")
}

/// A `credential.*` event: the account, and what only this change carries.
pub fn credential_event(
    subject: Subject<'_>,
    change: CredentialChange,
    detail: CredentialEventDetail,
) -> NewEvent {
    account_event(subject, change.event_type(), detail)
}

/// A `configuration.*` event: the account, and the configuration concerned.
pub fn configuration_event(
    subject: Subject<'_>,
    change: ConfigurationChange,
    detail: CredentialEventDetail,
) -> NewEvent {
    account_event(subject, change.event_type(), detail)
}

fn account_event(
    subject: Subject<'_>,
    event_type: EventType,
    detail: CredentialEventDetail,
) -> NewEvent {
    let payload = EventPayload::Credential(CredentialEvent {
        integration_id: subject.integration_id,
        integration_type: subject.integration_type.to_owned(),
        credential_id: subject.credential_id,
        change: detail,
    });
    subject.event(event_type, &payload)
}

/// `workflow.state_changed` in one configuration of an account, with only what the update
/// set.
pub fn workflow_state_changed(
    subject: Subject<'_>,
    configuration_id: Option<Uuid>,
    workflow_id: &str,
    enabled: Option<bool>,
    settings: Option<&Value>,
) -> NewEvent {
    let payload = EventPayload::WorkflowStateChanged(WorkflowStateChangedEvent {
        integration_id: subject.integration_id,
        workflow_id: workflow_id.to_owned(),
        credential_id: subject.credential_id,
        configuration_id,
        workflow_state_change: WorkflowStateChange {
            enabled,
            settings: settings.cloned(),
        },
    });
    subject.event(EventType::WorkflowStateChanged, &payload)
}

/// A stored event as the developer receives it, with the user it concerns and its id: a
/// webhook's body, a message of a project's event stream. Every stored event was written
/// from its wire type, so one that does not read back is a damaged row; the error says how.
pub fn webhook_event(event: &EventRecord) -> Result<WebhookEvent, String> {
    let event_type = EventType::parse(&event.name)
        .ok_or_else(|| format!("unknown event type `{}`", event.name))?;
    let payload = EventPayload::deserialize(&event.payload).map_err(|error| {
        format!(
            "the stored event does not read as `{}`: {error}",
            event.name
        )
    })?;
    Ok(WebhookEvent {
        event_type,
        timestamp: event.created_at,
        data: WebhookEventData {
            user_id: event.user_id.clone(),
            event_id: event.id,
            payload,
        },
    })
}
