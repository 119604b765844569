//! Executes one run: the steps of one workflow, for one credential, over the
//! run context, recording every step for Task History.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use futures_util::future::BoxFuture;
use futures_util::{FutureExt as _, StreamExt as _, stream};
use patchbay_config::Step;
use patchbay_store::{
    ConnectedUser, CredentialConfiguration, CredentialRecord, StepRecord, StepStatus, now,
};
use patchbay_workflow::{Redaction, Templates, run_function};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::calls::{self, Call, CallError};
use super::context::Workflows;
use crate::configurations;
use crate::runtime::{Integration, Workflow};
use crate::secrets::SealedSettings;

static TEMPLATES: LazyLock<Templates> = LazyLock::new(Templates::default);

/// What a `response` step answers a request trigger's HTTP call with.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Option<Value>,
}

/// How a run ended.
#[derive(Debug)]
pub struct RunReport {
    /// The first failure, if any: the run stops there.
    pub error: Option<String>,
    pub steps: Vec<StepRecord>,
}

/// Everything a run acts for and with.
#[derive(Debug, Clone)]
pub struct RunTarget {
    pub integration: Integration,
    pub workflow: Workflow,
    pub credential: CredentialRecord,
    /// Which of the account's configurations the run reads its settings from; one of
    /// `credential.configurations`.
    pub configuration_id: Uuid,
    pub user: ConnectedUser,
}

impl RunTarget {
    /// The run's configuration (the account's default, should it be missing: whoever builds
    /// a target checks that it names one of the account's).
    pub fn configuration(&self) -> &CredentialConfiguration {
        self.credential
            .configuration(self.configuration_id)
            .unwrap_or_else(|| self.credential.default_configuration())
    }

    /// `trigger`, `user`, `credential`, `configuration` and `settings` (the configuration's
    /// settings with this workflow's own over them, passwords opened); `steps` fills as
    /// the run goes.
    fn context(&self, trigger: &Value, sealed: &SealedSettings) -> Value {
        let configuration = self.configuration();
        let settings =
            configurations::run_settings(configuration, sealed, &self.workflow.config.id);
        json!({
            "trigger": trigger,
            "steps": {},
            "user": { "id": self.user.user_id, "meta": self.user.meta },
            "credential": {
                "id": self.credential.id,
                "externalId": self.credential.external_id,
                "providerId": self.credential.provider_id,
                "providerData": self.credential.provider_data,
            },
            "configuration": {
                "id": configuration.id,
                "externalId": self.credential.configuration_external_id(configuration),
                "meta": configuration.meta,
            },
            "settings": settings,
        })
    }
}

/// What Task History may not keep of `target`'s run: the project's own
/// redacted names, the secrets of the run's account and its configuration's passwords.
pub async fn redaction(workflows: &Workflows, target: &RunTarget) -> Redaction {
    let sealed = workflows
        .upstream
        .sealed_settings(&target.credential, target.configuration());
    let passwords = sealed.values().map(str::to_owned).collect::<Vec<_>>();
    redaction_with(
        workflows,
        &target.integration,
        &target.credential,
        passwords,
    )
    .await
}

/// What Task History may not keep of a run as `credential` of `integration`.
pub async fn redaction_for(
    workflows: &Workflows,
    integration: &Integration,
    credential: &CredentialRecord,
) -> Redaction {
    redaction_with(workflows, integration, credential, Vec::new()).await
}

async fn redaction_with(
    workflows: &Workflows,
    integration: &Integration,
    credential: &CredentialRecord,
    more_secrets: Vec<String>,
) -> Redaction {
    let names = workflows
        .runtimes
        .load_by_id(credential.project_id)
        .await
        .map(|runtime| runtime.settings.redact_fields.clone())
        .unwrap_or_default();
    let mut secrets = workflows.upstream.secret_values(integration, credential);
    secrets.extend(more_secrets);
    Redaction::new(names, secrets)
}

/// Runs `target`'s workflow. The first `response` step reached is sent on
/// `responder`; the run goes on after it.
pub async fn execute(
    workflows: &Workflows,
    target: &RunTarget,
    execution_id: Uuid,
    trigger: &Value,
    redaction: Redaction,
    responder: Option<oneshot::Sender<CustomResponse>>,
) -> RunReport {
    let run = Run {
        redaction,
        workflows,
        target,
        execution_id,
        recorder: Recorder::default(),
        responder: Mutex::new(responder),
    };
    let sealed = workflows
        .upstream
        .sealed_settings(&target.credential, target.configuration());
    let mut context = target.context(trigger, &sealed);
    let outcome = run
        .steps(&target.workflow.config.steps, &mut context, String::new())
        .await;
    RunReport {
        error: outcome.err(),
        steps: run.recorder.into_steps(),
    }
}

/// The steps recorded so far, in the order they started.
#[derive(Debug, Default)]
struct Recorder {
    started: AtomicI64,
    steps: Mutex<Vec<StepRecord>>,
}

impl Recorder {
    /// The next step's place in the order steps started.
    fn next_seq(&self) -> i64 {
        self.started.fetch_add(1, Ordering::Relaxed)
    }

    fn record(&self, step: StepRecord) {
        let mut steps = self.steps.lock().unwrap_or_else(|p| p.into_inner());
        steps.push(step);
    }

    fn into_steps(self) -> Vec<StepRecord> {
        let mut steps = self.steps.into_inner().unwrap_or_else(|p| p.into_inner());
        steps.sort_by_key(|step| step.seq);
        steps
    }
}

struct Run<'r> {
    workflows: &'r Workflows,
    target: &'r RunTarget,
    execution_id: Uuid,
    /// Applied to every step's input and output before it is recorded.
    redaction: Redaction,
    recorder: Recorder,
    responder: Mutex<Option<oneshot::Sender<CustomResponse>>>,
}

/// What one step did: its rendered input, its output, or why it failed.
struct Done {
    input: Option<Value>,
    result: Result<Value, CallError>,
}

impl Run<'_> {
    /// Runs `steps` in order over `context`; stops at the first failure.
    fn steps<'a>(
        &'a self,
        steps: &'a [Step],
        context: &'a mut Value,
        prefix: String,
    ) -> BoxFuture<'a, Result<(), String>> {
        async move {
            for step in steps {
                self.step(step, context, &prefix).await?;
            }
            Ok(())
        }
        .boxed()
    }

    async fn step(&self, step: &Step, context: &mut Value, prefix: &str) -> Result<(), String> {
        let id = format!("{prefix}{}", step.id());
        let started_at = now();
        let clock = Instant::now();
        let seq = self.recorder.next_seq();
        let done = self.perform(step, context, &id).await;
        let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status, output, error) = match done.result {
            Ok(output) => (StepStatus::Succeeded, Some(output), None),
            Err(CallError { message, output }) => (StepStatus::Failed, output, Some(message)),
        };
        if let Some(output) = &output {
            context["steps"][step.id()] = json!({ "output": output });
        }
        self.recorder.record(StepRecord {
            seq,
            step_id: id.clone(),
            status,
            input: done.input.as_ref().map(|input| self.redaction.keep(input)),
            output: output.as_ref().map(|output| self.redaction.keep(output)),
            error: error.clone(),
            started_at,
            duration_ms: Some(duration_ms),
        });
        match error {
            Some(error) => Err(format!("step `{id}` failed: {error}")),
            None => Ok(()),
        }
    }

    async fn perform(&self, step: &Step, context: &mut Value, id: &str) -> Done {
        let render_failed = |error: patchbay_workflow::TemplateError| Done {
            input: None,
            result: Err(error.to_string().into()),
        };
        match step {
            Step::Request(request) => {
                let mut call = match render_call(
                    request.method,
                    &request.path,
                    &request.query,
                    &request.headers,
                    request.body.as_ref(),
                    context,
                ) {
                    Ok(call) => call,
                    Err(error) => return render_failed(error),
                };
                // A run interrupted by a crash runs again; providers that
                // honour idempotency keys then see the same write once.
                call.headers
                    .entry("Idempotency-Key".to_owned())
                    .or_insert_with(|| format!("{}:{id}", self.execution_id));
                let result = calls::request(
                    self.workflows,
                    &self.target.integration,
                    self.target.credential.clone(),
                    &call,
                )
                .await;
                Done {
                    input: Some(call.input()),
                    result,
                }
            }
            Step::Http(http) => {
                let call = match render_call(
                    http.method,
                    &http.url,
                    &http.query,
                    &http.headers,
                    http.body.as_ref(),
                    context,
                ) {
                    Ok(call) => call,
                    Err(error) => return render_failed(error),
                };
                let result = calls::http(self.workflows, &call).await;
                Done {
                    input: Some(call.input()),
                    result,
                }
            }
            Step::Function(function) => {
                let mut limits = self.workflows.settings.function_limits;
                if let Some(ms) = function.timeout_ms {
                    limits.timeout = std::time::Duration::from_millis(ms);
                }
                let result = run_function(&function.code, context, limits)
                    .await
                    .map_err(|err| err.to_string().into());
                Done {
                    input: None,
                    result,
                }
            }
            Step::Condition(condition) => {
                let chosen = match TEMPLATES.is_true(&condition.condition, context) {
                    Ok(chosen) => chosen,
                    Err(error) => return render_failed(error),
                };
                let branch = if chosen {
                    &condition.then
                } else {
                    &condition.otherwise
                };
                let result = self
                    .steps(branch, context, String::new())
                    .await
                    .map(|()| json!({ "result": chosen }))
                    .map_err(CallError::from);
                Done {
                    input: Some(json!({ "if": condition.condition, "result": chosen })),
                    result,
                }
            }
            Step::Foreach(foreach) => {
                let items = match TEMPLATES.evaluate(&foreach.items, context) {
                    Ok(Value::Array(items)) => items,
                    Ok(Value::Null) => Vec::new(),
                    Ok(other) => {
                        return Done {
                            input: None,
                            result: Err(format!(
                                "`{}` is not a list: it is {}",
                                foreach.items,
                                patchbay_config::json_kind(&other)
                            )
                            .into()),
                        };
                    }
                    Err(error) => return render_failed(error),
                };
                let count = items.len();
                let result = self.each(foreach, items, context, id).await;
                Done {
                    input: Some(json!({ "items": count })),
                    result: result.map_err(CallError::from),
                }
            }
            Step::Response(response) => {
                let rendered = (|| {
                    let headers = response
                        .headers
                        .iter()
                        .map(|(name, value)| {
                            Ok((name.clone(), TEMPLATES.render_text(value, context)?))
                        })
                        .collect::<Result<BTreeMap<_, _>, patchbay_workflow::TemplateError>>()?;
                    let body = response
                        .body
                        .as_ref()
                        .map(|body| TEMPLATES.render_json(body, context))
                        .transpose()?;
                    Ok(CustomResponse {
                        status: response.status,
                        headers,
                        body,
                    })
                })();
                let answer = match rendered {
                    Ok(answer) => answer,
                    Err(error) => return render_failed(error),
                };
                let output = json!({ "status": answer.status, "headers": answer.headers, "body": answer.body });
                let responder = self
                    .responder
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take();
                if let Some(responder) = responder {
                    // The caller may have given up (deadline); the run goes on.
                    let _ = responder.send(answer);
                }
                Done {
                    input: None,
                    result: Ok(output),
                }
            }
        }
    }

    /// Runs a foreach's steps once per item, `concurrency` at a time; its
    /// output lists each iteration's step outputs, in item order.
    async fn each(
        &self,
        foreach: &patchbay_config::ForeachStep,
        items: Vec<Value>,
        context: &Value,
        id: &str,
    ) -> Result<Value, String> {
        let concurrency = usize::try_from(foreach.concurrency).unwrap_or(1).max(1);
        let iterations = items.into_iter().enumerate().map(|(index, item)| {
            let mut scope = context.clone();
            scope["item"] = item;
            scope["index"] = json!(index);
            scope["steps"] = context["steps"].clone();
            let prefix = format!("{id}[{index}].");
            async move {
                let before: Map<String, Value> =
                    scope["steps"].as_object().cloned().unwrap_or_default();
                self.steps(&foreach.steps, &mut scope, prefix).await?;
                let outputs: Map<String, Value> = scope["steps"]
                    .as_object()
                    .map(|all| {
                        all.iter()
                            .filter(|(key, _)| !before.contains_key(*key))
                            .map(|(key, value)| (key.clone(), value["output"].clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok::<_, String>(Value::Object(outputs))
            }
        });
        let results: Vec<Result<Value, String>> = stream::iter(iterations)
            .buffered(concurrency)
            .collect()
            .await;
        results
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }
}

fn render_call(
    method: patchbay_config::HttpMethod,
    target: &str,
    query: &BTreeMap<String, String>,
    headers: &BTreeMap<String, String>,
    body: Option<&Value>,
    context: &Value,
) -> Result<Call, patchbay_workflow::TemplateError> {
    let render_map = |map: &BTreeMap<String, String>| {
        map.iter()
            .map(|(key, value)| Ok((key.clone(), TEMPLATES.render_text(value, context)?)))
            .collect::<Result<BTreeMap<_, _>, patchbay_workflow::TemplateError>>()
    };
    Ok(Call {
        method,
        target: TEMPLATES.render_text(target, context)?,
        query: render_map(query)?,
        headers: render_map(headers)?,
        body: body
            .map(|b| TEMPLATES.render_json(b, context))
            .transpose()?,
    })
}
