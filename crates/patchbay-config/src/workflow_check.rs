//! The rules of a workflow beyond its types: ids, the trigger, templates, and which step
//! outputs a template may read.

use std::collections::{BTreeSet, HashMap};

use croner::parser::{CronParser, Year};

use crate::errors::{Report, field, index};
use crate::http::check_headers;
use crate::integration::IntegrationConfig;
use crate::names::{IDENTIFIER_RULE, WORKFLOW_ID_RULE, is_identifier, is_workflow_id};
use crate::portal::check_workflow_portal;
use crate::request::check_api_path;
use crate::settings::check_schema;
use crate::template::{
    self, Found, Variables, check_expression, check_json_templates, check_template_map, names_under,
};
use crate::urls::check_url_template;
use crate::workflow::{MAX_CONCURRENCY, MAX_FUNCTION_TIMEOUT_MS, Step, Trigger, WorkflowConfig};

/// What every run's template context holds (docs/configuration.md, "Templates").
const RUN_ROOTS: [&str; 6] = [
    "trigger",
    "steps",
    "user",
    "credential",
    "configuration",
    "settings",
];

/// What the steps inside a `foreach` read beside [`RUN_ROOTS`]: the item and its index.
const LOOP_ROOTS: [&str; 2] = ["item", "index"];

/// What a workflow is checked against: its integration, when the document declares it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Integration<'a> {
    /// Not declared in the document.
    Unknown,
    /// Declared, but its own errors left its settings unknown.
    Invalid,
    /// Declared and valid.
    Valid(&'a IntegrationConfig),
}

pub(crate) fn check_workflow(
    workflow: &WorkflowConfig,
    path: &str,
    integration: Integration<'_>,
    known_integrations: &[&str],
    report: &mut Report,
) {
    if !is_workflow_id(&workflow.id) {
        report.error(
            field(path, "id"),
            format!("`{}` {WORKFLOW_ID_RULE}", workflow.id),
        );
    }
    if matches!(integration, Integration::Unknown) {
        let message = if known_integrations.is_empty() {
            format!(
                "unknown integration `{}`: the document declares no integrations",
                workflow.integration
            )
        } else {
            format!(
                "unknown integration `{}`; the document declares `{}`",
                workflow.integration,
                known_integrations.join("`, `")
            )
        };
        report.error(field(path, "integration"), message);
    }
    check_trigger(&workflow.trigger, &field(path, "trigger"), report);
    if let (Trigger::Integration(_), Integration::Valid(integration)) =
        (&workflow.trigger, integration)
        && integration.provider.webhooks.is_none()
    {
        report.error(
            field(path, "trigger"),
            format!(
                "an `integration` trigger runs on the integration's webhooks, and `{}` \
                 declares no `webhooks`",
                workflow.integration
            ),
        );
    }

    if let Some(portal) = &workflow.portal {
        check_workflow_portal(portal, &field(path, "portal"), report);
    }
    let inputs_path = field(path, "inputs");
    check_schema(&workflow.inputs, &inputs_path, report);
    if let Integration::Valid(integration) = integration {
        for (i, input) in workflow.inputs.iter().enumerate() {
            if integration
                .user_settings
                .iter()
                .any(|setting| setting.id == input.id)
            {
                report.error(
                    field(&index(&inputs_path, i), "id"),
                    format!(
                        "`{}` is already a user setting of integration `{}`; both would be \
                         `settings.{}` in templates",
                        input.id, workflow.integration, input.id
                    ),
                );
            }
        }
    }

    let steps_path = field(path, "steps");
    if workflow.steps.is_empty() {
        report.error(&steps_path, "a workflow needs at least one step");
        return;
    }
    let mut first_use = HashMap::new();
    collect_ids(&workflow.steps, &steps_path, &mut first_use, report);
    let mut walk = Walk {
        report,
        all_ids: first_use,
        answers_request: matches!(workflow.trigger, Trigger::Request),
    };
    walk.steps(&workflow.steps, &steps_path, &[], false);
}

fn check_trigger(trigger: &Trigger, path: &str, report: &mut Report) {
    match trigger {
        Trigger::Request | Trigger::IntegrationEnabled => {}
        Trigger::AppEvent(app_event) => {
            if app_event.event.trim().is_empty() {
                report.error(
                    field(path, "event"),
                    "must not be empty: the app event's name",
                );
            }
        }
        Trigger::Integration(integration) => {
            if integration.event.trim().is_empty() {
                report.error(
                    field(path, "event"),
                    "must not be empty: the event type of a delivery",
                );
            }
        }
        Trigger::Schedule(schedule) => {
            // Five fields, or six with seconds first; a year field is not supported.
            let parser = CronParser::builder().year(Year::Disallowed).build();
            if let Err(error) = parser.parse(&schedule.cron) {
                report.error(
                    field(path, "cron"),
                    format!("invalid cron expression `{}`: {error}", schedule.cron),
                );
            }
            if let Some(timezone) = &schedule.timezone
                && timezone.parse::<chrono_tz::Tz>().is_err()
            {
                report.error(
                    field(path, "timezone"),
                    format!("unknown time zone `{timezone}`; expected an IANA name such as `Europe/Paris`"),
                );
            }
        }
    }
}

/// Records where each step id is first used, and reports ids that are malformed or reused
/// (ids are unique across the whole workflow, nested steps included).
fn collect_ids<'w>(
    steps: &'w [Step],
    path: &str,
    first_use: &mut HashMap<&'w str, String>,
    report: &mut Report,
) {
    for (i, step) in steps.iter().enumerate() {
        let at = index(path, i);
        let id = step.id();
        if !is_identifier(id) {
            report.error(field(&at, "id"), format!("`{id}` {IDENTIFIER_RULE}"));
        } else if let Some(first) = first_use.get(id) {
            report.error(
                field(&at, "id"),
                format!("duplicate step id `{id}` (first used at `{first}`)"),
            );
        } else {
            first_use.insert(id, at.clone());
        }
        match step {
            Step::Condition(condition) => {
                collect_ids(&condition.then, &field(&at, "then"), first_use, report);
                collect_ids(&condition.otherwise, &field(&at, "else"), first_use, report);
            }
            Step::Foreach(foreach) => {
                collect_ids(&foreach.steps, &field(&at, "steps"), first_use, report)
            }
            _ => {}
        }
    }
}

struct Walk<'r, 'w> {
    report: &'r mut Report,
    all_ids: HashMap<&'w str, String>,
    answers_request: bool,
}

impl<'w> Walk<'_, 'w> {
    /// Checks a list of steps. `before` holds the ids of the steps that may have run before the
    /// list starts; returns the ids defined in the list, nested ones included.
    ///
    /// A step may read the output of every step that can have finished before it: its earlier
    /// siblings and everything nested in them, and what its enclosing step could read. Not its
    /// enclosing condition or loop (unfinished), nor the other branch of a condition.
    fn steps(
        &mut self,
        steps: &'w [Step],
        path: &str,
        before: &[&'w str],
        in_foreach: bool,
    ) -> Vec<&'w str> {
        let mut visible = before.to_vec();
        let mut defined = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let at = index(path, i);
            let found = self.step(step, &at, in_foreach);
            for (value_path, variables) in &found {
                self.roots(variables, value_path, in_foreach);
                self.references(variables, value_path, &visible);
            }
            let mut inner = Vec::new();
            match step {
                Step::Condition(condition) => {
                    inner.extend(self.steps(
                        &condition.then,
                        &field(&at, "then"),
                        &visible,
                        in_foreach,
                    ));
                    inner.extend(self.steps(
                        &condition.otherwise,
                        &field(&at, "else"),
                        &visible,
                        in_foreach,
                    ));
                }
                Step::Foreach(foreach) => {
                    inner.extend(self.steps(&foreach.steps, &field(&at, "steps"), &visible, true));
                }
                _ => {}
            }
            for id in std::iter::once(step.id()).chain(inner) {
                visible.push(id);
                defined.push(id);
            }
        }
        defined
    }

    /// Checks one step's own fields; returns the templates found in them.
    fn step(&mut self, step: &Step, path: &str, in_foreach: bool) -> Found {
        let report = &mut *self.report;
        let mut found = Found::new();
        let keep = |value_path: String, variables: Option<Variables>, found: &mut Found| {
            if let Some(variables) = variables {
                found.push((value_path, variables));
            }
        };
        match step {
            Step::Request(request) => {
                let at = field(path, "path");
                keep(
                    at.clone(),
                    check_api_path(&request.path, &at, report),
                    &mut found,
                );
                check_template_map(&request.query, &field(path, "query"), report, &mut found);
                check_headers(
                    &request.headers,
                    &field(path, "headers"),
                    report,
                    &mut found,
                );
                if let Some(body) = &request.body {
                    check_json_templates(body, &field(path, "body"), report, &mut found);
                }
            }
            Step::Http(http) => {
                let at = field(path, "url");
                keep(
                    at.clone(),
                    check_url_template(&http.url, &at, report),
                    &mut found,
                );
                check_template_map(&http.query, &field(path, "query"), report, &mut found);
                check_headers(&http.headers, &field(path, "headers"), report, &mut found);
                if let Some(body) = &http.body {
                    check_json_templates(body, &field(path, "body"), report, &mut found);
                }
            }
            Step::Function(function) => {
                if function.code.trim().is_empty() {
                    report.error(
                        field(path, "code"),
                        "must not be empty: the function's JavaScript source",
                    );
                }
                if let Some(timeout) = function.timeout_ms
                    && !(1..=MAX_FUNCTION_TIMEOUT_MS).contains(&timeout)
                {
                    report.error(
                        field(path, "timeoutMs"),
                        format!("must be between 1 and {MAX_FUNCTION_TIMEOUT_MS} milliseconds"),
                    );
                }
            }
            Step::Condition(condition) => {
                let at = field(path, "if");
                keep(
                    at.clone(),
                    check_expression(&condition.condition, &at, report),
                    &mut found,
                );
                if condition.then.is_empty() && condition.otherwise.is_empty() {
                    report.error(path, "a condition needs steps in `then` or `else`");
                }
            }
            Step::Foreach(foreach) => {
                let at = field(path, "items");
                keep(
                    at.clone(),
                    check_expression(&foreach.items, &at, report),
                    &mut found,
                );
                if !(1..=MAX_CONCURRENCY).contains(&foreach.concurrency) {
                    report.error(
                        field(path, "concurrency"),
                        format!("must be between 1 and {MAX_CONCURRENCY}"),
                    );
                }
                if foreach.steps.is_empty() {
                    report.error(field(path, "steps"), "a foreach needs at least one step");
                }
            }
            Step::Response(response) => {
                if !self.answers_request {
                    report.error(
                        field(path, "type"),
                        "a `response` step answers the HTTP call of a `request` trigger; this \
                         workflow has another trigger",
                    );
                } else if in_foreach {
                    report.error(
                        field(path, "type"),
                        "a `response` step cannot be inside a foreach: a call is answered once",
                    );
                }
                if !(100..=599).contains(&response.status) {
                    report.error(
                        field(path, "status"),
                        "must be an HTTP status between 100 and 599",
                    );
                }
                check_headers(
                    &response.headers,
                    &field(path, "headers"),
                    report,
                    &mut found,
                );
                if let Some(body) = &response.body {
                    check_json_templates(body, &field(path, "body"), report, &mut found);
                }
            }
        }
        found
    }

    /// Reports every top-level name that a run's context does not have: `respnse.body` would
    /// otherwise render as nothing on every run instead of failing once, here.
    fn roots(&mut self, variables: &Variables, path: &str, in_foreach: bool) {
        let loop_roots: &[&str] = if in_foreach { &LOOP_ROOTS } else { &[] };
        for root in template::roots(variables) {
            if RUN_ROOTS.contains(&root) || loop_roots.contains(&root) {
                continue;
            }
            let message = if LOOP_ROOTS.contains(&root) {
                format!("unknown variable `{root}`: only steps inside a foreach have it")
            } else {
                let known: Vec<&str> = RUN_ROOTS.iter().chain(loop_roots).copied().collect();
                format!(
                    "unknown variable `{root}`: templates here read `{}`",
                    known.join("`, `")
                )
            };
            self.report.error(path, message);
        }
    }

    /// Reports every `steps.<id>` that names no step, or one that cannot have run yet.
    fn references(&mut self, variables: &Variables, path: &str, visible: &[&str]) {
        let named: BTreeSet<&str> = names_under(variables, "steps").collect();
        for id in named {
            if visible.contains(&id) {
                continue;
            }
            let message = match self.all_ids.get(id) {
                Some(at) => format!(
                    "unknown step `{id}` here: the step at `{at}` does not run before this one"
                ),
                None => format!("unknown step `{id}`"),
            };
            self.report.error(path, message);
        }
    }
}
