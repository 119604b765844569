//! The JSON Schema of the configuration document, derived from the types the parser reads the
//! document into, so the two cannot drift apart. Editors use it to complete and check a
//! document as it is typed; the parser stays the authority (slugs are unique, templates
//! compile, a workflow names a declared integration, ...).

use schemars::generate::SchemaSettings;
use schemars::json_schema;
use serde_json::Value;

use crate::document::ProjectSettings;
use crate::integration::IntegrationDocument;
use crate::names::{INTEGRATION_TYPE_PATTERN, RESERVED_INTEGRATION_TYPE};
use crate::provider::ProviderDefinition;
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
                "propertyNames": {
                    "pattern": INTEGRATION_TYPE_PATTERN,
                    "maxLength": 63,
                    "not": {"const": RESERVED_INTEGRATION_TYPE},
                },
                "additionalProperties": integration,
            },
            "workflows": {"type": ["array", "null"], "items": workflow},
        },
        "$defs": definitions,
    })
    .to_value()
}

/// The JSON Schema (draft 2020-12) of a catalogue file, `providers/schema.json`: a provider
/// definition as inline integrations have it, plus what the catalogue requires of its files
/// (categories and a brand colour).
pub fn provider_json_schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.root_schema_for::<ProviderDefinition>();
    schema.insert(
        "$id".to_owned(),
        "https://patchbay.dev/schemas/provider.schema.json".into(),
    );
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.extend(["categories", "brandColor"].map(Value::from));
    }
    schema.to_value()
}
