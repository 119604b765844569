//! Configuration as code: the project's whole configuration document
//! (docs/configuration.md), validated as a whole and applied atomically.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse as _, Response};
use patchbay_api::{
    ConfigApplied, ConfigChanges, ConfigDocument, ConfigPlan, ConfigPutOutcome, ErrorBody,
    ErrorCode, PlannedAccountDeletion,
};
use patchbay_config::{ConfigErrors, DocumentSecret, ProjectConfig, ProjectSettings};
use patchbay_core::crypto::Keyring;
use patchbay_engine::events::{self, CredentialChange, Subject};
use patchbay_store::{
    ConfigWrite, CredentialFilter, CredentialRecord, IntegrationRecord, IntegrationWrite, NewEvent,
    REMOVED_ACCOUNTS_CHANGED, SecretUpdate, Store, StoreError, WorkflowWrite,
};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit;
use crate::auth::ProjectAdmin;
use crate::error::ApiError;
use crate::extract::{BodyBytes, QueryParams, refuse_nul_in};
use crate::state::AppState;
use patchbay_engine::secrets;

#[derive(Debug, Default, Deserialize)]
pub struct ApplyOptions {
    /// Allow removing integrations that still have connected accounts
    /// (they are deleted with the integration).
    #[serde(default)]
    prune: bool,
    /// Answer what the apply would change ([`ConfigPlan`]) and change
    /// nothing.
    #[serde(default, rename = "dryRun")]
    dry_run: bool,
}

/// Parses and validates a configuration document (YAML or JSON) as
/// [`apply_config`] does before it touches the store: the offline check of
/// `patchbay config validate`.
pub fn validate_config(text: &str) -> Result<ProjectConfig, ApiError> {
    let config = patchbay_config::load(text).map_err(invalid_document)?;
    refuse_nul_in(&patchbay_config::masked(&config))?;
    Ok(config)
}

/// Validates `text` (YAML or JSON) and, if it is valid as a whole, makes it
/// the project's configuration in one transaction. Shared by the admin API
/// and `patchbay apply`.
pub async fn apply_config(
    store: &dyn Store,
    keyring: &Keyring,
    project_id: Uuid,
    text: &str,
    prune: bool,
) -> Result<ConfigApplied, ApiError> {
    let (config, write) = prepare_write(store, keyring, project_id, text).await?;
    let mut attempts = 0;
    let project = loop {
        attempts += 1;
        let removed = accounts_of_removed_integrations(store, project_id, &config).await?;
        if !prune && !removed.is_empty() {
            return Err(integration_in_use(&removed));
        }
        let deleted: Vec<NewEvent> = removed
            .iter()
            .map(|(type_name, account)| {
                events::credential_event(
                    Subject::of(account, type_name),
                    CredentialChange::Deleted,
                    Default::default(),
                )
            })
            .collect();
        match store
            .projects()
            .apply_config(project_id, &write, &deleted)
            .await
        {
            Ok(project) => break project,
            // An account of a removed integration was connected or deleted
            // since the listing above: look again, so that every deletion
            // gets its event (or, without prune, the apply is refused).
            Err(StoreError::Conflict { constraint })
                if constraint == REMOVED_ACCOUNTS_CHANGED && attempts < APPLY_ATTEMPTS => {}
            Err(StoreError::Conflict { constraint }) if constraint == REMOVED_ACCOUNTS_CHANGED => {
                return Err(ApiError::new(
                    ErrorCode::IntegrationInUse,
                    "Accounts of the removed integrations kept changing while the document was \
                     applied; nothing was changed. Try again.",
                ));
            }
            Err(err) => return Err(err.into()),
        }
    };
    Ok(ConfigApplied {
        version: project.config_version,
        integrations: config
            .integrations
            .iter()
            .map(|i| i.type_name.clone())
            .collect(),
        workflows: config.workflows.iter().map(|w| w.id.clone()).collect(),
    })
}

/// Validates `text` against the project's stored state (a masked client
/// secret needs a stored one) and builds what the store writes for it.
async fn prepare_write(
    store: &dyn Store,
    keyring: &Keyring,
    project_id: Uuid,
    text: &str,
) -> Result<(ProjectConfig, ConfigWrite), ApiError> {
    let config = validate_config(text)?;
    let existing: HashMap<String, IntegrationRecord> = store
        .projects()
        .list_integrations(project_id)
        .await?
        .into_iter()
        .map(|i| (i.type_name.clone(), i))
        .collect();

    let mut errors = Vec::new();
    let mut integrations = Vec::new();
    for integration in &config.integrations {
        let stored = existing.get(&integration.type_name);
        let id = stored.map_or_else(Uuid::new_v4, |i| i.id);
        let mut update = |secret: &DocumentSecret,
                          has_stored: bool,
                          key: &str,
                          field: &'static str| {
            match secret {
                DocumentSecret::None => SecretUpdate::Clear,
                DocumentSecret::Keep if has_stored => SecretUpdate::Keep,
                DocumentSecret::Keep => {
                    errors.push(patchbay_config::ConfigError::new(
                        format!("integrations.{}.{key}", integration.type_name),
                        "is the mask \"********\" but no secret is stored yet; give the secret",
                    ));
                    SecretUpdate::Clear
                }
                DocumentSecret::Set(secret) => SecretUpdate::Set(secrets::seal_str(
                    keyring,
                    project_id,
                    id,
                    field,
                    secret.expose_secret(),
                )),
            }
        };
        let client_secret = update(
            &integration.client_secret,
            stored.is_some_and(|i| i.client_secret.is_some()),
            "clientSecret",
            secrets::CLIENT_SECRET,
        );
        let webhook_secret = update(
            &integration.webhook_secret,
            stored.is_some_and(|i| i.webhook_secret.is_some()),
            "webhookSecret",
            secrets::INTEGRATION_WEBHOOK_SECRET,
        );
        integrations.push(IntegrationWrite {
            id,
            type_name: integration.type_name.clone(),
            definition: to_json(integration)?,
            client_secret,
            webhook_secret,
        });
    }
    if !errors.is_empty() {
        return Err(invalid_document(ConfigErrors(errors)));
    }
    let workflows = config
        .workflows
        .iter()
        .map(|workflow| {
            let integration_id = integrations
                .iter()
                .find(|i| i.type_name == workflow.integration)
                .map(|i| i.id)
                .ok_or_else(ApiError::internal)?;
            Ok(WorkflowWrite {
                id: workflow.id.clone(),
                integration_id,
                trigger_type: workflow.trigger.trigger_type().as_str().to_owned(),
                trigger_event: workflow.trigger.event().map(str::to_owned),
                definition: to_json(workflow)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let write = ConfigWrite {
        settings: to_json(&config.settings)?,
        document: patchbay_config::masked(&config),
        integrations,
        workflows,
    };
    Ok((config, write))
}

/// What [`apply_config`] would change, checked exactly as it checks, with
/// nothing written: `?dryRun=true` and `patchbay apply --dry-run`.
pub async fn plan_config(
    store: &dyn Store,
    keyring: &Keyring,
    project_id: Uuid,
    text: &str,
    prune: bool,
) -> Result<ConfigPlan, ApiError> {
    let (config, write) = prepare_write(store, keyring, project_id, text).await?;
    let removed = accounts_of_removed_integrations(store, project_id, &config).await?;
    if !prune && !removed.is_empty() {
        return Err(integration_in_use(&removed));
    }
    let current_settings = match store.projects().get_config_document(project_id).await? {
        Some(document) => document.get("settings").cloned(),
        None => None,
    };
    let current_settings = match current_settings {
        Some(settings) => settings,
        None => to_json(&ProjectSettings::default())?,
    };
    let current_integrations = store.projects().list_integrations(project_id).await?;
    let current_workflows = store.workflows().list_workflows(project_id).await?;
    Ok(ConfigPlan {
        settings_changed: current_settings != write.settings,
        integrations: changes(
            current_integrations.iter().map(|i| {
                let secrets = (i.client_secret.is_some(), i.webhook_secret.is_some());
                (i.type_name.as_str(), (&i.definition, secrets))
            }),
            write.integrations.iter().map(|i| {
                let kept = |secret: &SecretUpdate| !matches!(secret, SecretUpdate::Clear);
                let secrets = (kept(&i.client_secret), kept(&i.webhook_secret));
                (i.type_name.as_str(), (&i.definition, secrets))
            }),
        ),
        workflows: changes(
            current_workflows
                .iter()
                .map(|w| (w.id.as_str(), &w.definition)),
            write
                .workflows
                .iter()
                .map(|w| (w.id.as_str(), &w.definition)),
        ),
        deleted_accounts: removed
            .into_iter()
            .map(|(integration, account)| PlannedAccountDeletion {
                integration,
                credential_id: account.id,
                user_id: account.user_id,
            })
            .collect(),
    })
}

/// Names added, changed (same name, different value) and removed between
/// `before` and `after`, each in the order it appears there.
fn changes<'a, T: PartialEq + 'a>(
    before: impl Iterator<Item = (&'a str, T)>,
    after: impl Iterator<Item = (&'a str, T)>,
) -> ConfigChanges {
    let before: Vec<(&str, T)> = before.collect();
    let after: Vec<(&str, T)> = after.collect();
    let find = |list: &[(&str, T)], name: &str| list.iter().position(|(n, _)| *n == name);
    let mut result = ConfigChanges::default();
    for (name, value) in &after {
        match find(&before, name) {
            None => result.added.push((*name).to_owned()),
            Some(i) if before[i].1 != *value => result.changed.push((*name).to_owned()),
            Some(_) => {}
        }
    }
    for (name, _) in &before {
        if find(&after, name).is_none() {
            result.removed.push((*name).to_owned());
        }
    }
    result
}

/// How many times an apply lists the accounts of the integrations it removes.
/// A second look follows an account connected or deleted between the listing
/// and the store's transaction; a third losing race in a row is left to the
/// caller to retry rather than looped on.
const APPLY_ATTEMPTS: u32 = 3;

/// Every account connected to an integration the document removes, with that
/// integration's type. Read afresh on every attempt: another apply may have
/// added integrations meanwhile.
async fn accounts_of_removed_integrations(
    store: &dyn Store,
    project_id: Uuid,
    config: &ProjectConfig,
) -> Result<Vec<(String, CredentialRecord)>, ApiError> {
    let mut accounts = Vec::new();
    for integration in store.projects().list_integrations(project_id).await? {
        if config
            .integrations
            .iter()
            .any(|i| i.type_name == integration.type_name)
        {
            continue;
        }
        let filter = CredentialFilter {
            integration_id: Some(integration.id),
            ..Default::default()
        };
        for account in store
            .credentials()
            .list_credentials(project_id, &filter)
            .await?
        {
            accounts.push((integration.type_name.clone(), account));
        }
    }
    Ok(accounts)
}

/// Removing an integration deletes every account connected to it, so it
/// takes `?prune=true`.
fn integration_in_use(removed: &[(String, CredentialRecord)]) -> ApiError {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (type_name, _) in removed {
        match counts.iter_mut().find(|(name, _)| *name == type_name) {
            Some((_, count)) => *count += 1,
            None => counts.push((type_name, 1)),
        }
    }
    let errors: Vec<_> = counts
        .into_iter()
        .map(|(type_name, accounts)| {
            json!({
                "path": format!("integrations.{type_name}"),
                "message": format!("is removed but has {accounts} connected account(s); apply with ?prune=true to delete them"),
            })
        })
        .collect();
    ApiError::new(
        ErrorCode::IntegrationInUse,
        "The document removes integrations that still have connected accounts.",
    )
    .with_meta(json!({ "errors": errors }))
}

fn invalid_document(errors: ConfigErrors) -> ApiError {
    ApiError::new(
        ErrorCode::ValidationFailed,
        format!(
            "The configuration document has {} error(s); nothing was changed.",
            errors.len()
        ),
    )
    .with_meta(json!({ "errors": errors.iter().collect::<Vec<_>>() }))
}

fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|err| {
        tracing::error!(%err, "a validated configuration does not serialize");
        ApiError::internal()
    })
}

/// Replaces the project's configuration with the document in the body
/// (YAML or JSON); with `dryRun=true`, answers what it would change instead.
#[utoipa::path(put, path = "/api/v1/projects/{projectId}/config", operation_id = "putProjectConfig", tag = "admin",
    params(("projectId" = Uuid, Path), ("prune" = Option<bool>, Query),
           ("dryRun" = Option<bool>, Query)),
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 200, body = ConfigPutOutcome,
               description = "Applied (`ConfigApplied`); with `dryRun=true`, what would change (`ConfigPlan`)"),
              (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn put(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    QueryParams(options): QueryParams<ApplyOptions>,
    BodyBytes(body): BodyBytes,
) -> Result<Response, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::new(ErrorCode::InvalidJson, "The document is not UTF-8 text."))?;
    let (store, keyring, project_id) = (state.store(), state.engine.keyring(), admin.project.id);
    Ok(if options.dry_run {
        let plan = plan_config(store, keyring, project_id, text, options.prune).await?;
        // A dry run changes nothing: the audit log does not list it.
        (
            Extension(audit::NothingChanged),
            axum::Json(ConfigPutOutcome::Planned(plan)),
        )
            .into_response()
    } else {
        let applied = apply_config(store, keyring, project_id, text, options.prune).await?;
        axum::Json(ConfigPutOutcome::Applied(applied)).into_response()
    })
}

/// The project's configuration document, secrets shown as `********`.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/config", operation_id = "getProjectConfig", tag = "admin",
    params(("projectId" = Uuid, Path)),
    responses((status = 200, body = ConfigDocument), (status = 401, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn get(
    admin: ProjectAdmin,
    State(state): State<AppState>,
) -> Result<axum::Json<ConfigDocument>, ApiError> {
    let document = state
        .store()
        .projects()
        .get_config_document(admin.project.id)
        .await?;
    Ok(axum::Json(
        document.map_or_else(ConfigDocument::empty, ConfigDocument),
    ))
}
