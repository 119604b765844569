//! Enabling and disabling a workflow for one account, and `integration_enabled`
//! workflows: one run when an account enables the workflow — by toggling it,
//! by updating its configuration, or by being connected while the workflow is
//! enabled by default.

use patchbay_config::TriggerType;
use patchbay_store::{ConfigurationChanges, CredentialConfiguration, CredentialRecord};
use serde_json::{Value, json};
use uuid::Uuid;

use super::context::Workflows;
use super::executor::RunTarget;
use super::runs;
use crate::configurations;
use crate::error::EngineResult;
use crate::events::{self, Subject};
use crate::runtime::{Integration, Workflow};

/// Enables or disables `workflow` in one configuration of `account` (an account of
/// `integration`), recording `workflow.state_changed` with the change, and queues the
/// `integration_enabled` runs that enabling it starts: what the end user's toggle and the admin
/// API's both do.
pub async fn set_enabled(
    workflows: &Workflows,
    integration: &Integration,
    workflow: &Workflow,
    account: &CredentialRecord,
    configuration: &CredentialConfiguration,
    enabled: bool,
) -> EngineResult<CredentialRecord> {
    let before = &configuration.workflow_settings;
    let mut states = before.clone();
    workflow.write_state(&mut states, Some(enabled), None);
    let changes = ConfigurationChanges {
        workflow_settings: Some(states),
        ..Default::default()
    };
    let subject = Subject::of(account, &integration.config.type_name);
    let event = events::workflow_state_changed(
        subject,
        Some(configuration.id),
        &workflow.config.id,
        Some(enabled),
        None,
    );
    let updated = configurations::write(
        workflows.store.as_ref(),
        account,
        configuration.id,
        changes,
        &[event],
    )
    .await?;
    queue_newly_enabled(workflows, Some(before), &updated, configuration.id).await;
    Ok(updated)
}

/// Queues a run of every `integration_enabled` workflow enabled in one configuration of
/// `account` but not in `before` (`None`: a new account or configuration). Failures are
/// logged: the change that enabled the workflow stands.
pub async fn queue_newly_enabled(
    workflows: &Workflows,
    before: Option<&Value>,
    account: &CredentialRecord,
    configuration_id: Uuid,
) {
    if let Err(error) = queue(workflows, before, account, configuration_id).await {
        tracing::warn!(credential = %account.id, %error, "integration_enabled runs could not be queued");
    }
}

async fn queue(
    workflows: &Workflows,
    before: Option<&Value>,
    account: &CredentialRecord,
    configuration_id: Uuid,
) -> Result<(), String> {
    let Some(configuration) = account.configuration(configuration_id) else {
        return Ok(());
    };
    let project = workflows
        .store
        .projects()
        .get_project(account.project_id)
        .await
        .map_err(|err| err.to_string())?
        .ok_or("the project no longer exists")?;
    let runtime = workflows
        .runtimes
        .load(&project)
        .await
        .map_err(|err| err.to_string())?;
    let settings = &configuration.workflow_settings;
    let newly_enabled: Vec<_> = runtime
        .workflows_of(account.integration_id)
        .filter(|w| w.config.trigger.trigger_type() == TriggerType::IntegrationEnabled)
        .filter(|w| w.enabled_in(settings) && !before.is_some_and(|b| w.enabled_in(b)))
        .collect();
    if newly_enabled.is_empty() {
        return Ok(());
    }
    let integration = runtime
        .integration_by_id(account.integration_id)
        .ok_or("the integration no longer exists")?;
    let user = workflows
        .store
        .users()
        .get_user(account.project_id, &account.user_id)
        .await
        .map_err(|err| err.to_string())?
        .ok_or("the user no longer exists")?;
    let meta = Value::Object(user.meta.clone());
    for workflow in newly_enabled
        .into_iter()
        .filter(|workflow| workflow.config.shown_to(&meta))
    {
        let target = RunTarget {
            integration: integration.clone(),
            workflow: workflow.clone(),
            credential: account.clone(),
            configuration_id,
            user: user.clone(),
        };
        let trigger = json!({ "type": "integration_enabled" });
        runs::enqueue(workflows, &target, trigger, None)
            .await
            .map_err(|err| err.to_string())?;
    }
    workflows.wake_worker();
    Ok(())
}
