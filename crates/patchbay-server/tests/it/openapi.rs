//! The OpenAPI document at `/openapi.json`, judged by tools from PyPI that
//! Patchbay's code had no hand in: openapi-spec-validator checks it against
//! the OpenAPI specification (unique operation ids, described responses,
//! well-formed schemas), and schemathesis fuzzes every operation from it,
//! checking that no request gets a 5xx and every response matches the
//! schema the document gives it.

use std::process::{Command, Output};

use patchbay_api::ErrorCode;
use patchbay_test_support::{ADMIN_TOKEN, TestDb, TestProject, TestServer, backend_tests};
use reqwest::Method;
use serde_json::Value;

use crate::http::call;

const PYTHON_TOOLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python");

/// Runs the test Python with `args` off the async runtime, so the server
/// under test keeps both of its worker threads.
async fn run_python(args: Vec<String>, env: Vec<(&'static str, String)>) -> Output {
    let python = crate::python::python();
    tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .args(&args)
            .envs(env)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {python} ({err}); run scripts/test"))
    })
    .await
    .unwrap()
}

fn report(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn served_document(server: &TestServer) -> Value {
    let doc = call(Method::GET, &server.url("/openapi.json"), None, None).await;
    assert_eq!(doc.status, 200);
    doc.body
}

async fn openapi_document_passes_openapi_spec_validator(db: TestDb) {
    let server = TestServer::start(&db).await;
    let doc = served_document(&server).await;
    let file = std::env::temp_dir().join(format!("patchbay-openapi-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, doc.to_string()).unwrap();
    let output = run_python(
        vec![
            "-m".into(),
            "openapi_spec_validator".into(),
            file.display().to_string(),
        ],
        Vec::new(),
    )
    .await;
    std::fs::remove_file(&file).unwrap();
    assert!(
        output.status.success(),
        "openapi-spec-validator rejects /openapi.json (is it installed? scripts/test installs it):\n{}",
        report(&output)
    );
}

/// What the specification leaves to the API: every error an API operation
/// declares is an `ErrorBody`, whose `code` lists every code there is.
async fn openapi_errors_are_error_bodies_with_every_code(db: TestDb) {
    let server = TestServer::start(&db).await;
    let doc = served_document(&server).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let is_error = status.starts_with('4') || status.starts_with('5');
                // The OAuth callback answers a browser with a page.
                if is_error && operation["tags"][0] != "oauth" {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["ErrorBody"]["properties"]["code"]["$ref"],
        "#/components/schemas/ErrorCode"
    );
    let listed: Vec<&str> = schemas["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap())
        .collect();
    // A rejected user token carries the rejection's own code, checked below.
    for code in ErrorCode::ALL
        .iter()
        .filter(|code| !matches!(code, ErrorCode::UnauthorizedToken(_)))
    {
        assert!(
            listed.contains(&code.as_str()),
            "{} not listed",
            code.as_str()
        );
    }
    assert!(listed.contains(&"unauthorized_bad_signature"));
}

/// Operations schemathesis leaves out: the event streams (a user's and a
/// project's) never end, so a request to one can only time out; revoking keys
/// would revoke the run's own credentials (its stateful phase follows links
/// from listing keys to revoking them) and leave the rest of the run testing
/// only the 401.
const UNFUZZED_PATHS: &str = "/events/stream$";
const UNFUZZED_OPERATIONS: [&str; 2] = ["revokeSecretKey", "revokeSigningKey"];

async fn fuzzed_operations_never_fail_or_break_their_schema(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let output = run_python(
        vec![
            "-m".into(),
            "schemathesis.cli".into(),
            "--config-file".into(),
            format!("{PYTHON_TOOLS}/schemathesis.toml"),
            "run".into(),
            server.url("/openapi.json"),
            "--checks".into(),
            "not_a_server_error,response_schema_conformance".into(),
            "--exclude-path-regex".into(),
            UNFUZZED_PATHS.into(),
            "--exclude-operation-id".into(),
            UNFUZZED_OPERATIONS[0].into(),
            "--exclude-operation-id".into(),
            UNFUZZED_OPERATIONS[1].into(),
            "--max-examples".into(),
            "10".into(),
            "--seed".into(),
            "1".into(),
            "--max-time".into(),
            "90".into(),
            "--request-timeout".into(),
            "10".into(),
            "--no-color".into(),
        ],
        vec![
            ("PATCHBAY_FUZZ_PROJECT_ID", project.id.to_string()),
            ("PATCHBAY_FUZZ_SECRET_KEY", project.secret_key.clone()),
            (
                "PATCHBAY_FUZZ_USER_TOKEN",
                project.signer.mint("fuzz-user").unwrap(),
            ),
            ("PATCHBAY_FUZZ_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ],
    )
    .await;
    assert!(
        output.status.success(),
        "schemathesis found failures (is it installed? scripts/test installs it):\n{}",
        report(&output)
    );
}

backend_tests!(
    openapi_document_passes_openapi_spec_validator,
    openapi_errors_are_error_bodies_with_every_code,
    fuzzed_operations_never_fail_or_break_their_schema,
);
