//! Webhooks each account registers through its own API (`webhooks.subscribe`): registered
//! once the account connects, removed when it disconnects. The registration's id is kept in
//! the account's variables, as `webhookSubscription`. A provider that cannot register or
//! remove one is logged: the account connects, or disconnects, all the same.

use patchbay_store::{CredentialChanges, CredentialRecord};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::runtime::Integration;
use crate::workflows::Workflows;
use crate::workflows::calls::{self, Call};

/// The account variable that keeps the registered webhook's id.
pub const SUBSCRIPTION_VAR: &str = "webhookSubscription";

/// Where the integration's provider sends the project's webhooks.
pub fn webhook_url(public_url: &str, project_id: Uuid, integration: &Integration) -> String {
    format!(
        "{}/webhooks/{project_id}/{}",
        public_url.trim_end_matches('/'),
        integration.config.type_name
    )
}

/// Registers `credential`'s webhook when its integration subscribes per account.
pub async fn subscribe(
    workflows: &Workflows,
    public_url: &str,
    integration: &Integration,
    credential: CredentialRecord,
) {
    let Some(subscribe) = (integration.config.provider.webhooks.as_ref())
        .and_then(|webhooks| webhooks.subscribe.as_ref())
    else {
        return;
    };
    let webhook_url = webhook_url(public_url, credential.project_id, integration);
    let context = json!({ "webhookUrl": webhook_url });
    let (project_id, id) = (credential.project_id, credential.id);
    let mut vars = credential.account_vars.clone();
    let registered = async {
        let call = Call::render(&subscribe.request, &context)?;
        let response = calls::request(workflows, integration, credential, &call)
            .await
            .map_err(|failure| failure.message)?;
        let context = json!({ "response": response });
        patchbay_oauth::render(&subscribe.id, &context)
            .map(|id| id.trim().to_owned())
            .map_err(|error| error.message)
    };
    let subscription = match registered.await {
        Ok(subscription) if !subscription.is_empty() => subscription,
        Ok(_) => {
            tracing::warn!(credential = %id, "the provider's answer to a webhook subscription has no id");
            return;
        }
        Err(error) => {
            tracing::warn!(credential = %id, %error, "the account's webhook could not be registered");
            return;
        }
    };
    if let Value::Object(vars) = &mut vars {
        vars.insert(SUBSCRIPTION_VAR.to_owned(), Value::String(subscription));
    }
    let changes = CredentialChanges {
        account_vars: Some(vars),
        ..CredentialChanges::default()
    };
    if let Err(error) = (workflows.store.credentials())
        .update_credential(project_id, id, &changes, &[])
        .await
    {
        tracing::warn!(credential = %id, %error, "an account's webhook subscription could not be kept");
    }
}

/// Removes `credential`'s registered webhook, if it has one and its integration says how.
pub async fn unsubscribe(
    workflows: &Workflows,
    public_url: &str,
    integration: &Integration,
    credential: &CredentialRecord,
) {
    let Some(unsubscribe) = (integration.config.provider.webhooks.as_ref())
        .and_then(|webhooks| webhooks.unsubscribe.as_ref())
    else {
        return;
    };
    let Some(subscription) = credential
        .account_vars
        .get(SUBSCRIPTION_VAR)
        .and_then(Value::as_str)
    else {
        return;
    };
    let context = json!({
        "webhookUrl": webhook_url(public_url, credential.project_id, integration),
        "subscription": { "id": subscription },
    });
    let removed = async {
        let call = Call::render(&unsubscribe.request, &context)?;
        calls::request(workflows, integration, credential.clone(), &call)
            .await
            .map(drop)
            .map_err(|failure| failure.message)
    };
    if let Err(error) = removed.await {
        tracing::warn!(credential = %credential.id, %error, "the account's webhook could not be removed");
    }
}
