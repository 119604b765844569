//! The document as `GET /config` shows it: every secret replaced by a mask, in a form that
//! [`crate::load`] accepts again, keeping the stored secrets ([`crate::DocumentSecret::Keep`]).
//!
//! An integration's client secret and webhook secret are the only secrets a document holds:
//! provider definitions describe how to authenticate, and the end users' credentials never
//! pass through the document.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::document::ProjectConfig;
use crate::integration::{IntegrationConfig, MASK, ProviderSource};

/// The configuration as JSON, with every secret shown as [`MASK`].
pub fn masked(config: &ProjectConfig) -> Value {
    let integrations: Map<String, Value> = config
        .integrations
        .iter()
        .map(|integration| {
            (
                integration.type_name.clone(),
                integration_document(integration),
            )
        })
        .collect();
    json!({
        "settings": to_json(&config.settings),
        "integrations": integrations,
        "workflows": to_json(&config.workflows),
    })
}

fn integration_document(integration: &IntegrationConfig) -> Value {
    let mut entry = Map::new();
    match &integration.source {
        ProviderSource::Catalogue {
            provider,
            name,
            scopes,
        } => {
            entry.insert("provider".into(), provider.clone().into());
            if let Some(name) = name {
                entry.insert("name".into(), name.clone().into());
            }
            if let Some(scopes) = scopes {
                entry.insert("scopes".into(), to_json(scopes));
            }
        }
        ProviderSource::Inline => {
            entry.insert("name".into(), integration.name.clone().into());
            if let Value::Object(definition) = to_json(&integration.provider) {
                // The identity fields of an inline provider come from the integration itself.
                let identity = ["id", "name", "categories", "docsUrl"];
                entry.extend(
                    definition
                        .into_iter()
                        .filter(|(key, _)| !identity.contains(&key.as_str())),
                );
            }
        }
    }
    if let Some(client_id) = &integration.client_id {
        entry.insert("clientId".into(), client_id.clone().into());
    }
    for (key, secret) in [
        ("clientSecret", &integration.client_secret),
        ("webhookSecret", &integration.webhook_secret),
    ] {
        if secret.is_present() {
            entry.insert(key.into(), MASK.into());
        }
    }
    if !integration.user_settings.is_empty() {
        entry.insert("userSettings".into(), to_json(&integration.user_settings));
    }
    if let Some(description) = &integration.description {
        entry.insert("description".into(), description.clone().into());
    }
    if let Some(icon) = &integration.icon {
        entry.insert("icon".into(), icon.clone().into());
    }
    if let Some(portal) = &integration.portal {
        entry.insert("portal".into(), to_json(portal));
    }
    Value::Object(entry)
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value)
        .expect("configuration types serialize to JSON: every map key is a string")
}
