//! A project's applied configuration, decoded from the store for one request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use patchbay_config::{IntegrationConfig, ProjectSettings, ProviderDefinition, WorkflowConfig};
use patchbay_oauth::Injection;
use patchbay_store::{CredentialRecord, IntegrationRecord, Project, Store, WorkflowRecord};
use url::Url;
use uuid::Uuid;

use crate::error::{EngineError, EngineResult};

/// An integration of the project: its row id and its decoded definition.
#[derive(Debug, Clone)]
pub struct Integration {
    pub id: Uuid,
    pub config: IntegrationConfig,
    /// The OAuth client secret, sealed.
    pub client_secret: Option<Vec<u8>>,
    /// The secret its provider's webhooks are verified with, sealed.
    pub webhook_secret: Option<Vec<u8>>,
    /// Its accounts' authentication, rendered from this definition.
    pub rendered_auth: Arc<PerAccount<Injection>>,
    /// Its accounts' API base URLs, rendered from this definition.
    pub api_bases: Arc<PerAccount<Url>>,
    /// The definition each account type makes, in the definition's order (the first is the
    /// default); empty when the integration has one way in.
    account_types: Vec<(String, ProviderDefinition)>,
}

/// The key of an account's variables that records its account type.
pub const ACCOUNT_TYPE_VAR: &str = "accountType";

impl Integration {
    /// The definition the account with these variables was connected with: its account
    /// type's, else the integration's own.
    pub fn provider_of(&self, account_vars: &serde_json::Value) -> &ProviderDefinition {
        let account_type = account_vars
            .get(ACCOUNT_TYPE_VAR)
            .and_then(serde_json::Value::as_str);
        self.provider_for(account_type)
    }

    /// The definition of the account type `id`; the default type's when `id` is `None` or
    /// names a type the integration no longer has, and the integration's own when it has no
    /// account types.
    pub fn provider_for(&self, id: Option<&str>) -> &ProviderDefinition {
        let named = id.and_then(|id| self.account_types.iter().find(|(own, _)| own == id));
        named
            .or(self.account_types.first())
            .map_or(&self.config.provider, |(_, provider)| provider)
    }
}

/// What an integration's definition makes of each account, made once per
/// credential version rather than on every call: its rendered authentication
/// (headers and query parameters from templates over the account's secrets
/// and variables), its API's base URL. A new token, a new key or a
/// reconnection bumps the version. It belongs to one decoded configuration,
/// so a document applied later renders afresh.
#[derive(Debug)]
pub struct PerAccount<T> {
    entries: Mutex<HashMap<Uuid, (i64, Arc<T>)>>,
}

impl<T> Default for PerAccount<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
        }
    }
}

impl<T> PerAccount<T> {
    /// Accounts kept at most before the set starts over: a bound on memory
    /// far above the accounts one integration calls between applies.
    const MAX_ACCOUNTS: usize = 100_000;

    /// What `render` makes of `credential`, rendered once per version of it.
    pub fn get_or_render(
        &self,
        credential: &CredentialRecord,
        render: impl FnOnce() -> EngineResult<T>,
    ) -> EngineResult<Arc<T>> {
        let entries = || self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, made)) = entries()
            .get(&credential.id)
            .filter(|(version, _)| *version == credential.version)
        {
            return Ok(Arc::clone(made));
        }
        let made = Arc::new(render()?);
        let mut entries = entries();
        if entries.len() >= Self::MAX_ACCOUNTS {
            entries.clear();
        }
        entries.insert(credential.id, (credential.version, Arc::clone(&made)));
        Ok(made)
    }
}

#[derive(Debug, Clone)]
pub struct Workflow {
    pub integration_id: Uuid,
    pub config: WorkflowConfig,
}

impl Workflow {
    /// Whether an account runs this workflow: what it chose in its
    /// `workflowSettings`, else the workflow's `defaultEnabled`.
    pub fn enabled_in(&self, workflow_settings: &serde_json::Value) -> bool {
        workflow_settings
            .get(&self.config.id)
            .and_then(|chosen| chosen.get("enabled"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(self.config.default_enabled)
    }

    /// The configurations of `account` that run this workflow.
    pub fn enabled_configurations<'a>(
        &self,
        account: &'a patchbay_store::CredentialRecord,
    ) -> impl Iterator<Item = &'a patchbay_store::CredentialConfiguration> {
        account
            .configurations
            .iter()
            .filter(|configuration| self.enabled_in(&configuration.workflow_settings))
    }

    /// Writes this workflow's state into an account's `workflowSettings`,
    /// starting from the workflow's default for an account that never chose;
    /// `settings` are merged over the ones it has.
    pub fn write_state(
        &self,
        states: &mut serde_json::Value,
        enabled: Option<bool>,
        settings: Option<serde_json::Map<String, serde_json::Value>>,
    ) {
        if !states.is_object() {
            *states = serde_json::json!({});
        }
        let entry = &mut states[&self.config.id];
        if !entry.is_object() {
            *entry = serde_json::json!({"enabled": self.config.default_enabled, "settings": {}});
        }
        if let Some(enabled) = enabled {
            entry["enabled"] = serde_json::json!(enabled);
        }
        if let Some(settings) = settings {
            let mut merged = entry["settings"].as_object().cloned().unwrap_or_default();
            merged.extend(settings);
            entry["settings"] = serde_json::Value::Object(merged);
        }
    }
}

/// Everything the end-user API needs to know about a project's configuration.
#[derive(Debug, Clone)]
pub struct ProjectRuntime {
    pub settings: ProjectSettings,
    /// In document order.
    pub integrations: Vec<Integration>,
    /// In document order.
    pub workflows: Vec<Workflow>,
}

/// Decoded configurations by project, reused while the project's
/// `config_version` is unchanged. The version comes with the project row,
/// read on every request (from `CachedStore`), so a document applied through
/// another replica is seen once that replica's change notice arrives.
#[derive(Debug)]
pub struct Runtimes {
    store: Arc<dyn Store>,
    entries: Mutex<HashMap<Uuid, (i64, Arc<ProjectRuntime>)>>,
}

impl Runtimes {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            entries: Mutex::default(),
        }
    }

    /// The project's configuration as of `project.config_version`.
    pub async fn load(&self, project: &Project) -> EngineResult<Arc<ProjectRuntime>> {
        let cached = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&project.id)
            .filter(|(version, _)| *version == project.config_version)
            .map(|(_, runtime)| Arc::clone(runtime));
        if let Some(runtime) = cached {
            return Ok(runtime);
        }
        let runtime = Arc::new(ProjectRuntime::decode(self.store.as_ref(), project).await?);
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(project.id, (project.config_version, Arc::clone(&runtime)));
        Ok(runtime)
    }

    /// The configuration of the project with id `project_id`; `None` when
    /// the project is gone or cannot be read (background work skips it).
    pub async fn load_by_id(&self, project_id: Uuid) -> Option<Arc<ProjectRuntime>> {
        let project = self
            .store
            .projects()
            .get_project(project_id)
            .await
            .ok()
            .flatten()?;
        self.load(&project).await.ok()
    }
}

impl ProjectRuntime {
    async fn decode(store: &dyn Store, project: &Project) -> EngineResult<Self> {
        let (integrations, workflows) = tokio::try_join!(
            store.projects().list_integrations(project.id),
            store.workflows().list_workflows(project.id)
        )?;
        Ok(Self {
            settings: decode("project settings", project.settings.clone())?,
            integrations: integrations
                .into_iter()
                .map(decode_integration)
                .collect::<Result<_, _>>()?,
            workflows: workflows
                .into_iter()
                .map(decode_workflow)
                .collect::<Result<_, _>>()?,
        })
    }

    /// An integration by type slug or id, as docs/api.md allows either.
    pub fn integration(&self, type_or_id: &str) -> Option<&Integration> {
        let id = Uuid::parse_str(type_or_id).ok();
        self.integrations
            .iter()
            .find(|i| i.config.type_name == type_or_id || Some(i.id) == id)
    }

    /// [`Self::integration`], or `IntegrationNotFound` naming what was asked.
    pub fn require_integration(&self, type_or_id: &str) -> EngineResult<&Integration> {
        self.integration(type_or_id)
            .ok_or_else(|| EngineError::IntegrationNotFound(type_or_id.to_owned()))
    }

    pub fn integration_by_id(&self, id: Uuid) -> Option<&Integration> {
        self.integrations.iter().find(|i| i.id == id)
    }

    pub fn workflow(&self, id: &str) -> Option<&Workflow> {
        self.workflows.iter().find(|w| w.config.id == id)
    }

    /// A workflow of one integration by id: one an account of that integration may run.
    pub fn integration_workflow(&self, integration_id: Uuid, id: &str) -> Option<&Workflow> {
        self.workflows_of(integration_id)
            .find(|w| w.config.id == id)
    }

    /// The workflows of one integration, in document order.
    pub fn workflows_of(&self, integration_id: Uuid) -> impl Iterator<Item = &Workflow> {
        self.workflows
            .iter()
            .filter(move |w| w.integration_id == integration_id)
    }

    pub fn integration_types(&self) -> HashMap<Uuid, &str> {
        self.integrations
            .iter()
            .map(|i| (i.id, i.config.type_name.as_str()))
            .collect()
    }
}

fn decode_integration(record: IntegrationRecord) -> EngineResult<Integration> {
    let config: IntegrationConfig = decode("integration definition", record.definition)?;
    let account_types = (config.provider.account_types.iter())
        .map(|account_type| {
            let provider = config.provider.of_account_type(account_type);
            (account_type.id.clone(), provider)
        })
        .collect();
    Ok(Integration {
        id: record.id,
        config,
        client_secret: record.client_secret,
        webhook_secret: record.webhook_secret,
        rendered_auth: Arc::default(),
        api_bases: Arc::default(),
        account_types,
    })
}

fn decode_workflow(record: WorkflowRecord) -> EngineResult<Workflow> {
    Ok(Workflow {
        integration_id: record.integration_id,
        config: decode("workflow definition", record.definition)?,
    })
}

/// Stored definitions were validated when applied; one that no longer
/// decodes means the binary and the data disagree, which is our bug.
fn decode<T: serde::de::DeserializeOwned>(what: &str, value: serde_json::Value) -> EngineResult<T> {
    serde_json::from_value(value).map_err(|err| {
        tracing::error!(%err, "stored {what} no longer decodes");
        EngineError::Internal("a stored configuration no longer decodes")
    })
}
