//! `GET /config.schema.json`: the JSON Schema of configuration documents
//! (docs/configuration.md), for editors that complete and check a document
//! as it is typed. Public: it describes the format and holds nothing of any
//! project.

use std::sync::LazyLock;

use axum::response::Response;

use crate::handlers::browser::public_file;

/// Generated once: the schema only changes with the binary.
static SCHEMA: LazyLock<String> = LazyLock::new(|| {
    serde_json::to_string_pretty(&patchbay_config::json_schema()).expect("a JSON Schema is JSON")
});

/// The JSON Schema (draft 2020-12) of configuration documents, as
/// `patchbay config schema` prints it.
#[utoipa::path(get, path = "/config.schema.json", operation_id = "getConfigSchema", tag = "configuration",
    responses((status = 200, content_type = "application/schema+json", body = Object)))]
pub async fn schema() -> Response {
    public_file("application/schema+json", SCHEMA.clone())
}
