//! `patchbay config validate`: the server's check of a configuration
//! document, offline, with the path of every error; `patchbay config schema`:
//! the JSON Schema of documents.

use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use crate::binary::{patchbay, run};
use crate::config_docs::documents;

/// What `patchbay config schema` prints, parsed.
fn printed_schema(dir: &Path) -> Value {
    let output = run(patchbay(dir).args(["config", "schema"]));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The errors of `document` against the printed schema, validated by a JSON
/// Schema implementation of its own; empty when it matches.
pub fn schema_errors(document: &Value) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    compiler
        .add_resource("config.schema.json", printed_schema(dir.path()))
        .unwrap();
    let index = compiler
        .compile("config.schema.json", &mut schemas)
        .unwrap();
    match schemas.validate(document, index) {
        Ok(()) => String::new(),
        Err(error) => format!("{error:#}"),
    }
}

#[test]
fn the_schema_is_printed_as_the_server_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(printed_schema(dir.path()), patchbay_config::json_schema());
    // A document of the wrong shape does not match it.
    assert!(!schema_errors(&serde_json::json!({"workflows": {"id": "x"}})).is_empty());
}

#[test]
fn every_document_in_the_reference_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    for (i, document) in documents().iter().enumerate() {
        let file = dir.path().join(format!("document-{i}.yaml"));
        std::fs::write(&file, document).unwrap();
        let output = run(patchbay(dir.path()).args(["config", "validate"]).arg(&file));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "document {i} is refused:\n{document}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("is valid"), "{stdout}");
    }
}

#[test]
fn every_error_is_printed_with_its_path_and_the_exit_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.yaml");
    std::fs::write(
        &file,
        "settings:\n  allowedOrigins: [not-an-origin]\nintegrations:\n  crm:\n    provider: no-such-provider\nextra: 1\n",
    )
    .unwrap();
    let output = run(patchbay(dir.path()).args(["config", "validate"]).arg(&file));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for path in [
        "  extra: unknown key",
        "  settings.allowedOrigins[0]: ",
        "  integrations.crm.provider: unknown provider `no-such-provider`",
    ] {
        assert!(stderr.contains(path), "no `{path}` in:\n{stderr}");
    }
    assert!(stderr.contains("3 error(s)"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn a_nul_character_is_refused_as_the_server_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nul.json");
    std::fs::write(&file, r#"{"settings": {"redactFields": ["a\u0000b"]}}"#).unwrap();
    let output = run(patchbay(dir.path()).args(["config", "validate"]).arg(&file));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("  settings.redactFields[0]: "), "{stderr}");
    assert!(stderr.contains("NUL"), "{stderr}");
}

#[test]
fn a_dash_reads_the_document_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let document = documents().into_iter().next().unwrap();
    let mut child = patchbay(dir.path())
        .args(["config", "validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(document.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let missing = run(patchbay(dir.path()).args(["config", "validate", "missing.yaml"]));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success());
    assert!(stderr.contains("reading missing.yaml"), "{stderr}");
}
