//! An account's configurations (docs/api.md): each has its own user settings, workflow
//! states and metadata. Finding one by id or `ext:<externalId>`, adding, changing and removing
//! them, and turning a settings update into what the store writes: validated against the
//! integration's `userSettings` and the workflows' `inputs`, `password` values sealed apart.

use patchbay_api::{ConfigurationUpdate, CredentialEventDetail};
use patchbay_config::{MASK, SettingType, UserSetting};
use patchbay_core::crypto::Keyring;
use patchbay_store::{
    ConfigurationChanges, CredentialChanges, CredentialConfiguration, CredentialRecord,
    NewConfiguration, NewEvent, Store, StoreError,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{EngineError, EngineResult};
use crate::events::{self, ConfigurationChange, CredentialChange, Subject};
use crate::runtime::{Integration, ProjectRuntime};
use crate::secrets::SealedSettings;

/// The configuration `reference` names among `credential`'s: its id, or `ext:` and its label.
pub fn find<'a>(
    credential: &'a CredentialRecord,
    reference: &str,
) -> EngineResult<&'a CredentialConfiguration> {
    let reference = reference.trim();
    let found = match reference.strip_prefix("ext:") {
        Some(label) => credential
            .configurations
            .iter()
            .find(|c| credential.configuration_external_id(c) == Some(label)),
        None => Uuid::try_parse(reference)
            .ok()
            .and_then(|id| credential.configuration(id)),
    };
    found.ok_or(EngineError::ConfigurationNotFound)
}

/// The configuration an operation uses: the one named, else the account's default.
pub fn select<'a>(
    credential: &'a CredentialRecord,
    reference: Option<&str>,
) -> EngineResult<&'a CredentialConfiguration> {
    match reference {
        Some(reference) => find(credential, reference),
        None => Ok(credential.default_configuration()),
    }
}

/// Adds a configuration to `credential`, recording `configuration.created`; answers the
/// account and the new configuration's id.
pub async fn create(
    store: &dyn Store,
    credential: &CredentialRecord,
    integration_type: &str,
    external_id: Option<String>,
    meta: Map<String, Value>,
) -> EngineResult<(CredentialRecord, Uuid)> {
    let id = Uuid::new_v4();
    let external_id = external_id.filter(|label| !label.trim().is_empty());
    let event = configuration_event(
        Subject::of(credential, integration_type),
        ConfigurationChange::Created,
        id,
        external_id.clone(),
        Some(Value::Object(meta.clone())),
    );
    let new = NewConfiguration {
        id,
        credential_id: credential.id,
        external_id,
        meta: Value::Object(meta),
    };
    let created = store
        .credentials()
        .insert_configuration(credential.project_id, &new, &[event])
        .await
        .map_err(configuration_error)?;
    Ok((created, id))
}

/// Removes one of `credential`'s configurations other than its default, recording
/// `configuration.deleted`.
pub async fn destroy(
    store: &dyn Store,
    credential: &CredentialRecord,
    integration_type: &str,
    configuration: &CredentialConfiguration,
) -> EngineResult<CredentialRecord> {
    if configuration.is_default {
        return Err(EngineError::DefaultConfiguration);
    }
    let event = configuration_event(
        Subject::of(credential, integration_type),
        ConfigurationChange::Deleted,
        configuration.id,
        configuration.external_id.clone(),
        None,
    );
    store
        .credentials()
        .delete_configuration(
            credential.project_id,
            credential.id,
            configuration.id,
            &[event],
        )
        .await
        .map_err(configuration_error)
}

/// A change to one configuration's label and metadata (`meta` merged key by key, a `null`
/// removing its key), as store changes and their `configuration.updated` event. Nothing to
/// change gives no event.
pub fn relabel(
    credential: &CredentialRecord,
    integration_type: &str,
    configuration: &CredentialConfiguration,
    external_id: Option<Option<String>>,
    meta: Option<Map<String, Value>>,
    changes: &mut ConfigurationChanges,
) -> Option<NewEvent> {
    if external_id.is_none() && meta.is_none() {
        return None;
    }
    let meta = meta.map(|update| {
        let mut merged = as_object(&configuration.meta);
        for (key, value) in update {
            if value.is_null() {
                merged.remove(&key);
            } else {
                merged.insert(key, value);
            }
        }
        Value::Object(merged)
    });
    let external_id = external_id.map(|label| label.filter(|l| !l.trim().is_empty()));
    let label = match &external_id {
        Some(label) => label.clone(),
        None => configuration.external_id.clone(),
    };
    changes.external_id = external_id;
    changes.meta.clone_from(&meta);
    Some(configuration_event(
        Subject::of(credential, integration_type),
        ConfigurationChange::Updated,
        configuration.id,
        label,
        Some(meta.unwrap_or_else(|| configuration.meta.clone())),
    ))
}

/// Writes `changes` to one configuration of `credential` with `events`.
pub async fn write(
    store: &dyn Store,
    credential: &CredentialRecord,
    configuration_id: Uuid,
    changes: ConfigurationChanges,
    events: &[NewEvent],
) -> EngineResult<CredentialRecord> {
    let changes = CredentialChanges {
        configuration: Some((configuration_id, changes)),
        ..Default::default()
    };
    store
        .credentials()
        .update_credential(credential.project_id, credential.id, &changes, events)
        .await
        .map_err(configuration_error)
}

fn configuration_error(error: StoreError) -> EngineError {
    match error {
        StoreError::Conflict { .. } => EngineError::ConfigurationExternalIdTaken,
        StoreError::NotFound => EngineError::ConfigurationNotFound,
        other => other.into(),
    }
}

fn configuration_event(
    subject: Subject<'_>,
    change: ConfigurationChange,
    configuration_id: Uuid,
    external_id: Option<String>,
    meta: Option<Value>,
) -> NewEvent {
    events::configuration_event(
        subject,
        change,
        CredentialEventDetail {
            configuration_id: Some(configuration_id),
            configuration_external_id: external_id,
            meta,
            ..Default::default()
        },
    )
}

/// Who is changing settings, and with what key password values are sealed.
#[derive(Debug)]
pub struct SettingsWriter<'a> {
    pub keyring: &'a Keyring,
    pub runtime: &'a ProjectRuntime,
    pub integration: &'a Integration,
    pub credential: &'a CredentialRecord,
    pub configuration: &'a CredentialConfiguration,
}

impl SettingsWriter<'_> {
    /// Turns a settings update into store changes and the events they record. Shared
    /// settings merge key by key and are validated whole against the integration's
    /// `userSettings`; each workflow's against its `inputs`. A `password` value is sealed
    /// and stored as `********`; `********` sent back keeps the stored value.
    pub fn changes(
        &self,
        update: ConfigurationUpdate,
    ) -> EngineResult<(ConfigurationChanges, Vec<NewEvent>)> {
        let subject = Subject::of(self.credential, &self.integration.config.type_name);
        let mut changes = ConfigurationChanges::default();
        let mut recorded = Vec::new();
        let mut sealed = self.sealed()?;
        let mut sealed_changed = false;
        if let Some(shared) = update.shared_settings {
            let mut merged = as_object(&self.configuration.shared_settings);
            let schema = &self.integration.config.user_settings;
            sealed_changed |= seal_passwords(schema, shared, &mut merged, &mut sealed.shared);
            self.integration
                .config
                .validate_shared_settings(&merged)
                .map_err(EngineError::InvalidSettings)?;
            let merged = Value::Object(merged);
            recorded.push(events::credential_event(
                subject,
                CredentialChange::SettingsChanged,
                CredentialEventDetail {
                    configuration_id: Some(self.configuration.id),
                    shared_settings: Some(merged.clone()),
                    ..Default::default()
                },
            ));
            changes.shared_settings = Some(merged);
        }
        if let Some(updates) = update.workflow_settings {
            let mut states = self.configuration.workflow_settings.clone();
            for (workflow_id, update) in updates {
                let workflow = self
                    .runtime
                    .integration_workflow(self.integration.id, &workflow_id)
                    .ok_or_else(|| EngineError::WorkflowNotFound(workflow_id.clone()))?;
                let settings = match update.settings {
                    Some(settings) => {
                        let mut merged = as_object(
                            states
                                .get(&workflow_id)
                                .and_then(|s| s.get("settings"))
                                .unwrap_or(&Value::Null),
                        );
                        let own = sealed
                            .workflows
                            .entry(workflow_id.clone())
                            .or_insert_with(|| Value::Object(Map::new()));
                        if !own.is_object() {
                            *own = Value::Object(Map::new());
                        }
                        let own = own.as_object_mut().expect("made an object above");
                        sealed_changed |=
                            seal_passwords(&workflow.config.inputs, settings, &mut merged, own);
                        workflow
                            .config
                            .validate_settings(&merged)
                            .map_err(EngineError::InvalidSettings)?;
                        Some(merged)
                    }
                    None => None,
                };
                recorded.push(events::workflow_state_changed(
                    subject,
                    Some(self.configuration.id),
                    &workflow_id,
                    update.enabled,
                    settings.clone().map(Value::Object).as_ref(),
                ));
                workflow.write_state(&mut states, update.enabled, None);
                if let Some(settings) = settings {
                    // The merged settings whole: a password cleared is gone, not kept.
                    states[&workflow_id]["settings"] = Value::Object(settings);
                }
            }
            changes.workflow_settings = Some(states);
        }
        if sealed_changed {
            sealed
                .workflows
                .retain(|_, own| own.as_object().is_some_and(|o| !o.is_empty()));
            changes.sealed_settings = Some((!sealed.is_empty()).then(|| {
                sealed.seal(
                    self.keyring,
                    self.credential.project_id,
                    self.configuration.id,
                )
            }));
        }
        Ok((changes, recorded))
    }

    fn sealed(&self) -> EngineResult<SealedSettings> {
        open_sealed(self.keyring, self.credential.project_id, self.configuration)
    }
}

/// The password values a configuration keeps sealed; none if it keeps none.
pub fn open_sealed(
    keyring: &Keyring,
    project_id: Uuid,
    configuration: &CredentialConfiguration,
) -> EngineResult<SealedSettings> {
    match &configuration.sealed_settings {
        None => Ok(SealedSettings::default()),
        Some(sealed) => SealedSettings::open(keyring, project_id, configuration.id, sealed)
            .map_err(|_| EngineError::Internal("a configuration's password settings do not open")),
    }
}

/// Merges `update` into `merged`, moving the values of `password` settings into `sealed`
/// (and `********` into `merged` in their place). Answers whether `sealed` changed.
fn seal_passwords(
    schema: &[UserSetting],
    update: Map<String, Value>,
    merged: &mut Map<String, Value>,
    sealed: &mut Map<String, Value>,
) -> bool {
    let mut changed = false;
    for (key, value) in update {
        let is_password = schema
            .iter()
            .any(|setting| setting.id == key && setting.kind == SettingType::Password);
        match value {
            Value::String(text) if is_password && text == MASK => {
                // Sent back as it was read: the stored value stays.
            }
            Value::String(text) if is_password && !text.is_empty() => {
                sealed.insert(key.clone(), Value::String(text));
                merged.insert(key, Value::String(MASK.to_owned()));
                changed = true;
            }
            Value::Null | Value::String(_) if is_password => {
                changed |= sealed.remove(&key).is_some();
                merged.remove(&key);
            }
            value => {
                merged.insert(key, value);
            }
        }
    }
    changed
}

/// The settings a run of `workflow_id` reads from `configuration`: the integration's, with the
/// workflow's own over them, `password` values opened.
pub fn run_settings(
    configuration: &CredentialConfiguration,
    sealed: &SealedSettings,
    workflow_id: &str,
) -> Map<String, Value> {
    let mut settings = as_object(&configuration.shared_settings);
    settings.extend(sealed.shared.clone());
    let own_workflow = configuration
        .workflow_settings
        .get(workflow_id)
        .and_then(|w| w.get("settings"))
        .and_then(Value::as_object);
    if let Some(own) = own_workflow {
        settings.extend(own.clone());
    }
    if let Some(own) = sealed.workflows.get(workflow_id).and_then(Value::as_object) {
        settings.extend(own.clone());
    }
    settings
}

fn as_object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}
