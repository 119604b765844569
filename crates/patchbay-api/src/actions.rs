//! Typed actions, as the ActionKit-compatible API lists and runs them (docs/api.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One action as a tool definition: the shape models' function calling takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ToolDefinition {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: String,
    pub function: ToolFunction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ToolFunction {
    /// The action's name, `SLACK_SEND_MESSAGE`.
    pub name: String,
    pub description: String,
    /// The JSON Schema of the action's input.
    pub parameters: serde_json::Value,
}

/// `GET /projects/{projectId}/tools`: the actions of every integration the user has an
/// account of, by integration type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ToolList {
    pub tools: BTreeMap<String, Vec<ToolDefinition>>,
}

/// `GET /projects/{projectId}/actions`: the same list under its earlier name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActionList {
    pub actions: BTreeMap<String, Vec<ToolDefinition>>,
}

/// `POST /projects/{projectId}/tools` (or `/actions`): the action to run, by `tool` or by
/// its earlier name `action`, and its input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunActionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default)]
    pub parameters: serde_json::Map<String, serde_json::Value>,
}
