//! `patchbay providers list|show`: the catalogue offline, in the HTTP API's
//! shapes.

use std::process::Stdio;

use serde_json::Value;

use crate::binary::{patchbay, run};

fn providers(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    run(patchbay(dir.path()).arg("providers").args(args))
}

fn json_of(args: &[&str]) -> Value {
    let output = providers(args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn list_prints_a_table_or_the_apis_json() {
    let output = providers(&["list", "--category", "file-storage", "--search", "google"]);
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("ID "), "{table}");
    assert!(lines[1].starts_with("google-cloud-storage "), "{table}");
    assert!(
        lines[2].starts_with("google-drive ") && lines[2].ends_with("googledrive"),
        "{table}"
    );
    assert!(
        lines[3].starts_with("google-drive-service-account ") && lines[3].contains(" jwt_bearer "),
        "{table}"
    );

    let all = json_of(&["list", "--json"]);
    let data = all["data"].as_array().unwrap();
    assert!(data.len() >= 150, "{} providers", data.len());
    let slack = data.iter().find(|p| p["id"] == "slack").unwrap();
    assert_eq!(slack["authType"], "oauth2");
    assert_eq!(slack["paragonType"], "slack");
}

#[test]
fn show_finds_a_provider_by_id_or_paragon_type() {
    let by_alias = json_of(&["show", "microsoftTeams"]);
    assert_eq!(by_alias["id"], "microsoft-teams");
    assert_eq!(by_alias, json_of(&["show", "microsoft-teams"]));
}

#[test]
fn unknown_names_and_categories_fail_with_a_message() {
    for (args, message) in [
        (&["show", "nope"][..], "No provider \"nope\""),
        (
            &["list", "--category", "storage"][..],
            "category must be one of",
        ),
    ] {
        let output = providers(args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn a_reader_that_stops_early_is_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = patchbay(dir.path())
        .args(["providers", "list", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
