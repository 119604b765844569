//! The configuration document (docs/configuration.md): settings, integrations and workflows, parsed and
//! validated as a whole.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_norway::Value as Tree;

use crate::catalogue::{Catalogue, catalogue};
use crate::errors::{ConfigError, ConfigErrors, Report, field, index};
use crate::integration::{IntegrationConfig, load_integrations};
use crate::source::{self, describe, key_text};
use crate::typed::typed;
use crate::urls::check_origin;
use crate::workflow::WorkflowConfig;
use crate::workflow_check::{Integration, check_workflow};

/// A validated configuration document.
#[derive(Debug, Clone)]
pub struct ProjectConfig {
    pub settings: ProjectSettings,
    /// In document order.
    pub integrations: Vec<IntegrationConfig>,
    pub workflows: Vec<WorkflowConfig>,
}

impl ProjectConfig {
    pub fn integration(&self, type_name: &str) -> Option<&IntegrationConfig> {
        self.integrations
            .iter()
            .find(|integration| integration.type_name == type_name)
    }

    pub fn workflow(&self, id: &str) -> Option<&WorkflowConfig> {
        self.workflows.iter().find(|workflow| workflow.id == id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "the project settings (a mapping)"
)]
pub struct ProjectSettings {
    /// Origins allowed to receive the install `postMessage` (and, for the server, CORS).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Whether an operation with no account selected fails when the user has several.
    #[serde(default)]
    pub require_explicit_credential: bool,
    /// Field, header and parameter names Task History redacts, beside the built-in ones
    /// (compared without case, `-` or `_`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact_fields: Vec<String>,
}

/// Parses and validates a configuration document (YAML or JSON) against the built-in catalogue,
/// collecting every error.
pub fn load(text: &str) -> Result<ProjectConfig, ConfigErrors> {
    load_with(text, catalogue())
}

/// [`load`] against another catalogue (tests, or a deployment's own).
pub fn load_with(text: &str, catalogue: &Catalogue) -> Result<ProjectConfig, ConfigErrors> {
    let whole = |message: String| ConfigErrors(vec![ConfigError::new("", message)]);
    let tree = source::parse(text).map_err(|error| ConfigErrors(vec![error]))?;
    let root = match tree {
        Tree::Mapping(root) => root,
        Tree::Null => return Err(whole("the configuration document is empty".to_owned())),
        other => {
            return Err(whole(format!(
                "expected a mapping with `settings`, `integrations` and `workflows`, found {}",
                describe(&other)
            )));
        }
    };

    let mut report = Report::default();
    let mut settings_tree = None;
    let mut integrations_tree = None;
    let mut workflows_tree = None;
    for (key, value) in &root {
        match key.as_str() {
            Some("settings") => settings_tree = Some(value),
            Some("integrations") => integrations_tree = Some(value),
            Some("workflows") => workflows_tree = Some(value),
            _ => report.error(
                key_text(key),
                "unknown key; the document has `settings`, `integrations` and `workflows`",
            ),
        }
    }

    let settings = settings_tree
        .filter(|tree| !tree.is_null())
        .and_then(|tree| typed::<ProjectSettings>(tree, "settings", &mut report))
        .unwrap_or_default();
    for (i, origin) in settings.allowed_origins.iter().enumerate() {
        check_origin(origin, &index("settings.allowedOrigins", i), &mut report);
    }
    for (i, name) in settings.redact_fields.iter().enumerate() {
        if name.trim().is_empty() {
            report.error(index("settings.redactFields", i), "must not be empty");
        }
    }

    let (integrations, declared) = integrations_tree
        .map(|tree| load_integrations(tree, catalogue, &mut report))
        .unwrap_or_default();
    let workflows = workflows_tree
        .map(|tree| load_workflows(tree, &integrations, &declared, &mut report))
        .unwrap_or_default();

    report.finish(ProjectConfig {
        settings,
        integrations,
        workflows,
    })
}

fn load_workflows(
    tree: &Tree,
    integrations: &[IntegrationConfig],
    declared: &[String],
    report: &mut Report,
) -> Vec<WorkflowConfig> {
    let items = match tree {
        Tree::Null => return Vec::new(),
        Tree::Sequence(items) => items,
        other => {
            report.error(
                "workflows",
                format!("expected a list of workflows, found {}", describe(other)),
            );
            return Vec::new();
        }
    };
    let declared: Vec<&str> = declared.iter().map(String::as_str).collect();
    let mut workflows = Vec::new();
    let mut first_use: HashMap<String, String> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = index("workflows", i);
        let Some(workflow) = typed::<WorkflowConfig>(item, &path, report) else {
            continue;
        };
        let integration = match integrations
            .iter()
            .find(|integration| integration.type_name == workflow.integration)
        {
            Some(integration) => Integration::Valid(integration),
            None if declared.contains(&workflow.integration.as_str()) => Integration::Invalid,
            None => Integration::Unknown,
        };
        check_workflow(&workflow, &path, integration, &declared, report);
        match first_use.get(&workflow.id) {
            Some(first) => report.error(
                field(&path, "id"),
                format!(
                    "duplicate workflow id `{}` (first used at `{first}`)",
                    workflow.id
                ),
            ),
            None => {
                first_use.insert(workflow.id.clone(), path);
            }
        }
        workflows.push(workflow);
    }
    workflows
}
