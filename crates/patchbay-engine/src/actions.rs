//! Typed actions (a provider definition's `actions`): which ones a user may run, and running
//! one as an account. A run goes out through the same account client, refresh, retry and URL
//! rules as the Proxy API and workflow `request` steps, and is recorded in Task History under
//! the action's name with the account's credential id.

use std::sync::LazyLock;
use std::time::Instant;

use patchbay_config::ActionDefinition;
use patchbay_store::{ConnectedUser, CredentialRecord, StepRecord, StepStatus, Store, now};
use patchbay_workflow::Templates;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::accounts::visible_credentials;
use crate::caller::Caller;
use crate::error::{EngineError, EngineResult};
use crate::runtime::{Integration, ProjectRuntime};
use crate::workflows::Workflows;
use crate::workflows::calls::{self, Call, without_nulls};
use crate::workflows::executor::{self, RunReport};
use crate::workflows::runs::{self, RunIds};

static TEMPLATES: LazyLock<Templates> = LazyLock::new(Templates::default);

/// The `trigger.type` of an action's run in Task History.
pub const ACTION_TRIGGER: &str = "action";

/// An action of one of the project's integrations.
#[derive(Debug, Clone, Copy)]
pub struct Action<'r> {
    pub integration: &'r Integration,
    pub definition: &'r ActionDefinition,
}

/// Every action of the project's integrations, in document order.
pub fn all(runtime: &ProjectRuntime) -> impl Iterator<Item = Action<'_>> {
    runtime.integrations.iter().flat_map(|integration| {
        integration
            .config
            .provider
            .actions
            .iter()
            .map(move |definition| Action {
                integration,
                definition,
            })
    })
}

/// The integrations with actions that `caller` has accounts of (the accounts their token may
/// see), in document order, each with those accounts, oldest first.
pub async fn integrations_of<'r>(
    store: &dyn Store,
    caller: &Caller,
    runtime: &'r ProjectRuntime,
) -> EngineResult<Vec<(&'r Integration, Vec<CredentialRecord>)>> {
    let mut accounts = visible_credentials(store, caller, runtime, None).await?;
    Ok(runtime
        .integrations
        .iter()
        .filter(|integration| !integration.config.provider.actions.is_empty())
        .filter_map(|integration| {
            let (own, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut accounts)
                .into_iter()
                .partition(|account| account.integration_id == integration.id);
            accounts = rest;
            (!own.is_empty()).then_some((integration, own))
        })
        .collect())
}

/// The name an action is called by: its own, or, when another integration of the project
/// has an action of that name too (two integrations of one provider), `<integration
/// type>.<name>`, so no name stands for two actions.
pub fn tool_name(runtime: &ProjectRuntime, action: Action<'_>) -> String {
    let name = &action.definition.name;
    let shared = all(runtime)
        .filter(|other| other.definition.name == *name)
        .nth(1)
        .is_some();
    if shared {
        format!("{}.{name}", action.integration.config.type_name)
    } else {
        name.clone()
    }
}

/// The action that [`tool_name`] calls `name`.
pub fn find_tool<'r>(runtime: &'r ProjectRuntime, name: &str) -> Option<Action<'r>> {
    all(runtime).find(|action| tool_name(runtime, *action) == name)
}

/// Runs `action` as `credential` (an account of its integration) with `input`, and answers
/// its output. A bad input is refused before anything is sent; any answer of the provider,
/// and the failure of a call, is recorded in Task History.
pub async fn run(
    workflows: &Workflows,
    action: Action<'_>,
    credential: CredentialRecord,
    user: &ConnectedUser,
    input: Value,
) -> EngineResult<Value> {
    action
        .definition
        .check_input(&input)
        .map_err(EngineError::InvalidActionInput)?;
    let context = json!({ "input": input });
    let call = Call::render(&action.definition.request, &context)
        .map_err(EngineError::InvalidActionInput)?;
    let ids = RunIds {
        execution_id: Uuid::new_v4(),
        project_id: credential.project_id,
        workflow_id: action.definition.name.clone(),
        integration_id: action.integration.id,
        user_id: user.user_id.clone(),
        credential_id: credential.id,
        // An action acts as the account alone: no configuration's settings are read.
        configuration_id: None,
    };
    let redaction = executor::redaction_for(workflows, action.integration, &credential).await;
    let started_at = now();
    let clock = Instant::now();
    let called = calls::request(workflows, action.integration, credential, &call).await;
    let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (output, error, response) = match called {
        Ok(response) => match answer(action.definition, &context, &response) {
            Ok(output) => (Some(output), None, Some(response)),
            Err(message) => (None, Some(message), Some(response)),
        },
        Err(failure) => (None, Some(failure.message), failure.output),
    };
    let step = StepRecord {
        seq: 0,
        step_id: "request".to_owned(),
        status: if error.is_some() {
            StepStatus::Failed
        } else {
            StepStatus::Succeeded
        },
        input: Some(redaction.keep(&call.input())),
        output: response.as_ref().map(|response| redaction.keep(response)),
        error: error.clone(),
        started_at,
        duration_ms: Some(duration_ms),
    };
    let trigger = json!({
        "type": ACTION_TRIGGER,
        "action": action.definition.name,
        "input": context["input"],
    });
    let report = RunReport {
        error: error
            .as_ref()
            .map(|error| format!("step `request` failed: {error}")),
        steps: vec![step],
    };
    runs::record_finished(
        workflows,
        &ids,
        &trigger,
        &redaction,
        started_at,
        report,
        duration_ms,
    )
    .await?;
    match (output, error) {
        (Some(output), None) => Ok(output),
        // What Task History keeps of the answer: it may echo the account's secrets.
        (_, error) => Err(EngineError::ActionFailed {
            message: error.unwrap_or_default(),
            execution_id: ids.execution_id,
            response: response.as_ref().map(|response| redaction.keep(response)),
        }),
    }
}

/// What the action answers for a successful HTTP `response`: a failure when its `failsWhen`
/// says so, else its output.
fn answer(action: &ActionDefinition, context: &Value, response: &Value) -> Result<Value, String> {
    if let Some(expression) = &action.fails_when {
        let context = json!({ "input": context["input"], "response": response });
        let failed = TEMPLATES
            .is_true(expression, &context)
            .map_err(|error| format!("the action's failsWhen could not be read: {error}"))?;
        if failed {
            return Err(format!(
                "the provider reported a failure (`{expression}`) in its {} answer",
                response["status"]
            ));
        }
    }
    render_output(action, context, response)
}

/// What the action answers: its `output` over `{input, response}`, else the response body.
fn render_output(
    action: &ActionDefinition,
    context: &Value,
    response: &Value,
) -> Result<Value, String> {
    let Some(output) = &action.output else {
        return Ok(response["body"].clone());
    };
    let context = json!({ "input": context["input"], "response": response });
    TEMPLATES
        .render_json(output, &context)
        .map(without_nulls)
        .map_err(|error| format!("the action's output could not be made: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(body: Value, output: Option<Value>) -> ActionDefinition {
        serde_json::from_value(json!({
            "name": "SANDBOX_UPDATE_CONTACT",
            "description": "Changes a contact.",
            "input": {"type": "object", "properties": {"id": {"type": "string"}}},
            "request": {
                "method": "PATCH",
                "path": "/contacts/{{ input.id }}",
                "query": {"notify": "{{ input.notify }}", "fixed": "1"},
                "body": body,
            },
            "output": output,
        }))
        .unwrap()
    }

    #[test]
    fn inputs_not_given_are_not_sent() {
        let definition = action(
            json!({"name": "{{ input.name }}", "email": "{{ input.email }}", "tags": "{{ input.tags }}"}),
            None,
        );
        let context = json!({"input": {"id": "ct_1", "name": "Ada", "tags": ["a"]}});
        let call = Call::render(&definition.request, &context).unwrap();
        assert_eq!(call.target, "/contacts/ct_1");
        assert_eq!(call.body, Some(json!({"name": "Ada", "tags": ["a"]})));
        assert_eq!(
            call.query.into_iter().collect::<Vec<_>>(),
            [("fixed".to_owned(), "1".to_owned())]
        );
    }

    #[test]
    fn gmail_builds_a_text_message_that_no_input_can_break() {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE;
        let gmail = patchbay_config::catalogue().find("gmail").unwrap();
        let send = gmail
            .actions
            .iter()
            .find(|action| action.name == "GMAIL_SEND_TEXT_EMAIL")
            .unwrap();
        let input = json!({"to": "ana@example.com", "subject": "Été", "body": "Bonjour\nà toi", "cc": "bo@example.com"});
        assert_eq!(send.check_input(&input), Ok(()));
        let call = Call::render(&send.request, &json!({ "input": input })).unwrap();
        let raw = call.body.unwrap()["raw"].as_str().unwrap().to_owned();
        let message = String::from_utf8(URL_SAFE.decode(raw).unwrap()).unwrap();
        assert_eq!(
            message,
            "To: ana@example.com\r\nCc: bo@example.com\r\nSubject: =?UTF-8?B?w4l0w6k=?=\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nQm9uam91cgrDoCB0b2k="
        );
        let injected =
            json!({"to": "ana@example.com\r\nBcc: all@example.com", "subject": "x", "body": "y"});
        assert!(
            send.check_input(&injected)
                .unwrap_err()
                .contains("input/to")
        );
    }

    #[test]
    fn fails_when_turns_a_successful_answer_into_a_failure() {
        let mut definition = action(json!({}), None);
        definition.fails_when = Some("response.body.ok == false".to_owned());
        let context = json!({"input": {"id": "ct_1"}});
        let refused = json!({"status": 200, "headers": {}, "body": {"ok": false, "error": "channel_not_found"}});
        let error = answer(&definition, &context, &refused).unwrap_err();
        assert!(error.contains("reported a failure"), "{error}");
        let fine = json!({"status": 200, "headers": {}, "body": {"ok": true}});
        assert_eq!(
            answer(&definition, &context, &fine).unwrap(),
            json!({"ok": true})
        );
    }

    #[test]
    fn the_output_maps_the_response_or_is_its_body() {
        let response = json!({"status": 200, "headers": {}, "body": {"id": "ct_1", "noise": 1}});
        let context = json!({"input": {"id": "ct_1"}});
        let plain = action(json!({}), None);
        assert_eq!(
            render_output(&plain, &context, &response).unwrap(),
            response["body"]
        );
        let mapped = action(
            json!({}),
            Some(
                json!({"id": "{{ response.body.id }}", "asked": "{{ input.id }}", "gone": "{{ response.body.missing }}"}),
            ),
        );
        assert_eq!(
            render_output(&mapped, &context, &response).unwrap(),
            json!({"id": "ct_1", "asked": "ct_1"})
        );
    }
}
