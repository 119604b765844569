//! The finishing touches on the OpenAPI document utoipa derives from the
//! handlers' annotations, applied once when the router is built: what the
//! annotations cannot say, or would have to repeat on every handler.

use patchbay_api::ErrorCode;
use patchbay_core::user_token::TokenError;
use serde_json::{Value, json};

/// The served document: utoipa's, with the error codes spelled out, every
/// response described, one operation id per method and the examples.
pub fn finish(openapi: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(openapi).expect("an OpenAPI document is JSON");
    add_error_codes(&mut doc);
    for (_, _, operation) in operations(&mut doc) {
        describe_responses(operation);
    }
    split_shared_operation_ids(&mut doc);
    add_examples(&mut doc);
    doc
}

/// `ErrorBody.code` is one of the stable codes, listed as the `ErrorCode`
/// schema so clients can generate an enum from it.
fn add_error_codes(doc: &mut Value) {
    let mut codes: Vec<&str> = ErrorCode::ALL
        .iter()
        .filter(|code| !matches!(code, ErrorCode::UnauthorizedToken(_)))
        .map(|code| code.as_str())
        .chain(TokenError::ALL.iter().map(TokenError::code))
        .collect();
    codes.sort_unstable();
    let schemas = &mut doc["components"]["schemas"];
    schemas["ErrorCode"] = json!({
        "type": "string",
        "description": "The stable error codes (docs/api.md); a code is never renamed once released.",
        "enum": codes,
    });
    schemas["ErrorBody"]["properties"]["code"] = json!({"$ref": "#/components/schemas/ErrorCode"});
    schemas["ErrorBody"]["example"] = json!({
        "message": "No account with id 3f0c5e8e-0a9b-4a57-9d0e-2f1b7c1d9a11 for this user.",
        "code": "credential_not_found",
        "status": 404,
    });
}

/// OpenAPI requires a description on every response; where an annotation
/// gives none, the status's reason phrase says what it means.
fn describe_responses(operation: &mut Value) {
    let Some(responses) = operation["responses"].as_object_mut() else {
        return;
    };
    for (status, response) in responses {
        let described = response["description"]
            .as_str()
            .is_some_and(|text| !text.is_empty());
        if !described {
            let reason = status
                .parse::<u16>()
                .ok()
                .and_then(|code| axum::http::StatusCode::from_u16(code).ok())
                .and_then(|code| code.canonical_reason())
                .unwrap_or("Response");
            response["description"] = Value::String(reason.to_owned());
        }
    }
}

/// A handler that serves several methods (the Proxy API) gets one
/// annotation and so one operation id; operation ids must be unique, so each
/// method's copy gets the method appended (`proxyGet`, `proxyPost`, ...).
fn split_shared_operation_ids(doc: &mut Value) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for (_, _, operation) in operations(doc) {
        if let Some(id) = operation["operationId"].as_str() {
            *seen.entry(id.to_owned()).or_default() += 1;
        }
    }
    for (_, method, operation) in operations(doc) {
        if let Some(id) = operation["operationId"].as_str()
            && seen[id] > 1
        {
            let mut suffix = method.to_owned();
            suffix[..1].make_ascii_uppercase();
            operation["operationId"] = Value::String(format!("{id}{suffix}"));
        }
    }
}

/// Examples of the main calls: operation id, where in the operation, the
/// example.
fn add_examples(doc: &mut Value) {
    const JSON_RESPONSE: &str = "content/application~1json";
    let credential = json!({
        "id": "3f0c5e8e-0a9b-4a57-9d0e-2f1b7c1d9a11",
        "projectId": "0d9a3c58-6a0e-4a3b-8a53-6f7f1f3c2b10",
        "integrationId": "7b1e0f7c-3c55-4d8e-9a3e-0c7a8d6b5e21",
        "personaId": "user-42",
        "externalId": "sales-team",
        "providerId": "0051t000001AbCd",
        "providerData": {},
        "status": "VALID",
        "isPreviewCredential": false,
        "dateCreated": "2026-01-05T10:00:00Z",
        "dateUpdated": "2026-01-05T10:00:00Z",
    });
    let examples = [
        (
            "getMe",
            format!("/responses/200/{JSON_RESPONSE}"),
            json!({
                "authenticated": true,
                "userId": "user-42",
                "meta": {"plan": "pro"},
                "resources": [],
                "integrations": {},
            }),
        ),
        (
            "installIntegration",
            format!("/requestBody/{JSON_RESPONSE}"),
            json!({
                "allowMultipleCredentials": true,
                "externalId": "sales-team",
            }),
        ),
        (
            "installIntegration",
            format!("/responses/200/{JSON_RESPONSE}"),
            json!({
                "authorizationUrl": "https://login.example.com/oauth/authorize?client_id=abc&state=xyz",
                "installSessionId": "5a2b9c1d-8e7f-4a6b-9c0d-1e2f3a4b5c6d",
            }),
        ),
        (
            "installIntegration",
            format!("/responses/201/{JSON_RESPONSE}"),
            json!({"credential": credential}),
        ),
        (
            "proxyGet",
            "/responses/200/content/*~1*".to_owned(),
            json!({
                "results": [{"id": "101", "properties": {"email": "ada@example.com"}}],
            }),
        ),
        (
            "triggerWorkflow",
            format!("/requestBody/{JSON_RESPONSE}"),
            json!({"orderId": "A-1001", "amount": 42}),
        ),
        (
            "triggerWorkflow",
            "/responses/200/content/*~1*".to_owned(),
            json!({"accepted": true, "orderId": "A-1001"}),
        ),
        (
            "triggerWorkflow",
            format!("/responses/202/{JSON_RESPONSE}"),
            json!({
                "executionId": "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e",
            }),
        ),
    ];
    for (_, _, operation) in operations(doc) {
        for (id, pointer, example) in &examples {
            if operation["operationId"] == *id {
                let content = operation
                    .pointer_mut(pointer)
                    .unwrap_or_else(|| panic!("{id} has nothing at {pointer} for its example"));
                content["example"] = example.clone();
            }
        }
    }
}

/// Every operation of the document with its path and method.
fn operations(doc: &mut Value) -> impl Iterator<Item = (&String, &String, &mut Value)> {
    doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.iter_mut())
        .flat_map(|(path, item)| {
            item.as_object_mut()
                .into_iter()
                .flat_map(|methods| methods.iter_mut())
                .filter(|(method, _)| HTTP_METHODS.contains(&method.as_str()))
                .map(move |(method, operation)| (path, method, operation))
        })
}

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
