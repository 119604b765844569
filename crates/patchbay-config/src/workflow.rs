//! Workflows as code (docs/api.md): a trigger and steps, bound to one integration.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::errors::ConfigErrors;
use crate::http::HttpMethod;
use crate::portal::WorkflowPortal;
use crate::settings::{UserSetting, check_values};
use crate::typed::{NoFields, Tagged, deserialize_tagged};

/// The longest a function step may ask to run.
pub(crate) const MAX_FUNCTION_TIMEOUT_MS: u64 = 300_000;
/// The most items a `foreach` step may run at once.
pub(crate) const MAX_CONCURRENCY: u32 = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a workflow (a mapping)"
)]
pub struct WorkflowConfig {
    /// A slug (`sync-contacts`) or a lowercase UUID.
    #[schemars(pattern(crate::names::WORKFLOW_ID_PATTERN))]
    pub id: String,
    /// The integration type this workflow belongs to.
    pub integration: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub default_enabled: bool,
    pub trigger: Trigger,
    /// The workflow's own user settings, next to the integration's shared ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<UserSetting>,
    pub steps: Vec<Step>,
    /// How the Connect Portal shows the workflow, and to whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<WorkflowPortal>,
}

impl WorkflowConfig {
    /// Checks the complete settings object of this workflow for one account
    /// (`workflowSettings.<id>.settings`): unknown keys, types, required values, select options
    /// and patterns. Paths are `workflowSettings.<workflow id>.settings.<setting id>`.
    pub fn validate_settings(&self, value: &Map<String, Value>) -> Result<(), ConfigErrors> {
        check_values(
            &self.inputs,
            value,
            &format!("workflowSettings.{}.settings", self.id),
        )
    }

    /// Whether a step answers the HTTP call of a request trigger (anywhere in the workflow).
    pub fn has_response_step(&self) -> bool {
        fn any_in<'s>(mut steps: impl Iterator<Item = &'s Step>) -> bool {
            steps.any(|step| matches!(step, Step::Response(_)) || any_in(step.nested()))
        }
        any_in(self.steps.iter())
    }
}

/// What starts a run; tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub enum Trigger {
    /// `POST /sdk/triggers/{workflowId}`.
    Request,
    /// `POST /sdk/events/trigger` with a matching `name`.
    AppEvent(AppEventTrigger),
    /// A cron schedule, once per enabled account.
    Schedule(ScheduleTrigger),
    /// Once, when an account enables the workflow.
    IntegrationEnabled,
    /// A delivery of the integration's webhooks carrying `event`, once per account it concerns.
    Integration(IntegrationTrigger),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerType {
    Request,
    AppEvent,
    Schedule,
    IntegrationEnabled,
    Integration,
}

impl TriggerType {
    /// The document's spelling, also the store's `trigger_type` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::AppEvent => "app_event",
            Self::Schedule => "schedule",
            Self::IntegrationEnabled => "integration_enabled",
            Self::Integration => "integration",
        }
    }
}

impl Trigger {
    /// The event this workflow listens to: the app event's name of an `app_event` trigger, the
    /// provider's event type of an `integration` one.
    pub fn event(&self) -> Option<&str> {
        match self {
            Self::AppEvent(trigger) => Some(&trigger.event),
            Self::Integration(trigger) => Some(&trigger.event),
            _ => None,
        }
    }

    pub fn trigger_type(&self) -> TriggerType {
        match self {
            Self::Request => TriggerType::Request,
            Self::AppEvent(_) => TriggerType::AppEvent,
            Self::Schedule(_) => TriggerType::Schedule,
            Self::IntegrationEnabled => TriggerType::IntegrationEnabled,
            Self::Integration(_) => TriggerType::Integration,
        }
    }
}

impl Tagged for Trigger {
    type Kind = TriggerType;
    const EXPECTING: &'static str =
        "a trigger with `type: request | app_event | schedule | integration_enabled | integration`";

    fn variant<'de, D: Deserializer<'de>>(kind: TriggerType, rest: D) -> Result<Self, D::Error> {
        Ok(match kind {
            TriggerType::Request => {
                NoFields::deserialize(rest)?;
                Self::Request
            }
            TriggerType::AppEvent => Self::AppEvent(AppEventTrigger::deserialize(rest)?),
            TriggerType::Schedule => Self::Schedule(ScheduleTrigger::deserialize(rest)?),
            TriggerType::IntegrationEnabled => {
                NoFields::deserialize(rest)?;
                Self::IntegrationEnabled
            }
            TriggerType::Integration => Self::Integration(IntegrationTrigger::deserialize(rest)?),
        })
    }
}

impl<'de> Deserialize<'de> for Trigger {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_tagged(deserializer)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppEventTrigger {
    /// The app event's name, e.g. `Contact Created`.
    pub event: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegrationTrigger {
    /// The event type, as the integration's `webhooks.eventType` reads it from a delivery:
    /// `contact.created`, `message`.
    pub event: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleTrigger {
    /// Five fields (minute first) or six (second first).
    pub cron: String,
    /// An IANA time zone (`Europe/Paris`); UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// One step; tagged by `type`. Every string in a step may be a template over the run context.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Step {
    /// A call to the integration's API through the proxy, as the run's account.
    Request(RequestStep),
    /// A call to any URL (under the proxy's SSRF policy).
    Http(HttpStep),
    /// Sandboxed JavaScript.
    Function(FunctionStep),
    Condition(ConditionStep),
    Foreach(ForeachStep),
    /// The answer to a request trigger's HTTP call.
    Response(ResponseStep),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepType {
    Request,
    Http,
    Function,
    Condition,
    Foreach,
    Response,
}

impl Step {
    pub fn id(&self) -> &str {
        match self {
            Self::Request(step) => &step.id,
            Self::Http(step) => &step.id,
            Self::Function(step) => &step.id,
            Self::Condition(step) => &step.id,
            Self::Foreach(step) => &step.id,
            Self::Response(step) => &step.id,
        }
    }

    pub fn step_type(&self) -> StepType {
        match self {
            Self::Request(_) => StepType::Request,
            Self::Http(_) => StepType::Http,
            Self::Function(_) => StepType::Function,
            Self::Condition(_) => StepType::Condition,
            Self::Foreach(_) => StepType::Foreach,
            Self::Response(_) => StepType::Response,
        }
    }

    /// The steps directly nested in this one, in document order (a condition's `then` before
    /// its `else`).
    pub fn nested(&self) -> impl Iterator<Item = &Step> {
        let (first, second): (&[Step], &[Step]) = match self {
            Self::Foreach(step) => (&step.steps, &[]),
            Self::Condition(step) => (&step.then, &step.otherwise),
            _ => (&[], &[]),
        };
        first.iter().chain(second)
    }
}

impl Tagged for Step {
    type Kind = StepType;
    const EXPECTING: &'static str =
        "a step with `type: request | http | function | condition | foreach | response`";

    fn variant<'de, D: Deserializer<'de>>(kind: StepType, rest: D) -> Result<Self, D::Error> {
        Ok(match kind {
            StepType::Request => Self::Request(RequestStep::deserialize(rest)?),
            StepType::Http => Self::Http(HttpStep::deserialize(rest)?),
            StepType::Function => Self::Function(FunctionStep::deserialize(rest)?),
            StepType::Condition => Self::Condition(ConditionStep::deserialize(rest)?),
            StepType::Foreach => Self::Foreach(ForeachStep::deserialize(rest)?),
            StepType::Response => Self::Response(ResponseStep::deserialize(rest)?),
        })
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_tagged(deserializer)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestStep {
    #[schemars(pattern(crate::names::IDENTIFIER_PATTERN))]
    pub id: String,
    pub method: HttpMethod,
    /// Under the integration's API base URL.
    pub path: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpStep {
    #[schemars(pattern(crate::names::IDENTIFIER_PATTERN))]
    pub id: String,
    pub method: HttpMethod,
    pub url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FunctionStep {
    #[schemars(pattern(crate::names::IDENTIFIER_PATTERN))]
    pub id: String,
    /// JavaScript source; not a template.
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = MAX_FUNCTION_TIMEOUT_MS))]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConditionStep {
    #[schemars(pattern(crate::names::IDENTIFIER_PATTERN))]
    pub id: String,
    /// A bare minijinja expression (`steps.find.output.body.total > 0`).
    #[serde(rename = "if")]
    pub condition: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub then: Vec<Step>,
    #[serde(default, rename = "else", skip_serializing_if = "Vec::is_empty")]
    pub otherwise: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForeachStep {
    #[schemars(pattern(crate::names::IDENTIFIER_PATTERN))]
    pub id: String,
    /// A bare expression giving the list to iterate.
    pub items: String,
    /// How many items run at once, 1 to 32.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = MAX_CONCURRENCY))]
    pub concurrency: u32,
    pub steps: Vec<Step>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponseStep {
    #[schemars(pattern(crate::names::IDENTIFIER_PATTERN))]
    pub id: String,
    #[schemars(range(min = 100, max = 599))]
    pub status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl WorkflowConfig {
    /// Whether a user whose metadata is `meta` may see and use this workflow: every
    /// `portal.showWhen` condition holds (a workflow without conditions is shown to everyone).
    /// `hidden` plays no part: a hidden workflow is left out of the portal's list, not refused.
    pub fn shown_to(&self, meta: &Value) -> bool {
        self.portal.as_ref().is_none_or(|portal| {
            portal
                .show_when
                .iter()
                .all(|condition| condition.holds(meta))
        })
    }

    /// Whether the portal lists this workflow for a user whose metadata is `meta`.
    pub fn listed_for(&self, meta: &Value) -> bool {
        !self.portal.as_ref().is_some_and(|portal| portal.hidden) && self.shown_to(meta)
    }

    /// The help line the portal shows under the workflow.
    pub fn portal_help(&self) -> Option<&str> {
        self.portal
            .as_ref()
            .and_then(|portal| portal.help.as_deref())
    }
}
