//! The user object of `GET /sdk/me` (docs/api.md) and the credential views inside
//! it. This is the only place store records become these wire types.

use std::collections::BTreeMap;

use patchbay_api::{
    Credential, CredentialConfig, CredentialConfiguration, CredentialStatus, IntegrationState,
    UserObject, WorkflowState,
};
use patchbay_core::selection::default_account;
use patchbay_store::{ConnectedUser, CredentialRecord};
use serde_json::{Value, json};

use crate::runtime::{ACCOUNT_TYPE_VAR, ProjectRuntime, Workflow};

pub fn status(status: patchbay_store::CredentialStatus) -> CredentialStatus {
    match status {
        patchbay_store::CredentialStatus::Pending => CredentialStatus::Pending,
        patchbay_store::CredentialStatus::Valid => CredentialStatus::Valid,
        patchbay_store::CredentialStatus::Invalid => CredentialStatus::Invalid,
    }
}

/// Each workflow of the integration as it stands for one account: what the
/// account chose, else the workflow's `defaultEnabled`.
pub fn workflow_states<'a>(
    stored: &Value,
    workflows: impl Iterator<Item = &'a Workflow>,
) -> BTreeMap<String, WorkflowState> {
    workflows
        .map(|workflow| {
            let enabled = workflow.enabled_in(stored);
            let settings = stored
                .get(&workflow.config.id)
                .and_then(|c| c.get("settings"))
                .cloned()
                .unwrap_or_else(|| json!({}));
            (
                workflow.config.id.clone(),
                WorkflowState { enabled, settings },
            )
        })
        .collect()
}

/// One configuration as the API shows it.
fn configuration_view(
    record: &CredentialRecord,
    configuration: &patchbay_store::CredentialConfiguration,
    runtime: &ProjectRuntime,
) -> CredentialConfiguration {
    let workflows = workflow_states(
        &configuration.workflow_settings,
        runtime.workflows_of(record.integration_id),
    );
    CredentialConfiguration {
        id: configuration.id,
        credential_id: record.id,
        connect_credential_id: record.id,
        is_default: configuration.is_default,
        external_id: record
            .configuration_external_id(configuration)
            .map(str::to_owned),
        meta: configuration.meta.clone(),
        shared_settings: configuration.shared_settings.clone(),
        settings: configuration.shared_settings.clone(),
        workflow_settings: workflows.clone(),
        configured_workflows: workflows,
        date_created: configuration.created_at,
        date_updated: configuration.updated_at,
    }
}

/// An account as the API shows it, with every configuration it holds (the default first).
pub fn credential(record: &CredentialRecord, runtime: &ProjectRuntime) -> Credential {
    let configurations: Vec<CredentialConfiguration> = record
        .configurations
        .iter()
        .map(|configuration| configuration_view(record, configuration, runtime))
        .collect();
    let first = &configurations[0];
    let config = CredentialConfig {
        id: first.id,
        connect_credential_id: record.id,
        is_default: first.is_default,
        external_id: first.external_id.clone(),
        shared_settings: first.shared_settings.clone(),
        configured_workflows: first.workflow_settings.clone(),
        date_created: first.date_created,
        date_updated: first.date_updated,
    };
    Credential {
        id: record.id,
        project_id: record.project_id,
        integration_id: record.integration_id,
        persona_id: record.user_id.clone(),
        external_id: record.external_id.clone(),
        provider_id: record.provider_id.clone(),
        provider_data: record.provider_data.clone(),
        status: status(record.status),
        account_type: (record.account_vars.get(ACCOUNT_TYPE_VAR))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        is_preview_credential: false,
        date_created: record.created_at,
        date_updated: record.updated_at,
        date_refreshed: record.refreshed_at,
        date_valid_until: record.valid_until,
        refresh_failure_count: record.refresh_failure_count,
        date_deleted: None,
        configurations,
        config,
    }
}

/// `credentials` are the user's visible accounts, oldest first;
/// `show_integration` says which integrations the caller may see at all.
pub fn user_object(
    user: &ConnectedUser,
    runtime: &ProjectRuntime,
    credentials: &[CredentialRecord],
    show_integration: impl Fn(&str, &[&CredentialRecord]) -> bool,
) -> UserObject {
    let mut integrations = BTreeMap::new();
    for integration in &runtime.integrations {
        let accounts: Vec<&CredentialRecord> = credentials
            .iter()
            .filter(|c| c.integration_id == integration.id)
            .collect();
        if !show_integration(&integration.config.type_name, &accounts) {
            continue;
        }
        integrations.insert(
            integration.config.type_name.clone(),
            integration_state(&accounts, runtime),
        );
    }
    UserObject {
        authenticated: true,
        user_id: user.user_id.clone(),
        meta: user.meta.clone(),
        resources: Vec::new(),
        integrations,
    }
}

fn integration_state(accounts: &[&CredentialRecord], runtime: &ProjectRuntime) -> IntegrationState {
    let all_credentials: Vec<Credential> =
        accounts.iter().map(|c| credential(c, runtime)).collect();
    let all_configurations = all_credentials
        .iter()
        .flat_map(|c| c.configurations.clone())
        .collect();
    let Some(default) = default_account(accounts) else {
        return IntegrationState {
            enabled: false,
            credential_id: None,
            credential_status: None,
            provider_id: None,
            provider_data: None,
            all_credentials,
            all_configurations,
            shared_settings: json!({}),
            workflow_settings: BTreeMap::new(),
            configured_workflows: BTreeMap::new(),
        };
    };
    let view = all_credentials.iter().find(|c| c.id == default.id);
    let workflow_settings = view
        .map(|v| v.configurations[0].workflow_settings.clone())
        .unwrap_or_default();
    IntegrationState {
        enabled: true,
        credential_id: Some(default.id),
        credential_status: Some(status(default.status)),
        provider_id: default.provider_id.clone(),
        provider_data: Some(default.provider_data.clone()),
        shared_settings: default.default_configuration().shared_settings.clone(),
        configured_workflows: workflow_settings.clone(),
        workflow_settings,
        all_credentials,
        all_configurations,
    }
}
