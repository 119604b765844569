//! The ActionKit-compatible API: the actions a user may run, as tool definitions, and running
//! one as the selected account. `/tools` and its earlier name `/actions` answer alike.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::HeaderMap;
use patchbay_api::{
    ActionList, ErrorBody, ErrorCode, RunActionRequest, ToolDefinition, ToolFunction, ToolList,
};
use patchbay_core::selection::Operation;
use patchbay_engine::EngineError;
use patchbay_engine::accounts::selected_credential;
use patchbay_engine::actions::{self, Action};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::ConnectUser;
use crate::error::ApiError;
use crate::extract::{JsonBody, QueryParams};
use crate::selection::account_selection;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    format: Option<String>,
}

/// The tool definitions of every action of the integrations the user has an account of.
async fn tool_definitions(
    user: &ConnectUser,
    state: &AppState,
    query: &ListQuery,
) -> Result<BTreeMap<String, Vec<ToolDefinition>>, ApiError> {
    if let Some(format) = query.format.as_deref().filter(|f| *f != "json_schema") {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("format {format:?} is not supported; the one format is json_schema."),
        ));
    }
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let integrations = actions::integrations_of(state.store(), user, &runtime).await?;
    Ok(integrations
        .into_iter()
        .map(|(integration, _)| {
            let tools = (integration.config.provider.actions.iter())
                .map(|action| ToolDefinition {
                    kind: "function".to_owned(),
                    function: ToolFunction {
                        name: actions::tool_name(
                            &runtime,
                            Action {
                                integration,
                                definition: action,
                            },
                        ),
                        description: action.description.clone(),
                        parameters: action.input.clone(),
                    },
                })
                .collect();
            (integration.config.type_name.clone(), tools)
        })
        .collect())
}

/// The actions the user may run, by integration, as tool definitions with JSON Schemas.
#[utoipa::path(get, path = "/projects/{projectId}/tools", operation_id = "listTools", tag = "actions",
    params(("projectId" = Uuid, Path), ("format" = Option<String>, Query, description = "`json_schema` (the default and only format)")),
    responses((status = 200, body = ToolList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn list_tools(
    user: ConnectUser,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<axum::Json<ToolList>, ApiError> {
    let tools = tool_definitions(&user, &state, &query).await?;
    Ok(axum::Json(ToolList { tools }))
}

/// [`list_tools`] under its earlier name.
#[utoipa::path(get, path = "/projects/{projectId}/actions", operation_id = "listActions", tag = "actions",
    params(("projectId" = Uuid, Path), ("format" = Option<String>, Query, description = "`json_schema` (the default and only format)")),
    responses((status = 200, body = ActionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn list_actions(
    user: ConnectUser,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<axum::Json<ActionList>, ApiError> {
    let actions = tool_definitions(&user, &state, &query).await?;
    Ok(axum::Json(ActionList { actions }))
}

/// Runs an action as the account `X-Paragon-Credential` names (or the default one of its
/// integration), answering its output. The run is in Task History under the action's name.
#[utoipa::path(post, path = "/projects/{projectId}/tools", operation_id = "runTool", tag = "actions",
    params(("projectId" = Uuid, Path), ("X-Paragon-Credential" = Option<String>, Header)),
    request_body = RunActionRequest,
    responses((status = 200, description = "The action's output"), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn run_tool(
    user: ConnectUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<RunActionRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let name = match (&request.tool, &request.action) {
        (Some(name), None) | (None, Some(name)) => name.clone(),
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "tool",
                "Name the action once: `tool` or `action`, not both.",
            ));
        }
        (None, None) => {
            return Err(ApiError::validation(
                "tool",
                "Name the action to run in `tool`.",
            ));
        }
    };
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let action: Action<'_> =
        actions::find_tool(&runtime, &name).ok_or(EngineError::ActionNotFound(name))?;
    let selection = account_selection(&headers)?;
    let credential = selected_credential(
        state.store(),
        &user,
        &runtime,
        action.integration,
        selection,
        Operation::Use,
    )
    .await?;
    let output = actions::run(
        state.engine.workflows(),
        action,
        credential,
        &user.user,
        Value::Object(request.parameters),
    )
    .await?;
    Ok(axum::Json(output))
}

/// [`run_tool`] under its earlier name.
#[utoipa::path(post, path = "/projects/{projectId}/actions", operation_id = "runAction", tag = "actions",
    params(("projectId" = Uuid, Path), ("X-Paragon-Credential" = Option<String>, Header)),
    request_body = RunActionRequest,
    responses((status = 200, description = "The action's output"), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn run_action(
    user: ConnectUser,
    state: State<AppState>,
    headers: HeaderMap,
    request: JsonBody<RunActionRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    run_tool(user, state, headers, request).await
}
