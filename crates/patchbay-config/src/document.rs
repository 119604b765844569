//! The configuration document (docs/configuration.md): settings, integrations and workflows, parsed and
//! validated as a whole.

use std::collections::{HashMap, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_norway::Value as Tree;

use crate::catalogue::{Catalogue, catalogue};
use crate::errors::{ConfigError, ConfigErrors, Report, field, index};
use crate::integration::{IntegrationConfig, load_integrations};
use crate::portal::{ProjectPortal, check_project_portal};
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
    /// How the Connect Portal looks for every integration of the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<ProjectPortal>,
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
    if let Some(portal) = &settings.portal {
        check_project_portal(portal, "settings.portal", &mut report);
    }

    let (integrations, declared) = integrations_tree
        .map(|tree| load_integrations(tree, catalogue, &mut report))
        .unwrap_or_default();
    let (workflows, all_workflows) = workflows_tree
        .map(|tree| load_workflows(tree, &integrations, &declared, &mut report))
        .unwrap_or((Vec::new(), true));
    // A workflow that could not be read would only be reported again as unknown.
    if all_workflows {
        check_workflow_order(&integrations, &workflows, &mut report);
    }

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
) -> (Vec<WorkflowConfig>, bool) {
    let items = match tree {
        Tree::Null => return (Vec::new(), true),
        Tree::Sequence(items) => items,
        other => {
            report.error(
                "workflows",
                format!("expected a list of workflows, found {}", describe(other)),
            );
            return (Vec::new(), false);
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
    let all = workflows.len() == items.len();
    (workflows, all)
}

impl ProjectConfig {
    /// The workflows of integration `type_name` in the order the portal lists them.
    pub fn portal_workflows(&self, type_name: &str) -> Vec<&WorkflowConfig> {
        match self.integration(type_name) {
            Some(integration) => integration.workflow_display_order(
                self.workflows
                    .iter()
                    .filter(|workflow| workflow.integration == type_name),
            ),
            None => Vec::new(),
        }
    }
}

/// Each integration's `portal.workflowOrder` names workflows of that integration only.
pub(crate) fn check_workflow_order(
    integrations: &[IntegrationConfig],
    workflows: &[WorkflowConfig],
    report: &mut Report,
) {
    for integration in integrations {
        let Some(portal) = &integration.portal else {
            continue;
        };
        let order = field(
            &field(&field("integrations", &integration.type_name), "portal"),
            "workflowOrder",
        );
        let mut seen = HashSet::new();
        for (i, id) in portal.workflow_order.iter().enumerate() {
            if !seen.insert(id.as_str()) {
                // Reported with the portal itself.
                continue;
            }
            match workflows.iter().find(|workflow| &workflow.id == id) {
                Some(workflow) if workflow.integration == integration.type_name => {}
                Some(workflow) => report.error(
                    index(&order, i),
                    format!(
                        "`{id}` is a workflow of integration `{}`, not of `{}`",
                        workflow.integration, integration.type_name
                    ),
                ),
                None => report.error(
                    index(&order, i),
                    format!("unknown workflow `{id}`: the document declares no such workflow"),
                ),
            }
        }
    }
}
