//! Storing a newly authorized account, by the multi-account rules:
//! replace the selected account, or the one already connected to the same
//! external account (no duplicates), or add a new one. Shared by the OAuth
//! callback and API-key installs.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use patchbay_api::CredentialEventDetail;
use patchbay_core::crypto::Keyring;
use patchbay_core::nul::{replace_nul, replace_nul_in};
use patchbay_store::{
    AccountReplacement, CredentialFilter, CredentialRecord, CredentialStatus, NewCredential, Store,
    StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::{EngineError, EngineResult};
use crate::events::{self, CredentialChange, Subject};
use crate::inbound::subscription;
use crate::runtime::{ACCOUNT_TYPE_VAR, Integration};
use crate::secrets::CredentialSecrets;
use crate::user_object;
use crate::workflows::{Workflows, enabled};

/// What the user asked for when starting the install; kept with an OAuth
/// install session until the callback.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallOptions {
    /// The account to replace, resolved to its id when the install started.
    #[serde(default)]
    pub selected_credential_id: Option<Uuid>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// Values of the integration's connection fields (a subdomain...).
    #[serde(default)]
    pub connection: Map<String, Value>,
    /// The account type connected with, for an integration that has account types; recorded
    /// in the account's variables.
    #[serde(default)]
    pub account_type: Option<String>,
    /// The value chosen where the account step lists several things (`account.choose`).
    #[serde(default)]
    pub choice: Option<String>,
}

/// An external account a provider has just vouched for.
#[derive(Debug)]
pub struct AuthorizedAccount {
    pub provider_id: String,
    pub provider_data: Value,
    pub secrets: CredentialSecrets,
    /// Non-secret values API URL templates need later: `token`, `callback`,
    /// `vars`, `connection`.
    pub account_vars: Value,
    pub valid_until: Option<DateTime<Utc>>,
    /// When the background refresher renews the tokens; `None` for
    /// credentials that never expire or cannot be refreshed.
    pub next_refresh_at: Option<DateTime<Utc>>,
}

impl AuthorizedAccount {
    /// What the provider said, as both backends can store it: NUL
    /// characters replaced (PostgreSQL cannot hold them), the rest as is.
    fn storable(self) -> Self {
        Self {
            provider_id: replace_nul_in(self.provider_id),
            provider_data: replace_nul(self.provider_data),
            account_vars: replace_nul(self.account_vars),
            ..self
        }
    }
}

#[derive(Debug)]
pub struct Connected {
    pub credential: CredentialRecord,
    /// The account was already connected and was updated in place (rule 4).
    pub deduplicated: bool,
}

/// Stores newly authorized accounts: the store, the keyring that seals
/// their tokens, and the workflows a new account enables.
#[derive(Debug, Clone)]
pub struct Connector {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) keyring: Arc<Keyring>,
    pub(crate) workflows: Workflows,
    /// The base of the webhook URL a new account registers, where its provider wants that.
    pub(crate) public_url: Arc<str>,
}

impl Connector {
    /// Stores `account` for `user_id` and records the event that says what
    /// happened.
    pub async fn store_account(
        &self,
        project_id: Uuid,
        user_id: &str,
        integration: &Integration,
        options: &InstallOptions,
        account: AuthorizedAccount,
    ) -> EngineResult<Connected> {
        let mut account = account.storable();
        if let (Some(account_type), Value::Object(vars)) =
            (&options.account_type, &mut account.account_vars)
        {
            vars.insert(ACCOUNT_TYPE_VAR.to_owned(), json!(account_type));
        }
        let filter = CredentialFilter {
            user_id: Some(user_id.to_owned()),
            integration_id: Some(integration.id),
            ..CredentialFilter::default()
        };
        let existing = self
            .store
            .credentials()
            .list_credentials(project_id, &filter)
            .await?;
        let same_account = existing
            .iter()
            .find(|c| c.provider_id.as_deref() == Some(&account.provider_id));
        let type_name = integration.config.type_name.as_str();

        let target = match (options.selected_credential_id, same_account) {
            (Some(selected), Some(other)) if other.id != selected => {
                return Err(EngineError::AccountAlreadyConnected {
                    integration_name: integration.config.name.clone(),
                    credential_id: other.id,
                });
            }
            (Some(selected), _) => Some((selected, false)),
            (None, Some(same)) => Some((same.id, true)),
            (None, None) => None,
        };

        if let Some((credential_id, deduplicated)) = target {
            let current = existing
                .iter()
                .find(|c| c.id == credential_id)
                .ok_or(EngineError::CredentialNotFound)?;
            let replacement = AccountReplacement {
                provider_id: Some(account.provider_id.clone()),
                provider_data: account.provider_data.clone(),
                secrets: Some(
                    account
                        .secrets
                        .seal(&self.keyring, project_id, credential_id),
                ),
                account_vars: account.account_vars.clone(),
                valid_until: account.valid_until,
                next_refresh_at: account.next_refresh_at,
            };
            let mut recorded = vec![events::credential_event(
                Subject::of(current, type_name),
                CredentialChange::Replaced,
                CredentialEventDetail {
                    deduplicated: Some(deduplicated),
                    ..Default::default()
                },
            )];
            if current.status != CredentialStatus::Valid {
                recorded.push(events::credential_event(
                    Subject::of(current, type_name),
                    CredentialChange::StatusChanged,
                    CredentialEventDetail {
                        status: Some(patchbay_api::CredentialStatus::Valid),
                        previous_status: Some(user_object::status(current.status)),
                        ..Default::default()
                    },
                ));
            }
            let credential = self
                .store
                .credentials()
                .replace_credential_account(project_id, credential_id, &replacement, &recorded)
                .await?;
            return Ok(Connected {
                credential,
                deduplicated,
            });
        }

        let id = Uuid::new_v4();
        let new = NewCredential {
            id,
            project_id,
            integration_id: integration.id,
            user_id: user_id.to_owned(),
            external_id: options.external_id.clone(),
            provider_id: Some(account.provider_id.clone()),
            provider_data: account.provider_data.clone(),
            status: CredentialStatus::Valid,
            secrets: Some(account.secrets.seal(&self.keyring, project_id, id)),
            account_vars: account.account_vars.clone(),
            valid_until: account.valid_until,
            next_refresh_at: account.next_refresh_at,
            workflow_settings: json!({}),
        };
        let subject = Subject {
            project_id,
            user_id,
            integration_id: integration.id,
            integration_type: type_name,
            credential_id: id,
        };
        let created =
            events::credential_event(subject, CredentialChange::Created, Default::default());
        match self
            .store
            .credentials()
            .insert_credential(&new, &[created])
            .await
        {
            Ok(credential) => {
                enabled::queue_newly_enabled(
                    &self.workflows,
                    None,
                    &credential,
                    credential.default_configuration().id,
                )
                .await;
                // On its own task: the install answers without waiting for the provider.
                let (workflows, public_url) =
                    (self.workflows.clone(), Arc::clone(&self.public_url));
                let (integration, account) = (integration.clone(), credential.clone());
                tokio::spawn(async move {
                    subscription::subscribe(&workflows, &public_url, &integration, account).await;
                });
                Ok(Connected {
                    credential,
                    deduplicated: false,
                })
            }
            // The same account finished connecting in another request a moment
            // ago; the label rule is the only other unique one.
            Err(StoreError::Conflict { .. }) => Err(EngineError::ExternalIdTaken),
            Err(err) => Err(err.into()),
        }
    }

    /// Disconnects `credential`: removes the webhook it registered with its provider (when
    /// its integration registers one per account; a failure is logged), then deletes it with
    /// its tokens and configuration, recording `credential.deleted`. `integration` is `None`
    /// when the account's integration is no longer configured.
    pub async fn disconnect(
        &self,
        integration: Option<&Integration>,
        credential: &CredentialRecord,
    ) -> EngineResult<()> {
        if let Some(integration) = integration {
            subscription::unsubscribe(&self.workflows, &self.public_url, integration, credential)
                .await;
        }
        let type_name = integration.map_or("", |i| i.config.type_name.as_str());
        let event = events::credential_event(
            Subject::of(credential, type_name),
            CredentialChange::Deleted,
            Default::default(),
        );
        match self
            .store
            .credentials()
            .delete_credential(credential.project_id, credential.id, &[event])
            .await
        {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound) => Err(EngineError::CredentialNotFound),
            Err(err) => Err(err.into()),
        }
    }
}
