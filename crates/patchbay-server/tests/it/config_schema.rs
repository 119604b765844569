//! `GET /config.schema.json`: the JSON Schema of configuration documents,
//! public, for editors and for checks before a document is applied.

use patchbay_test_support::{TestDb, TestServer, backend_tests};
use reqwest::Method;

use crate::http::call;

async fn the_schema_is_served_without_credentials(db: TestDb) {
    let server = TestServer::start(&db).await;
    let reply = call(Method::GET, &server.url("/config.schema.json"), None, None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let header = |name: &str| {
        reply
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/schema+json");
    // Editors and pages on any origin may fetch it.
    assert_eq!(header("access-control-allow-origin"), "*");
    assert_eq!(
        reply.body,
        patchbay_config::json_schema(),
        "what `patchbay config schema` prints"
    );
    assert_eq!(
        reply.body["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(reply.body["$defs"]["WorkflowConfig"].is_object());

    let openapi = call(Method::GET, &server.url("/openapi.json"), None, None).await;
    let operation = &openapi.body["paths"]["/config.schema.json"]["get"];
    assert_eq!(operation["operationId"], "getConfigSchema");
    assert!(
        operation["security"].is_null(),
        "needs no credentials: {operation}"
    );
}

backend_tests!(the_schema_is_served_without_credentials);
