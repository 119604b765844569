//! The JSON Schema of the configuration document, derived from the types the parser reads the
//! document into, so the two cannot drift apart. Editors use it to complete and check a
//! document as it is typed; the parser stays the authority (slugs are unique, templates
//! compile, a workflow names a declared integration, ...).

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

use crate::document::ProjectSettings;
use crate::integration::{CLIENT_KEYS, INLINE_ONLY_KEYS, IntegrationDocument};
use crate::names::SLUG_PATTERN;
use crate::provider::{AuthType, ProviderAuth};
use crate::typed::TAG;
use crate::workflow::WorkflowConfig;

/// The JSON Schema (draft 2020-12) of the configuration document.
pub fn json_schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let settings = generator.subschema_for::<ProjectSettings>();
    let integration = generator.subschema_for::<IntegrationDocument>();
    let workflow = generator.subschema_for::<WorkflowConfig>();
    let definitions = generator.take_definitions(true);
    json_schema!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Patchbay configuration document",
        "description": "A project's settings, integrations and workflows (docs/configuration.md).",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "settings": {"anyOf": [settings, {"type": "null"}]},
            "integrations": {
                "description": "Integrations by type, the name the product's code uses.",
                "type": ["object", "null"],
                "propertyNames": {"pattern": SLUG_PATTERN},
                "additionalProperties": integration,
            },
            "workflows": {"type": ["array", "null"], "items": workflow},
        },
        "$defs": definitions,
    })
    .to_value()
}

/// `auth` of an inline integration: the provider's `auth`, where an `oauth2` one may also hold
/// the project's `clientId` and `clientSecret` (the parser moves them next to `auth`).
pub(crate) fn auth_with_client(generator: &mut SchemaGenerator) -> Schema {
    let mut auth = ProviderAuth::json_schema(generator);
    let oauth2 = auth
        .get_mut("oneOf")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .find(|variant| variant["properties"][TAG]["const"] == AuthType::OAuth2.as_str());
    if let Some(Value::Object(properties)) =
        oauth2.and_then(|variant| variant.get_mut("properties"))
    {
        for key in CLIENT_KEYS {
            properties.insert(
                key.to_owned(),
                json!({
                    "type": "string",
                    "description": "May be written here or next to `auth`, not both.",
                }),
            );
        }
    }
    json_schema!({"anyOf": [auth, {"type": "null"}]})
}

/// An integration names a catalogue `provider` and has none of the inline keys, or has no
/// `provider` and the keys an inline definition needs.
pub(crate) fn catalogue_or_inline(schema: &mut Schema) {
    let refused: Map<String, Value> = INLINE_ONLY_KEYS
        .iter()
        .map(|key| ((*key).to_owned(), Value::Bool(false)))
        .collect();
    schema.insert(
        "if".to_owned(),
        json!({"properties": {"provider": {"type": "string"}}, "required": ["provider"]}),
    );
    schema.insert("then".to_owned(), json!({"properties": refused}));
    schema.insert(
        "else".to_owned(),
        json!({"required": ["name", "auth", "api"]}),
    );
}
