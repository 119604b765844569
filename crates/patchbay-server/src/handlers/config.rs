//! Configuration as code: the project's whole configuration document
//! (SPEC §8), validated as a whole and applied atomically.

use std::collections::HashMap;

use axum::extract::State;
use patchbay_api::{ConfigApplied, ErrorBody, ErrorCode};
use patchbay_config::{ClientSecret, ConfigErrors, ProjectConfig};
use patchbay_core::crypto::Keyring;
use patchbay_store::{
    ConfigWrite, CredentialFilter, IntegrationWrite, SecretUpdate, Store, WorkflowWrite,
};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

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
    let config = patchbay_config::load(text).map_err(invalid_document)?;
    refuse_nul_in(&patchbay_config::masked(&config))?;
    let existing: HashMap<String, (Uuid, bool)> = store
        .list_integrations(project_id)
        .await?
        .into_iter()
        .map(|i| (i.type_name, (i.id, i.client_secret.is_some())))
        .collect();
    if !prune {
        refuse_removing_used_integrations(store, project_id, &config, &existing).await?;
    }

    let mut errors = Vec::new();
    let mut integrations = Vec::new();
    for integration in &config.integrations {
        let (id, has_secret) = existing
            .get(&integration.type_name)
            .copied()
            .unwrap_or((Uuid::new_v4(), false));
        let client_secret = match &integration.client_secret {
            ClientSecret::None => SecretUpdate::Clear,
            ClientSecret::Keep if has_secret => SecretUpdate::Keep,
            ClientSecret::Keep => {
                errors.push(patchbay_config::ConfigError::new(
                    format!("integrations.{}.clientSecret", integration.type_name),
                    "is the mask \"********\" but no client secret is stored yet; give the secret",
                ));
                SecretUpdate::Clear
            }
            ClientSecret::Set(secret) => SecretUpdate::Set(secrets::seal_str(
                keyring,
                project_id,
                id,
                secrets::CLIENT_SECRET,
                secret.expose_secret(),
            )),
        };
        integrations.push(IntegrationWrite {
            id,
            type_name: integration.type_name.clone(),
            definition: to_json(integration)?,
            client_secret,
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
    let project = store.apply_config(project_id, &write).await?;
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

/// Removing an integration deletes every account connected to it, so it
/// takes `?prune=true`.
async fn refuse_removing_used_integrations(
    store: &dyn Store,
    project_id: Uuid,
    config: &ProjectConfig,
    existing: &HashMap<String, (Uuid, bool)>,
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    for (type_name, (id, _)) in existing {
        if config
            .integrations
            .iter()
            .any(|i| &i.type_name == type_name)
        {
            continue;
        }
        let filter = CredentialFilter {
            integration_id: Some(*id),
            ..Default::default()
        };
        let accounts = store.list_credentials(project_id, &filter).await?.len();
        if accounts > 0 {
            errors.push(json!({
                "path": format!("integrations.{type_name}"),
                "message": format!("is removed but has {accounts} connected account(s); apply with ?prune=true to delete them"),
            }));
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::IntegrationInUse,
        "The document removes integrations that still have connected accounts.",
    )
    .with_meta(json!({ "errors": errors })))
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
/// (YAML or JSON).
#[utoipa::path(put, path = "/api/v1/projects/{projectId}/config", tag = "admin",
    params(("projectId" = Uuid, Path), ("prune" = Option<bool>, Query)),
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 200, body = ConfigApplied), (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn put(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    QueryParams(options): QueryParams<ApplyOptions>,
    BodyBytes(body): BodyBytes,
) -> Result<axum::Json<ConfigApplied>, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::new(ErrorCode::InvalidJson, "The document is not UTF-8 text."))?;
    let applied = apply_config(
        state.store(),
        state.engine.keyring(),
        admin.project.id,
        text,
        options.prune,
    )
    .await?;
    Ok(axum::Json(applied))
}

/// The project's configuration document, secrets shown as `********`.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/config", tag = "admin",
    params(("projectId" = Uuid, Path)),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn get(
    admin: ProjectAdmin,
    State(state): State<AppState>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let document = state.store().get_config_document(admin.project.id).await?;
    Ok(axum::Json(document.unwrap_or_else(
        || json!({"settings": {}, "integrations": {}, "workflows": []}),
    )))
}
