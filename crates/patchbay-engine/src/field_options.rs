//! The options of a user setting that lists them from the account's own API (a
//! `dynamic_select`, a `combo`, a `field_mapping`): its `source` request rendered over the
//! user's search, the page's cursor and a combo's first value, sent as the account through
//! [`Upstream::call_as_account`] (the Proxy API's authentication, refresh, retry and URL rules),
//! and its answer read into `{label, value}` options and the next page's cursor.

use std::sync::LazyLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use http_body_util::{BodyExt as _, Limited};
use patchbay_api::FieldOption;
use patchbay_config::{OptionsSource, SettingType, UserSetting};
use patchbay_oauth::OAuthError;
use patchbay_store::CredentialRecord;
use patchbay_workflow::Templates;
use serde_json::{Value, json};

use crate::error::EngineError;
use crate::runtime::{Integration, ProjectRuntime};
use crate::upstream::{self, AccountRequest, ReplayableBody, Upstream};
use crate::workflows::calls::Call;

static TEMPLATES: LazyLock<Templates> = LazyLock::new(Templates::default);

/// The most of a provider's answer read for one page of options.
const ANSWER_LIMIT: usize = 4 * 1024 * 1024;

/// Which options are asked for, and what the source's templates read.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionsQuery<'q> {
    /// The setting's id: one of the integration's `userSettings`, or of the workflow's `inputs`
    /// when `workflow` is given.
    pub setting: &'q str,
    pub workflow: Option<&'q str>,
    /// What the user typed in the field's search box (`search`); empty when nothing.
    pub search: &'q str,
    /// The page asked for (`cursor`): empty for the first, then a `nextCursor` answered.
    pub cursor: &'q str,
    /// A combo's first value (`main`): given and not empty, the combo's second field's options
    /// are listed; read by no other type.
    pub main: Option<&'q str>,
}

/// One page of options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOptions {
    pub options: Vec<FieldOption>,
    /// The cursor of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// Why no options could be listed.
#[derive(Debug, thiserror::Error)]
pub enum FieldOptionsError {
    /// No setting by that id where it was looked for.
    #[error("{}", setting_not_found(setting, workflow.as_deref()))]
    SettingNotFound {
        setting: String,
        workflow: Option<String>,
    },
    /// A setting whose options are not listed from the API (a `text`, a `select`).
    #[error(
        "Setting \"{setting}\" is a {kind} setting; only dynamic_select, combo and \
         field_mapping settings list options from the account's API."
    )]
    NoSource { setting: String, kind: &'static str },
    /// The account, the workflow or the provider failed, said as everywhere else: an unknown
    /// workflow, an account to reconnect, a provider that cannot be reached, times out, answers
    /// with an error status or without a list where `items` points.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn setting_not_found(setting: &str, workflow: Option<&str>) -> String {
    match workflow {
        Some(workflow) => format!("Workflow \"{workflow}\" has no input \"{setting}\"."),
        None => format!("The integration has no user setting \"{setting}\"."),
    }
}

/// The setting `query` names for an account of `integration`, with the user's metadata deciding
/// which workflows are theirs (a workflow not shown to them reads as one that does not exist).
pub fn find_setting<'r>(
    runtime: &'r ProjectRuntime,
    integration: &'r Integration,
    user_meta: &Value,
    query: &OptionsQuery<'_>,
) -> Result<&'r UserSetting, FieldOptionsError> {
    let settings = match query.workflow {
        None => &integration.config.user_settings,
        Some(id) => {
            let workflow = runtime
                .integration_workflow(integration.id, id)
                .filter(|workflow| workflow.config.shown_to(user_meta))
                .ok_or_else(|| EngineError::WorkflowNotFound(id.to_owned()))?;
            &workflow.config.inputs
        }
    };
    settings
        .iter()
        .find(|setting| setting.id == query.setting)
        .ok_or_else(|| FieldOptionsError::SettingNotFound {
            setting: query.setting.to_owned(),
            workflow: query.workflow.map(str::to_owned),
        })
}

/// Lists one page of the options of the setting `query` names, asking the integration's API as
/// `credential` (one of the caller's accounts: the caller's visibility is checked before).
pub async fn list(
    upstream: &Upstream,
    runtime: &ProjectRuntime,
    credential: CredentialRecord,
    user_meta: &Value,
    query: &OptionsQuery<'_>,
) -> Result<FieldOptions, FieldOptionsError> {
    let integration =
        runtime
            .integration_by_id(credential.integration_id)
            .ok_or(EngineError::Internal(
                "an account of an integration not applied",
            ))?;
    let setting = find_setting(runtime, integration, user_meta, query)?;
    let main = query.main.filter(|main| !main.is_empty());
    let part = match (setting.kind, main) {
        (SettingType::Combo, Some(_)) => Some(patchbay_config::DEPENDENT),
        _ => None,
    };
    let source = setting
        .options_source(part)
        .ok_or_else(|| FieldOptionsError::NoSource {
            setting: setting.id.clone(),
            kind: setting.kind.as_str(),
        })?;
    let context = json!({
        "search": query.search,
        "cursor": query.cursor,
        "main": main.unwrap_or_default(),
    });
    let body = ask(upstream, integration, credential, source, &context).await?;
    Ok(read_options(source, &context, &body)?)
}

/// Sends `source`'s request as the account and answers the body of a successful answer (JSON
/// when it parses, else its text).
async fn ask(
    upstream: &Upstream,
    integration: &Integration,
    credential: CredentialRecord,
    source: &OptionsSource,
    context: &Value,
) -> Result<Value, EngineError> {
    let call = Call::render(&source.request(), context)
        .map_err(|error| unusable(format!("the options' request could not be made: {error}")))?;
    let query = (!call.query.is_empty()).then(|| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&call.query)
            .finish()
    });
    let target = upstream::api_url(
        integration,
        &credential,
        call.target.trim_start_matches('/'),
        query.as_deref(),
    )?;
    let method = Method::from_bytes(call.method.as_str().as_bytes()).unwrap_or(Method::GET);
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let response = upstream
        .call_as_account(
            integration,
            credential,
            AccountRequest {
                method: &method,
                target: &target,
                headers: &headers,
                body: &ReplayableBody::kept(Bytes::new()),
                affinity: None,
            },
        )
        .await?;
    let status = response.status();
    if !status.is_success() {
        return Err(EngineError::Provider(OAuthError::UnexpectedStatus {
            status: status.as_u16(),
            retry_after: None,
        }));
    }
    let bytes = Limited::new(response.into_body(), ANSWER_LIMIT)
        .collect()
        .await
        .map_err(|_| {
            unusable(format!(
                "the answer could not be read, or is larger than {} MiB",
                ANSWER_LIMIT / (1024 * 1024)
            ))
        })?
        .to_bytes();
    Ok(serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())))
}

/// The options and next cursor `source` reads from an answer's `body`.
fn read_options(
    source: &OptionsSource,
    context: &Value,
    body: &Value,
) -> Result<FieldOptions, EngineError> {
    let mut scope = context.clone();
    scope["body"] = body.clone();
    let items = match TEMPLATES.evaluate(&source.items, &scope) {
        Ok(Value::Array(items)) => items,
        Ok(Value::Null) => Vec::new(),
        Ok(other) => {
            return Err(unusable(format!(
                "`{}` is not a list in the answer (it is {})",
                source.items,
                patchbay_config::json_kind(&other)
            )));
        }
        Err(error) => return Err(unusable(error.to_string())),
    };
    let next_cursor = match &source.next_cursor {
        None => None,
        Some(expression) => match TEMPLATES.evaluate(expression, &scope) {
            Ok(Value::String(text)) => Some(text).filter(|text| !text.is_empty()),
            Ok(Value::Number(number)) => Some(number.to_string()),
            Ok(_) => None,
            Err(error) => return Err(unusable(error.to_string())),
        },
    };
    scope["body"] = Value::Null;
    let mut options = Vec::with_capacity(items.len());
    for item in items {
        scope["item"] = item;
        let text = |template: &str| {
            TEMPLATES
                .render_text(template, &scope)
                .map(|text| text.trim().to_owned())
                .map_err(|error| unusable(error.to_string()))
        };
        let value = text(&source.value)?;
        if value.is_empty() {
            continue;
        }
        let label = Some(text(&source.label)?)
            .filter(|label| !label.is_empty())
            .unwrap_or_else(|| value.clone());
        options.push(FieldOption { label, value });
    }
    Ok(FieldOptions {
        options,
        next_cursor,
    })
}

/// An answer the source cannot read: a provider failure, as the Proxy API reports one.
fn unusable(detail: String) -> EngineError {
    EngineError::Provider(OAuthError::InvalidResponse(format!(
        "the options could not be read: {detail}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(next_cursor: Option<&str>) -> OptionsSource {
        serde_json::from_value(json!({
            "path": "/contacts",
            "items": "body.data",
            "value": "{{ item.id }}",
            "label": "{{ item.name }}",
            "nextCursor": next_cursor,
        }))
        .unwrap()
    }

    fn context() -> Value {
        json!({"search": "", "cursor": "", "main": ""})
    }

    #[test]
    fn items_become_options_skipping_those_without_a_value() {
        let body = json!({"data": [
            {"id": "ct_1", "name": "Ada"},
            {"id": " ct_2 ", "name": ""},
            {"name": "no id"},
        ], "next": "c2"});
        let read = read_options(&source(Some("body.next")), &context(), &body).unwrap();
        assert_eq!(
            read.options,
            [
                FieldOption {
                    label: "Ada".into(),
                    value: "ct_1".into()
                },
                FieldOption {
                    label: "ct_2".into(),
                    value: "ct_2".into()
                },
            ]
        );
        assert_eq!(read.next_cursor.as_deref(), Some("c2"));
    }

    #[test]
    fn the_next_cursor_is_text_and_absent_on_the_last_page() {
        let page = |next: Value| {
            let body = json!({"data": [], "next": next});
            read_options(&source(Some("body.next")), &context(), &body)
                .unwrap()
                .next_cursor
        };
        assert_eq!(page(json!(20)), Some("20".to_owned()));
        assert_eq!(page(json!(null)), None);
        assert_eq!(page(json!("")), None);
        assert_eq!(page(json!(false)), None);
        let body = json!({"data": [], "next": "x"});
        let without = read_options(&source(None), &context(), &body).unwrap();
        assert_eq!(without.next_cursor, None);
    }

    #[test]
    fn an_answer_without_a_list_is_a_provider_failure() {
        let error = read_options(&source(None), &context(), &json!({"data": "oops"}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("`body.data` is not a list"), "{error}");
        let empty = read_options(&source(None), &context(), &json!({})).unwrap();
        assert!(empty.options.is_empty(), "a missing list is an empty one");
    }
}
