//! Typed actions: one operation of a provider's API (send a message, create an issue) with a
//! name, a description and a JSON Schema of its input, run as one account. They are what AI
//! agents call as tools and what the ActionKit-compatible API runs. providers/README.md
//! documents the format.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::errors::{Report, field, index};
use crate::request::{ProviderRequest, check_request};
use crate::template::{Found, check_expression, check_json_templates, check_roots};

/// What the request of an action reads.
const REQUEST_ROOTS: [&str; 1] = ["input"];
/// What the output of an action, and its `failsWhen`, read.
const OUTPUT_ROOTS: [&str; 2] = ["input", "response"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionDefinition {
    /// Upper snake case, the provider's name first: `SLACK_SEND_MESSAGE`. Unique in the
    /// definition.
    #[schemars(pattern(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$"))]
    pub name: String,
    /// What the action does, for a person or a model choosing a tool: one or two sentences.
    #[schemars(length(min = 1))]
    pub description: String,
    /// A JSON Schema of the input: an object with `properties` (and `required`).
    #[schemars(schema_with = "object_schema")]
    pub input: Value,
    /// The call to the API as the account, a `path` under its base URL; its templates read
    /// `input`.
    pub request: ProviderRequest,
    /// What the action answers: JSON whose templates read `input` and `response` (`status`,
    /// `headers`, `body`). The response's body when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// An expression over `input` and `response`, true when the provider reports a failure
    /// in a successful HTTP answer (Slack's `response.body.ok == false`): the action then fails
    /// with that answer, as for an error status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fails_when: Option<String>,
    /// Whether the action only reads: it changes nothing at the provider.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

fn object_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "description": "A JSON Schema of type `object`.",
        "required": ["type"],
        "properties": {"type": {"const": "object"}},
    })
}

impl ActionDefinition {
    /// Checks `input` against the action's schema; the error names the first field at fault.
    pub fn check_input(&self, input: &Value) -> Result<(), String> {
        let (schemas, schema) = compile(&self.input)
            .map_err(|error| format!("the action's input schema is invalid: {error}"))?;
        schemas.validate(input, schema).map_err(|error| {
            // The innermost cause names the field; boon's own top line does not.
            let mut cause = &error;
            while let Some(next) = cause.causes.first() {
                cause = next;
            }
            let at = cause.instance_location.to_string();
            let at = if at.is_empty() {
                "input".to_owned()
            } else {
                format!("input{at}")
            };
            format!("{at}: {}", cause.kind)
        })
    }
}

/// `schema` compiled, or why it cannot be.
fn compile(schema: &Value) -> Result<(boon::Schemas, boon::SchemaIndex), String> {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let location = "urn:patchbay:action";
    compiler
        .add_resource(location, schema.clone())
        .map_err(|error| error.to_string())?;
    let index = compiler
        .compile(location, &mut schemas)
        .map_err(|error| error.to_string())?;
    Ok((schemas, index))
}

/// Checks a definition's actions: unique names, a schema that compiles as an object schema,
/// requests under the API, and templates reading only what they are given.
pub(crate) fn check_actions(actions: &[ActionDefinition], path: &str, report: &mut Report) {
    let mut seen = std::collections::HashSet::new();
    for (i, action) in actions.iter().enumerate() {
        let at = index(path, i);
        if !is_action_name(&action.name) {
            report.error(
                field(&at, "name"),
                format!(
                    "`{}` must be upper snake case with the provider's name first \
                     (`SLACK_SEND_MESSAGE`)",
                    action.name
                ),
            );
        } else if !seen.insert(action.name.as_str()) {
            report.error(
                field(&at, "name"),
                format!("`{}` is given twice", action.name),
            );
        }
        if action.description.trim().is_empty() {
            report.error(field(&at, "description"), "must not be empty");
        }
        check_input_schema(&action.input, &field(&at, "input"), report);
        let request = field(&at, "request");
        if action.request.url.is_some() {
            report.error(
                field(&request, "url"),
                "an action calls the API as its account: give a `path` under the base URL",
            );
        }
        let mut found = Found::new();
        check_request(&action.request, &request, report, &mut found);
        for (value_path, variables) in &found {
            check_roots(variables, &REQUEST_ROOTS, value_path, report);
        }
        if let Some(expression) = &action.fails_when {
            let at = field(&at, "failsWhen");
            if let Some(variables) = check_expression(expression, &at, report) {
                check_roots(&variables, &OUTPUT_ROOTS, &at, report);
            }
        }
        if let Some(output) = &action.output {
            let mut found = Found::new();
            check_json_templates(output, &field(&at, "output"), report, &mut found);
            for (value_path, variables) in &found {
                check_roots(variables, &OUTPUT_ROOTS, value_path, report);
            }
        }
    }
}

fn is_action_name(name: &str) -> bool {
    let mut words = name.split('_');
    words
        .next()
        .is_some_and(|first| first.starts_with(|c: char| c.is_ascii_uppercase()))
        && name.split('_').count() >= 2
        && name.split('_').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
}

fn check_input_schema(schema: &Value, path: &str, report: &mut Report) {
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        report.error(path, "must be a JSON Schema with `type: object`");
        return;
    }
    if let Err(error) = compile(schema) {
        report.error(path, format!("is not a valid JSON Schema: {error}"));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn action() -> ActionDefinition {
        serde_json::from_value(json!({
            "name": "SANDBOX_CREATE_CONTACT",
            "description": "Creates a contact.",
            "input": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
                "required": ["name"],
                "additionalProperties": false
            },
            "request": {"method": "POST", "path": "/contacts", "body": {"name": "{{ input.name }}"}}
        }))
        .unwrap()
    }

    #[test]
    fn input_is_checked_against_the_schema_naming_the_field() {
        let action = action();
        assert_eq!(action.check_input(&json!({"name": "Ada"})), Ok(()));
        let missing = action.check_input(&json!({})).unwrap_err();
        assert!(missing.contains("name"), "{missing}");
        let wrong = action
            .check_input(&json!({"name": "Ada", "tags": [1]}))
            .unwrap_err();
        assert!(wrong.starts_with("input/tags/0"), "{wrong}");
        let extra = action
            .check_input(&json!({"name": "Ada", "nmae": 1}))
            .unwrap_err();
        assert!(extra.contains("nmae"), "{extra}");
    }

    #[test]
    fn action_names_are_upper_snake_case_with_a_prefix() {
        for good in [
            "SLACK_SEND_MESSAGE",
            "GOOGLE_CALENDAR_CREATE_EVENT",
            "S3_PUT",
        ] {
            assert!(is_action_name(good), "{good}");
        }
        for bad in [
            "SEND",
            "slack_send",
            "SLACK__SEND",
            "_SLACK_SEND",
            "SLACK-SEND",
            "1X_Y",
        ] {
            assert!(!is_action_name(bad), "{bad}");
        }
    }
}
