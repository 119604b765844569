//! Broken documents: each names the exact path of its error and a fragment of the message, and
//! has no other error (a mistake is reported once, not echoed by the checks after it).

use patchbay_config::load;
use serde::Deserialize;

use crate::support::list;

/// One document of the corpus in `tests/broken/documents.yaml`.
#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    document: String,
    path: String,
    message: String,
}

/// The corpus lives in a data file because patchbay-server applies the same documents over HTTP.
fn cases() -> Vec<Case> {
    serde_norway::from_str(include_str!("../broken/documents.yaml")).unwrap()
}

#[test]
fn each_broken_document_reports_its_one_error_at_its_path() {
    let cases = cases();
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        match load(&case.document) {
            Ok(_) => failures.push(format!(
                "{}: loaded, expected `{}: …{}…`",
                case.name, case.path, case.message
            )),
            Err(errors) => {
                let matched = errors.iter().any(|error| {
                    error.path == case.path && error.message.contains(case.message.as_str())
                });
                if !matched || errors.len() != 1 {
                    failures.push(format!(
                        "{}: expected only `{}: …{}…`, got:\n    {}",
                        case.name,
                        case.path,
                        case.message,
                        list(&errors).replace('\n', "\n    ")
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn independent_errors_are_all_reported() {
    let document = r#"
settings:
  allowedOrigins: ["https://app.example.com/"]
integrations:
  chat:
    provider: slack
    clientId: a
  pay:
    provider: stripe
workflows:
  - id: wf
    integration: pay
    trigger: {type: schedule, cron: "every day"}
    steps:
      - {id: a, type: function, code: "return 1;"}
"#;
    let errors = load(document).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "settings.allowedOrigins[0]",
            "integrations.chat.clientSecret",
            "workflows[0].trigger.cron"
        ],
        "{}",
        list(&errors)
    );
}

#[test]
fn a_yaml_syntax_error_gives_line_and_column() {
    let errors = load("settings:\n  allowedOrigins: [\"a\"\nintegrations: {}\n").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.0[0].path, "");
    assert!(
        errors.0[0].message.starts_with("invalid YAML: "),
        "{}",
        errors.0[0].message
    );
    assert!(
        errors.0[0].message.contains("line 3 column"),
        "{}",
        errors.0[0].message
    );
}

#[test]
fn errors_serialize_as_path_and_message() {
    let errors = load("integration: {}\n").unwrap_err();
    assert_eq!(
        serde_json::to_value(&errors).unwrap(),
        serde_json::json!([{"path": "integration", "message": "unknown key; the document has `settings`, `integrations` and `workflows`"}])
    );
    assert_eq!(
        errors.to_string(),
        "invalid configuration: integration: unknown key; the document has `settings`, `integrations` and `workflows`"
    );
}

#[test]
fn errors_within_one_integration_are_all_reported() {
    let document = "integrations:\n  chat:\n    provider: slak\n    clientId: a\n    userSettings: [{id: stage, type: select, title: Stage}]\n";
    let errors = load(document).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "integrations.chat.userSettings[0].options",
            "integrations.chat.provider"
        ],
        "{}",
        list(&errors)
    );
}
