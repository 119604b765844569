//! Providers' webhooks: a delivery to an integration's URL is verified with the integration's
//! webhook secret, the provider's URL handshake is answered, and anything else is stored
//! together with the runs it starts (one per account it concerns and workflow enabled there
//! for its event) in one write, before the provider is told it arrived. A delivery whose
//! event id was seen before starts nothing again; one that concerns no account is kept.

mod delivery;
pub mod signature;
pub mod subscription;

use std::collections::HashMap;

use patchbay_config::{AccountField, TriggerType, WebhookAccount};
use patchbay_core::crypto::Keyring;
use patchbay_store::{
    ConnectedUser, CredentialFilter, CredentialRecord, CredentialStatus, InboundDelivery,
    InboundStatus, NewExecution, NewJob, Project, now,
};
use serde_json::{Value, json};
use uuid::Uuid;

pub use delivery::IncomingDelivery;

use crate::error::{EngineError, EngineResult};
use crate::runtime::{Integration, ProjectRuntime, Workflow};
use crate::secrets;
use crate::workflows::Workflows;
use crate::workflows::executor::RunTarget;
use crate::workflows::runs;

/// An integration's accounts are read this many at a time when a delivery is routed by a
/// field of their provider data, which no index holds.
const ACCOUNTS_PER_READ: i64 = 500;

/// What became of a delivery.
#[derive(Debug)]
pub enum Received {
    /// The provider's URL-verification handshake; answer it with this text.
    Handshake(String),
    /// Stored, with the runs it started.
    Stored(InboundDelivery),
    /// An event already received: nothing was stored or started again.
    Duplicate,
}

/// Receiving deliveries, as the engine hands it out.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'e> {
    pub(crate) workflows: &'e Workflows,
    pub(crate) keyring: &'e Keyring,
}

impl Inbound<'_> {
    /// Receives `delivery` for the integration `integration_type` of `project`.
    pub async fn receive(
        &self,
        project: &Project,
        integration_type: &str,
        delivery: &IncomingDelivery,
    ) -> EngineResult<Received> {
        let runtime = self.workflows.runtimes.load(project).await?;
        let integration = runtime
            .integration(integration_type)
            .ok_or_else(|| EngineError::IntegrationNotFound(integration_type.to_owned()))?;
        let not_configured = |why: &str| {
            EngineError::WebhooksNotConfigured(format!(
                "Integration \"{integration_type}\" takes no webhook deliveries: {why}."
            ))
        };
        let webhooks = (integration.config.provider.webhooks.as_ref())
            .ok_or_else(|| not_configured("its definition declares no `webhooks`"))?;
        let sealed = (integration.webhook_secret.as_ref())
            .ok_or_else(|| not_configured("its configuration has no `webhookSecret`"))?;
        let secret = secrets::open_str(
            self.keyring,
            project.id,
            integration.id,
            secrets::INTEGRATION_WEBHOOK_SECRET,
            sealed,
        )
        .map_err(|_| {
            EngineError::Internal("an integration's webhook secret could not be opened")
        })?;

        let mut context = delivery.context()?;
        signature::verify(
            &webhooks.signature,
            secret.as_bytes(),
            &delivery.headers,
            &mut context,
            now().timestamp(),
        )
        .map_err(|refused| EngineError::InvalidSignature(refused.0))?;

        if let Some(handshake) = &webhooks.handshake {
            let asked = patchbay_oauth::evaluate(&handshake.when, &context)
                .map_err(|error| unreadable("handshake.when", &error.message))?;
            if is_true(&asked) {
                return Ok(Received::Handshake(render(
                    &handshake.response,
                    &context,
                    "handshake.response",
                )?));
            }
        }
        let event_type = render(&webhooks.event_type, &context, "eventType")?;
        if event_type.is_empty() {
            return Err(EngineError::InvalidDelivery(
                "The delivery carries no event type: `eventType` rendered empty.".to_owned(),
            ));
        }
        let event_id = match &webhooks.event_id {
            Some(template) => {
                Some(render(template, &context, "eventId")?).filter(|id| !id.is_empty())
            }
            None => None,
        };
        let account_key = render(&webhooks.account.value, &context, "account.value")?;
        let accounts = self
            .concerned_accounts(project.id, integration, &webhooks.account, &account_key)
            .await?;

        // Time-ordered, so deliveries received in the same millisecond still list in the
        // order they came (the listing is by time, then id).
        let delivery_id = Uuid::now_v7();
        let payload = context["body"].take();
        let trigger = json!({
            "type": TriggerType::Integration.as_str(),
            "event": event_type,
            "eventId": event_id,
            "deliveryId": delivery_id,
            "payload": payload,
        });
        let runs = self
            .runs(&runtime, integration, &event_type, &accounts, &trigger)
            .await?;
        let status = match (runs.is_empty(), accounts.is_empty()) {
            (false, _) => InboundStatus::Routed,
            (true, true) => InboundStatus::Unmatched,
            (true, false) => InboundStatus::Unhandled,
        };
        let record = InboundDelivery {
            id: delivery_id,
            project_id: project.id,
            integration_id: integration.id,
            event_type,
            event_id,
            account_key,
            status,
            credential_ids: accounts.iter().map(|account| account.id).collect(),
            execution_ids: runs.iter().map(|(execution, _)| execution.id).collect(),
            payload,
            received_at: now(),
        };
        let stored = self
            .workflows
            .store
            .workflows()
            .record_inbound_delivery(&record, &runs)
            .await?;
        if !stored {
            return Ok(Received::Duplicate);
        }
        if !runs.is_empty() {
            self.workflows.wake_worker();
        }
        Ok(Received::Stored(record))
    }

    /// The valid accounts of `integration` whose `rule.field` is `key`, oldest first.
    async fn concerned_accounts(
        &self,
        project_id: Uuid,
        integration: &Integration,
        rule: &WebhookAccount,
        key: &str,
    ) -> EngineResult<Vec<CredentialRecord>> {
        if key.is_empty() {
            return Ok(Vec::new());
        }
        let credentials = self.workflows.store.credentials();
        let mut filter = CredentialFilter {
            integration_id: Some(integration.id),
            status: Some(CredentialStatus::Valid),
            ..CredentialFilter::default()
        };
        let path = match rule.account_field() {
            Some(AccountField::ProviderId) => {
                filter.provider_id = Some(key.to_owned());
                return Ok(credentials.list_credentials(project_id, &filter).await?);
            }
            Some(AccountField::ProviderData(path)) => path,
            None => {
                return Err(EngineError::Internal(
                    "a webhook routing field passed its checks unreadable",
                ));
            }
        };
        filter.limit = Some(ACCOUNTS_PER_READ);
        let mut matching = Vec::new();
        loop {
            let page = credentials.list_credentials(project_id, &filter).await?;
            let Some(last) = page.last() else { break };
            filter.after = Some((last.created_at, last.id));
            let full = page.len() as i64 == ACCOUNTS_PER_READ;
            matching.extend(page.into_iter().filter(|account| {
                field_text(&account.provider_data, path).as_deref() == Some(key)
            }));
            if !full {
                break;
            }
        }
        Ok(matching)
    }

    /// A queued run of every workflow listening to `event_type`, for each account that
    /// enabled it.
    async fn runs(
        &self,
        runtime: &ProjectRuntime,
        integration: &Integration,
        event_type: &str,
        accounts: &[CredentialRecord],
        trigger: &Value,
    ) -> EngineResult<Vec<(NewExecution, NewJob)>> {
        let listening: Vec<&Workflow> = runtime
            .workflows_of(integration.id)
            .filter(|workflow| {
                workflow.config.trigger.trigger_type() == TriggerType::Integration
                    && workflow.config.trigger.event() == Some(event_type)
            })
            .collect();
        let mut users: HashMap<&str, ConnectedUser> = HashMap::new();
        let mut runs = Vec::new();
        for account in accounts {
            for workflow in &listening {
                let configurations: Vec<Uuid> = workflow
                    .enabled_configurations(account)
                    .map(|c| c.id)
                    .collect();
                if configurations.is_empty() {
                    continue;
                }
                let user = match users.get(account.user_id.as_str()) {
                    Some(user) => user.clone(),
                    None => {
                        let Some(user) = (self.workflows.store.users())
                            .get_user(account.project_id, &account.user_id)
                            .await?
                        else {
                            continue;
                        };
                        users.insert(&account.user_id, user.clone());
                        user
                    }
                };
                if !workflow.config.shown_to(&Value::Object(user.meta.clone())) {
                    continue;
                }
                let mut target = RunTarget {
                    integration: integration.clone(),
                    workflow: (*workflow).clone(),
                    credential: account.clone(),
                    configuration_id: configurations[0],
                    user,
                };
                for configuration_id in configurations {
                    target.configuration_id = configuration_id;
                    runs.push(runs::queued_run(self.workflows, &target, trigger, None).await);
                }
            }
        }
        Ok(runs)
    }
}

fn render(template: &str, context: &Value, what: &str) -> EngineResult<String> {
    patchbay_oauth::render(template, context)
        .map(|text| text.trim().to_owned())
        .map_err(|error| unreadable(what, &error.message))
}

fn unreadable(what: &str, message: &str) -> EngineError {
    EngineError::InvalidDelivery(format!(
        "The delivery could not be read: `{what}`: {message}."
    ))
}

/// Truthy as a template condition is: not false, null, zero or empty.
fn is_true(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// The value at the dotted `path` of `data` as text: a string as it is, a number or a
/// boolean as JSON writes it, anything else as nothing.
fn field_text(data: &Value, path: &str) -> Option<String> {
    let value = path
        .split('.')
        .try_fold(data, |value, key| value.get(key))?;
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_data_fields_read_as_text() {
        let data = json!({"team": {"id": "T1", "number": 42, "on": true, "list": [1]}});
        assert_eq!(field_text(&data, "team.id").as_deref(), Some("T1"));
        assert_eq!(field_text(&data, "team.number").as_deref(), Some("42"));
        assert_eq!(field_text(&data, "team.on").as_deref(), Some("true"));
        assert_eq!(field_text(&data, "team.list"), None);
        assert_eq!(field_text(&data, "team.missing"), None);
    }

    #[test]
    fn conditions_are_true_as_templates_have_them() {
        for truthy in [
            json!(true),
            json!(1),
            json!("x"),
            json!([0]),
            json!({"a": 1}),
        ] {
            assert!(is_true(&truthy), "{truthy}");
        }
        for falsy in [
            json!(false),
            json!(0),
            json!(""),
            json!([]),
            json!({}),
            Value::Null,
        ] {
            assert!(!is_true(&falsy), "{falsy}");
        }
    }
}
