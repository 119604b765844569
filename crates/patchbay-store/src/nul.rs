//! The one value no backend may differ on: a NUL character.
//!
//! PostgreSQL refuses U+0000 in `text` and in `jsonb` (as `\u0000`); SQLite
//! stores it. So that a value is never accepted by one backend and refused by
//! the other, both check what they are about to write with these functions
//! first and refuse it the same way, with [`StoreError::Refused`]. Every other
//! control character (U+0001..U+001F) is stored faithfully by both.

use serde_json::Value;

use crate::{
    AccountReplacement, ConfigWrite, ConfigurationChanges, CredentialChanges, ExecutionOutcome,
    InboundDelivery, NewConfiguration, NewCredential, NewEvent, NewExecution, NewInstallSession,
    NewProject, NewWebhookEndpoint, StoreError, StoreResult,
};

/// `Refused` naming `field` (never the value) when `value` holds a NUL.
pub fn refuse_nul(field: &str, value: &str) -> StoreResult<()> {
    if value.contains('\0') {
        return Err(StoreError::Refused(format!(
            "{field} contains a NUL character"
        )));
    }
    Ok(())
}

/// As [`refuse_nul`], for every string and object key inside a JSON value.
pub fn refuse_nul_in_json(field: &str, value: &Value) -> StoreResult<()> {
    match value {
        Value::String(text) => refuse_nul(field, text),
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| refuse_nul_in_json(field, item)),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            refuse_nul(field, key)?;
            refuse_nul_in_json(field, item)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// A record about to be written, checked as a whole before any statement runs.
pub trait RefuseNul {
    fn refuse_nul(&self) -> StoreResult<()>;
}

impl RefuseNul for NewProject {
    fn refuse_nul(&self) -> StoreResult<()> {
        refuse_nul("project name", &self.name)
    }
}

impl RefuseNul for NewCredential {
    fn refuse_nul(&self) -> StoreResult<()> {
        refuse_nul("user id", &self.user_id)?;
        if let Some(external_id) = &self.external_id {
            refuse_nul("external id", external_id)?;
        }
        if let Some(provider_id) = &self.provider_id {
            refuse_nul("provider id", provider_id)?;
        }
        refuse_nul_in_json("provider data", &self.provider_data)?;
        refuse_nul_in_json("account variables", &self.account_vars)?;
        refuse_nul_in_json("workflow settings", &self.workflow_settings)
    }
}

impl RefuseNul for AccountReplacement {
    fn refuse_nul(&self) -> StoreResult<()> {
        if let Some(provider_id) = &self.provider_id {
            refuse_nul("provider id", provider_id)?;
        }
        refuse_nul_in_json("provider data", &self.provider_data)?;
        refuse_nul_in_json("account variables", &self.account_vars)
    }
}

impl RefuseNul for CredentialChanges {
    fn refuse_nul(&self) -> StoreResult<()> {
        if let Some(Some(external_id)) = &self.external_id {
            refuse_nul("external id", external_id)?;
        }
        if let Some((_, configuration)) = &self.configuration {
            configuration.refuse_nul()?;
        }
        if let Some(vars) = &self.account_vars {
            refuse_nul_in_json("account variables", vars)?;
        }
        Ok(())
    }
}

impl RefuseNul for ConfigurationChanges {
    fn refuse_nul(&self) -> StoreResult<()> {
        if let Some(Some(external_id)) = &self.external_id {
            refuse_nul("configuration external id", external_id)?;
        }
        if let Some(meta) = &self.meta {
            refuse_nul_in_json("configuration metadata", meta)?;
        }
        if let Some(settings) = &self.shared_settings {
            refuse_nul_in_json("shared settings", settings)?;
        }
        if let Some(settings) = &self.workflow_settings {
            refuse_nul_in_json("workflow settings", settings)?;
        }
        Ok(())
    }
}

impl RefuseNul for NewConfiguration {
    fn refuse_nul(&self) -> StoreResult<()> {
        if let Some(external_id) = &self.external_id {
            refuse_nul("configuration external id", external_id)?;
        }
        refuse_nul_in_json("configuration metadata", &self.meta)
    }
}

impl RefuseNul for NewInstallSession {
    fn refuse_nul(&self) -> StoreResult<()> {
        refuse_nul("user id", &self.user_id)?;
        refuse_nul_in_json("install options", &self.options)
    }
}

impl RefuseNul for ConfigWrite {
    fn refuse_nul(&self) -> StoreResult<()> {
        refuse_nul_in_json("configuration settings", &self.settings)?;
        refuse_nul_in_json("configuration document", &self.document)?;
        self.integrations.iter().try_for_each(|integration| {
            refuse_nul("integration type", &integration.type_name)?;
            refuse_nul_in_json("integration definition", &integration.definition)
        })?;
        self.workflows.iter().try_for_each(|workflow| {
            refuse_nul("workflow id", &workflow.id)?;
            refuse_nul("workflow trigger", &workflow.trigger_type)?;
            if let Some(event) = &workflow.trigger_event {
                refuse_nul("workflow trigger event", event)?;
            }
            refuse_nul_in_json("workflow definition", &workflow.definition)
        })
    }
}

impl RefuseNul for NewEvent {
    fn refuse_nul(&self) -> StoreResult<()> {
        refuse_nul("user id", &self.user_id)?;
        refuse_nul("event name", &self.name)?;
        refuse_nul_in_json("event payload", &self.payload)
    }
}

impl RefuseNul for [NewEvent] {
    fn refuse_nul(&self) -> StoreResult<()> {
        self.iter().try_for_each(RefuseNul::refuse_nul)
    }
}

impl RefuseNul for NewExecution {
    fn refuse_nul(&self) -> StoreResult<()> {
        refuse_nul("workflow id", &self.workflow_id)?;
        refuse_nul("user id", &self.user_id)?;
        refuse_nul_in_json("run trigger", &self.trigger)
    }
}

impl RefuseNul for ExecutionOutcome {
    fn refuse_nul(&self) -> StoreResult<()> {
        if let Some(error) = &self.error {
            refuse_nul("run error", error)?;
        }
        self.steps.iter().try_for_each(|step| {
            refuse_nul("step id", &step.step_id)?;
            if let Some(input) = &step.input {
                refuse_nul_in_json("step input", input)?;
            }
            if let Some(output) = &step.output {
                refuse_nul_in_json("step output", output)?;
            }
            step.error
                .as_deref()
                .map_or(Ok(()), |error| refuse_nul("step error", error))
        })
    }
}

impl RefuseNul for NewWebhookEndpoint {
    fn refuse_nul(&self) -> StoreResult<()> {
        refuse_nul("webhook URL", &self.url)?;
        self.event_types
            .iter()
            .try_for_each(|name| refuse_nul("webhook event type", name))
    }
}

/// A user's id and the metadata stored with it.
pub fn refuse_nul_in_user(
    user_id: &str,
    meta: Option<&serde_json::Map<String, Value>>,
) -> StoreResult<()> {
    refuse_nul("user id", user_id)?;
    meta.into_iter().flatten().try_for_each(|(key, value)| {
        refuse_nul("user metadata", key)?;
        refuse_nul_in_json("user metadata", value)
    })
}

impl RefuseNul for InboundDelivery {
    fn refuse_nul(&self) -> StoreResult<()> {
        refuse_nul("event type", &self.event_type)?;
        if let Some(event_id) = &self.event_id {
            refuse_nul("event id", event_id)?;
        }
        refuse_nul("account key", &self.account_key)?;
        refuse_nul_in_json("payload", &self.payload)
    }
}
