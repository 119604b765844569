//! The MCP server at `/projects/{projectId}/mcp`: Streamable HTTP without sessions (any
//! replica answers any request), authenticated with the user token as a Bearer token. Its
//! tools are the actions of the integrations the user has accounts of, each taking an
//! optional `credentialId`, and `list_accounts`. An agent never acts as an account by
//! guesswork: with several accounts of an integration it must name one.

use std::sync::Arc;

use patchbay_config::ActionDefinition;
use patchbay_engine::actions::{self, Action};
use patchbay_engine::runtime::{Integration, ProjectRuntime};
use patchbay_engine::{Caller, Engine, EngineError};
use patchbay_store::CredentialRecord;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Value, json};

/// The tool that lists the user's accounts, and the argument every action tool takes.
const LIST_ACCOUNTS: &str = "list_accounts";
const CREDENTIAL_ID: &str = "credentialId";

/// The MCP service every replica serves: stateless, JSON answers, no host check (requests
/// carry a user token; there is no local server to protect from DNS rebinding).
#[derive(Clone)]
pub struct McpService(pub StreamableHttpService<McpTools, NeverSessionManager>);

impl std::fmt::Debug for McpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("McpService")
    }
}

pub fn service(engine: Engine) -> McpService {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .disable_allowed_hosts()
        .with_cancellation_token(engine.shutdown().child_token());
    McpService(StreamableHttpService::new(
        move || {
            Ok(McpTools {
                engine: engine.clone(),
            })
        },
        Arc::new(NeverSessionManager::default()),
        config,
    ))
}

#[derive(Debug, Clone)]
pub struct McpTools {
    engine: Engine,
}

impl ServerHandler for McpTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("patchbay", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Tools act on the user's connected accounts. Call list_accounts to see them; \
                 every other tool takes an optional credentialId, required when the user has \
                 several accounts of that tool's integration.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = caller(&context)?;
        let runtime = self.runtime(caller).await?;
        let connected = actions::integrations_of(self.engine.store().as_ref(), caller, &runtime)
            .await
            .map_err(internal)?;
        let mut tools = vec![list_accounts_tool()];
        for (integration, _) in connected {
            for definition in &integration.config.provider.actions {
                let action = Action {
                    integration,
                    definition,
                };
                tools.push(action_tool(&runtime, action));
            }
        }
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = caller(&context)?;
        let runtime = self.runtime(caller).await?;
        let mut arguments = request.arguments.unwrap_or_default();
        if request.name == LIST_ACCOUNTS {
            return Ok(self
                .list_accounts(caller, &runtime, &arguments)
                .await?
                .into());
        }
        let Some(action) = actions::find_tool(&runtime, &request.name) else {
            return Err(McpError::invalid_params(
                format!("no tool named {:?}", request.name),
                None,
            ));
        };
        let selection = match arguments.remove(CREDENTIAL_ID) {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id),
            Some(_) => {
                let message = "credentialId must be a string: an account's id from list_accounts.";
                return Ok(tool_error(message).into());
            }
        };
        let accounts = self
            .accounts_of(caller, &runtime, action.integration)
            .await?;
        let account = match choose(action.integration, &accounts, selection.as_deref()) {
            Ok(account) => account.clone(),
            Err(message) => return Ok(tool_error(message).into()),
        };
        let ran = actions::run(
            self.engine.workflows(),
            action,
            account,
            &caller.user,
            Value::Object(arguments),
        )
        .await;
        Ok(match ran {
            Ok(output) => {
                let mut result = CallToolResult::success(vec![text_of(&output)]);
                result.structured_content = output.is_object().then_some(output);
                result
            }
            Err(EngineError::ActionFailed {
                message, response, ..
            }) => {
                let detail =
                    response.map(|response| format!("\nThe provider answered: {response}"));
                tool_error(format!(
                    "The action failed: {message}.{}",
                    detail.unwrap_or_default()
                ))
            }
            Err(EngineError::InvalidActionInput(message)) => tool_error(format!(
                "The arguments do not fit the tool's input schema: {message}."
            )),
            Err(other) => return Err(internal(other)),
        }
        .into())
    }
}

impl McpTools {
    async fn runtime(&self, caller: &Caller) -> Result<Arc<ProjectRuntime>, McpError> {
        self.engine
            .runtimes()
            .load(&caller.project)
            .await
            .map_err(internal)
    }

    async fn accounts_of(
        &self,
        caller: &Caller,
        runtime: &ProjectRuntime,
        integration: &Integration,
    ) -> Result<Vec<CredentialRecord>, McpError> {
        patchbay_engine::accounts::visible_credentials(
            self.engine.store().as_ref(),
            caller,
            runtime,
            Some(integration),
        )
        .await
        .map_err(internal)
    }

    /// `list_accounts`: the user's accounts (those their token may see), of one integration
    /// when `integration` names it.
    async fn list_accounts(
        &self,
        caller: &Caller,
        runtime: &ProjectRuntime,
        arguments: &JsonObject,
    ) -> Result<CallToolResult, McpError> {
        let integration = match arguments.get("integration") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => match runtime.integration(name) {
                Some(integration) => Some(integration),
                None => {
                    return Ok(tool_error(format!(
                        "No integration {name:?} in this project."
                    )));
                }
            },
            Some(_) => return Ok(tool_error("integration must be a string.")),
        };
        let accounts = patchbay_engine::accounts::visible_credentials(
            self.engine.store().as_ref(),
            caller,
            runtime,
            integration,
        )
        .await
        .map_err(internal)?;
        let listed: Vec<Value> = accounts
            .iter()
            .map(|account| {
                json!({
                    "credentialId": account.id,
                    "integration": runtime
                        .integration_by_id(account.integration_id)
                        .map(|i| i.config.type_name.as_str()),
                    "name": account_name(account),
                    "providerId": account.provider_id,
                    "status": account.status.as_str(),
                })
            })
            .collect();
        let output = json!({ "accounts": listed });
        let mut result = CallToolResult::success(vec![text_of(&output)]);
        result.structured_content = Some(output);
        Ok(result)
    }
}

/// The account a call acts as: the one `selection` names, or the only one. Several accounts
/// and none named is an error listing them by name, so the agent (or its user) can choose:
/// an agent never acts as a default account it did not see, whatever the project's
/// `requireExplicitCredential`.
fn choose<'a>(
    integration: &Integration,
    accounts: &'a [CredentialRecord],
    selection: Option<&str>,
) -> Result<&'a CredentialRecord, String> {
    let name = &integration.config.name;
    let listing = || {
        accounts
            .iter()
            .map(|account| format!("{:?} (credentialId {})", account_name(account), account.id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(selection) = selection {
        return accounts
            .iter()
            .find(|account| account.id.to_string() == selection)
            .ok_or_else(|| {
                format!(
                    "No {name} account with credentialId {selection:?} is available; the user's \
                     {name} accounts are: {}.",
                    listing()
                )
            });
    }
    match accounts {
        [] => Err(format!("The user has no {name} account connected.")),
        [only] => Ok(only),
        _ => Err(format!(
            "The user has {} {name} accounts; pass credentialId to choose one: {}.",
            accounts.len(),
            listing()
        )),
    }
}

/// What an account is called: the name its provider gave, else its id there.
fn account_name(account: &CredentialRecord) -> String {
    account
        .provider_data
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| account.provider_id.clone())
        .unwrap_or_else(|| account.id.to_string())
}

fn list_accounts_tool() -> Tool {
    let schema = json!({
        "type": "object",
        "properties": {
            "integration": {"type": "string", "description": "Only the accounts of this integration (its type, such as `slack`)."}
        },
        "additionalProperties": false
    });
    Tool::new(
        LIST_ACCOUNTS,
        "Lists the user's connected accounts: their credentialId, integration, name and status. \
         Use a credentialId to choose which account another tool acts as.",
        object(schema),
    )
    .with_annotations(ToolAnnotations::new().read_only(true))
}

/// An action as a tool: its schema with `credentialId` added.
fn action_tool(runtime: &ProjectRuntime, action: Action<'_>) -> Tool {
    let definition: &ActionDefinition = action.definition;
    let mut schema = definition.input.clone();
    if let Some(properties) = schema
        .as_object_mut()
        .map(|schema| schema.entry("properties").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
    {
        properties.insert(
            CREDENTIAL_ID.to_owned(),
            json!({
                "type": "string",
                "description": format!(
                    "The {} account to act as (from list_accounts); required when the user has several.",
                    action.integration.config.name
                )
            }),
        );
    }
    Tool::new(
        actions::tool_name(runtime, action),
        definition.description.clone(),
        object(schema),
    )
    .with_annotations(ToolAnnotations::new().read_only(definition.read_only))
}

fn object(schema: Value) -> JsonObject {
    match schema {
        Value::Object(object) => object,
        _ => JsonObject::new(),
    }
}

fn text_of(value: &Value) -> ContentBlock {
    ContentBlock::text(value.to_string())
}

fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// The caller the endpoint authenticated, from the HTTP request the MCP service passed on.
fn caller(context: &RequestContext<RoleServer>) -> Result<&Caller, McpError> {
    context
        .extensions
        .get::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Caller>())
        .ok_or_else(|| McpError::internal_error("the request carries no authenticated user", None))
}

fn internal(error: impl std::fmt::Display) -> McpError {
    tracing::error!(%error, "an MCP request failed");
    McpError::internal_error(
        "Patchbay could not answer; the server log has the cause",
        None,
    )
}
