//! Starting workflow runs from the end-user API (docs/api.md, §6): a request
//! trigger for the selected account, and app events for every enabled
//! account of the user.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use patchbay_api::{AppEventAccepted, AppEventRequest, ErrorBody, ErrorCode, TriggerAccepted};
use patchbay_config::TriggerType;
use patchbay_core::selection::{self, Operation, SelectionPolicy};
use patchbay_store::ExecutionStatus;
use serde::Deserialize;
use serde_json::{Value, json};

use patchbay_engine::EngineError;
use patchbay_engine::accounts::{selected_configuration, visible_credentials};
use patchbay_engine::configurations;
use patchbay_engine::workflows::executor::{CustomResponse, RunTarget};
use patchbay_engine::workflows::runs;

use crate::auth::ConnectUser;
use crate::error::ApiError;
use crate::extract::{BodyBytes, JsonBody, PathParams, QueryParams, refuse_nul_in};
use crate::selection::account_selection;
use crate::state::AppState;

/// How long a request trigger waits for its run to reach the `response`
/// step.
pub const RESPONSE_DEADLINE: Duration = Duration::from_secs(55);

#[derive(Debug, Deserialize)]
pub struct TriggerPath {
    #[serde(rename = "workflowId")]
    workflow_id: String,
}

/// Runs a request-trigger workflow for the selected (or default) account.
#[utoipa::path(post, path = "/projects/{projectId}/sdk/triggers/{workflowId}", operation_id = "triggerWorkflow", tag = "sdk",
    params(("projectId" = Uuid, Path), ("workflowId" = String, Path),
           ("X-Paragon-Credential" = Option<String>, Header)),
    request_body(content = serde_json::Value, description = "Any body; the run sees it as `trigger.body`"),
    responses((status = 200, description = "The workflow's `response` step", content_type = "*/*", body = serde_json::Value),
              (status = 202, body = TriggerAccepted),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 502, body = ErrorBody),
              (status = 504, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn trigger(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<TriggerPath>,
    QueryParams(query): QueryParams<BTreeMap<String, String>>,
    headers: HeaderMap,
    BodyBytes(body): BodyBytes,
) -> Result<Response, ApiError> {
    let selection = account_selection(&headers)?;
    let trigger = json!({
        "type": "request",
        "body": request_body(&body),
        "query": query,
        "headers": forwarded_headers(&headers),
    });
    refuse_nul_in(&trigger)?;
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let workflow = runtime
        .workflow(&path.workflow_id)
        .ok_or_else(|| EngineError::WorkflowNotFound(path.workflow_id.clone()))?;
    if workflow.config.trigger.trigger_type() != TriggerType::Request {
        return Err(ApiError::new(
            ErrorCode::WorkflowTriggerMismatch,
            format!(
                "Workflow \"{}\" has a `{}` trigger; only `request` workflows run from this endpoint.",
                path.workflow_id,
                workflow.config.trigger.trigger_type().as_str()
            ),
        ));
    }
    let integration = runtime
        .integration_by_id(workflow.integration_id)
        .ok_or_else(ApiError::internal)?;
    let (credential, configuration_id) = selected_configuration(
        state.store(),
        &user,
        &runtime,
        integration,
        selection,
        Operation::Use,
    )
    .await?;
    let enabled = credential
        .configuration(configuration_id)
        .is_some_and(|configuration| workflow.enabled_in(&configuration.workflow_settings));
    if !enabled
        || !workflow
            .config
            .shown_to(&Value::Object(user.user.meta.clone()))
    {
        return Err(EngineError::WorkflowNotEnabled {
            workflow_id: workflow.config.id.clone(),
            credential_id: credential.id,
        }
        .into());
    }
    let target = RunTarget {
        integration: integration.clone(),
        workflow: workflow.clone(),
        credential,
        configuration_id,
        user: user.user.clone(),
    };
    if !workflow.config.has_response_step() {
        let execution_id = runs::enqueue(state.engine.workflows(), &target, trigger, None)
            .await?
            .ok_or_else(ApiError::internal)?;
        state.engine.workflows().wake_worker();
        return Ok(accepted(execution_id));
    }
    let run = runs::start_inline(state.engine.workflows(), target, trigger).await?;
    let execution_id = run.execution_id;
    let answer = tokio::time::timeout(RESPONSE_DEADLINE, async {
        match run.response.await {
            Ok(answer) => Ok(answer),
            // The run ended without reaching a `response` step.
            Err(_) => Err(run.finished.await.ok().flatten()),
        }
    })
    .await;
    match answer {
        Ok(Ok(answer)) => Ok(custom_response(answer)),
        Ok(Err(Some(ExecutionStatus::Succeeded))) => Ok(accepted(execution_id)),
        Ok(Err(_)) => {
            let error = state
                .store()
                .workflows()
                .get_execution(user.project.id, execution_id)
                .await?
                .and_then(|(record, _)| record.error)
                .unwrap_or_else(|| "the run failed".to_owned());
            Err(ApiError::new(
                ErrorCode::WorkflowFailed,
                format!("The workflow failed before its response step: {error}"),
            )
            .with_meta(json!({ "executionId": execution_id, "error": error })))
        }
        Err(_) => Err(ApiError::new(
            ErrorCode::WorkflowTimeout,
            format!(
                "The workflow did not reach its response step within {} seconds; it goes on.",
                RESPONSE_DEADLINE.as_secs()
            ),
        )
        .with_meta(json!({ "executionId": execution_id }))),
    }
}

fn accepted(execution_id: uuid::Uuid) -> Response {
    (
        StatusCode::ACCEPTED,
        axum::Json(TriggerAccepted { execution_id }),
    )
        .into_response()
}

/// The body as JSON when it parses, else as text (empty: `null`).
fn request_body(body: &Bytes) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// The caller's headers a run may read: never its credentials.
fn forwarded_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    patchbay_proxy::request_headers(headers)
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
        .collect()
}

fn custom_response(answer: CustomResponse) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = match answer.body {
        Some(Value::String(text)) => (status, text).into_response(),
        Some(body) => (status, axum::Json(body)).into_response(),
        None => status.into_response(),
    };
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Paragon's SDK sends app events to this versioned path; it is the same
/// operation as [`app_event`], selection header included.
#[utoipa::path(post, path = "/v2/projects/{projectId}/sdk/events/trigger", operation_id = "sendAppEventV2", tag = "sdk",
    params(("projectId" = Uuid, Path), ("X-Paragon-Credential" = Option<String>, Header)),
    request_body = AppEventRequest,
    responses((status = 201, body = AppEventAccepted), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn app_event_v2(
    user: ConnectUser,
    state: State<AppState>,
    headers: HeaderMap,
    event: JsonBody<AppEventRequest>,
) -> Result<(StatusCode, axum::Json<AppEventAccepted>), ApiError> {
    app_event(user, state, headers, event).await
}

/// Fires an app event: one queued run per enabled account (or only the
/// selected one) of every workflow listening to `name`.
#[utoipa::path(post, path = "/projects/{projectId}/sdk/events/trigger", operation_id = "sendAppEvent", tag = "sdk",
    params(("projectId" = Uuid, Path), ("X-Paragon-Credential" = Option<String>, Header)),
    request_body = AppEventRequest,
    responses((status = 201, body = AppEventAccepted), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn app_event(
    user: ConnectUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(event): JsonBody<AppEventRequest>,
) -> Result<(StatusCode, axum::Json<AppEventAccepted>), ApiError> {
    if event.name.trim().is_empty() {
        return Err(ApiError::validation("name", "name must not be empty."));
    }
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let accounts = visible_credentials(state.store(), &user, &runtime, None).await?;
    // Only the selected account (or configuration) runs, when one is named: it must be one of
    // the user's, of any integration.
    let selection = account_selection(&headers)?;
    let selected = match selection.credential {
        Some(credential) => Some(
            selection::select(
                &accounts,
                Some(credential),
                Operation::Use,
                SelectionPolicy {
                    require_explicit: false,
                },
            )
            .map_err(|_| EngineError::CredentialNotFound)?
            .id,
        ),
        None => None,
    };
    let selected_configuration = match selection.configuration {
        Some(reference) => {
            let owner = accounts
                .iter()
                .filter(|account| selected.is_none_or(|id| id == account.id))
                .find_map(|account| configurations::find(account, reference).ok())
                .ok_or(EngineError::ConfigurationNotFound)?;
            Some(owner.id)
        }
        None => None,
    };
    let meta = Value::Object(user.user.meta.clone());
    let trigger = json!({ "type": "app_event", "event": event.name, "payload": event.payload });
    let mut execution_ids = Vec::new();
    for workflow in runtime.workflows.iter().filter(|w| {
        w.config.trigger.event() == Some(event.name.as_str()) && w.config.shown_to(&meta)
    }) {
        let Some(integration) = runtime.integration_by_id(workflow.integration_id) else {
            continue;
        };
        let accounts = accounts.iter().filter(|account| {
            account.integration_id == workflow.integration_id
                && selected.is_none_or(|id| id == account.id)
        });
        for account in accounts {
            let enabled = workflow
                .enabled_configurations(account)
                .filter(|c| selected_configuration.is_none_or(|id| id == c.id));
            for configuration in enabled {
                let target = RunTarget {
                    integration: integration.clone(),
                    workflow: workflow.clone(),
                    credential: account.clone(),
                    configuration_id: configuration.id,
                    user: user.user.clone(),
                };
                if let Some(id) =
                    runs::enqueue(state.engine.workflows(), &target, trigger.clone(), None).await?
                {
                    execution_ids.push(id);
                }
            }
        }
    }
    if !execution_ids.is_empty() {
        state.engine.workflows().wake_worker();
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(AppEventAccepted { execution_ids }),
    ))
}
