//! Settings values an end user sends (`PATCH /sdk/credentials/{id}`), checked against the
//! integration's and the workflow's schemas.

use patchbay_config::{ProjectConfig, load};
use serde_json::{Map, Value, json};

use crate::support::list;

fn config() -> ProjectConfig {
    load(
        r#"
integrations:
  crm:
    provider: stripe
    userSettings:
      - {id: pipeline, type: text, title: Pipeline, required: true, pattern: "[a-z]+"}
      - {id: limit, type: number, title: Limit}
      - {id: notify, type: boolean, title: Notify}
      - {id: region, type: select, title: Region, options: [eu, us]}
      - {id: contact, type: email, title: Contact}
      - {id: site, type: url, title: Site}
      - {id: note, type: text, title: Note}
workflows:
  - id: sync
    integration: crm
    inputs:
      - {id: folder, type: text, title: Folder, required: true}
    trigger: {type: request}
    steps:
      - {id: a, type: function, code: "return 1;"}
"#,
    )
    .unwrap()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn shared_settings_are_checked_against_the_schema() {
    let config = config();
    let crm = config.integration("crm").unwrap();
    let valid = json!({"pipeline": "sales", "limit": 10, "notify": true, "region": "eu",
                       "contact": "ada@example.com", "site": "https://acme.example", "note": ""});
    // (what is sent, the expected errors as `path: fragment`)
    let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (valid.clone(), vec![]),
        (json!({"pipeline": "sales"}), vec![]),
        (
            json!({"pipeline": "sales", "limit": null, "region": null}),
            vec![],
        ),
        (json!({}), vec![("sharedSettings.pipeline", "is required")]),
        (
            json!({"pipeline": null}),
            vec![("sharedSettings.pipeline", "is required")],
        ),
        (
            json!({"pipeline": "  "}),
            vec![("sharedSettings.pipeline", "is required")],
        ),
        (
            json!({"pipeline": "sales", "colour": "red"}),
            vec![("sharedSettings.colour", "unknown setting")],
        ),
        (
            json!({"pipeline": 5}),
            vec![(
                "sharedSettings.pipeline",
                "expected a string, found a number",
            )],
        ),
        (
            json!({"pipeline": "Sales 2"}),
            vec![(
                "sharedSettings.pipeline",
                "does not match the pattern `[a-z]+`",
            )],
        ),
        (
            json!({"pipeline": "sales", "limit": "3"}),
            vec![("sharedSettings.limit", "expected a number, found a string")],
        ),
        (
            json!({"pipeline": "sales", "notify": "yes"}),
            vec![("sharedSettings.notify", "expected true or false")],
        ),
        (
            json!({"pipeline": "sales", "region": "asia"}),
            vec![(
                "sharedSettings.region",
                "`asia` is not one of the options `eu`, `us`",
            )],
        ),
        (
            json!({"pipeline": "sales", "region": 1}),
            vec![("sharedSettings.region", "expected a string")],
        ),
        (
            json!({"pipeline": "sales", "contact": "ada"}),
            vec![("sharedSettings.contact", "expected an email address")],
        ),
        (
            json!({"pipeline": "sales", "site": "ftp://acme.example"}),
            vec![("sharedSettings.site", "expected an absolute http(s) URL")],
        ),
        (
            json!({"pipeline": "sales", "note": ["a"]}),
            vec![("sharedSettings.note", "found a list")],
        ),
        (
            json!({"limit": "x", "extra": 1}),
            vec![
                ("sharedSettings.extra", "unknown setting"),
                ("sharedSettings.pipeline", "is required"),
                ("sharedSettings.limit", "expected a number"),
            ],
        ),
    ];
    for (value, expected) in cases {
        let result = crm.validate_shared_settings(&object(value.clone()));
        match (result, expected.is_empty()) {
            (Ok(()), true) => {}
            (Ok(()), false) => panic!("{value} was accepted; expected {expected:?}"),
            (Err(errors), true) => panic!("{value} was rejected:\n{}", list(&errors)),
            (Err(errors), false) => {
                let got: Vec<(&str, &str)> = errors
                    .iter()
                    .map(|error| (error.path.as_str(), error.message.as_str()))
                    .collect();
                assert_eq!(got.len(), expected.len(), "{value}: {got:?}");
                for ((path, message), (want_path, fragment)) in got.iter().zip(&expected) {
                    assert_eq!(path, want_path, "{value}: {got:?}");
                    assert!(
                        message.contains(fragment),
                        "{value}: `{message}` lacks `{fragment}`"
                    );
                }
            }
        }
    }
}

#[test]
fn workflow_settings_are_checked_against_the_workflow_inputs() {
    let config = config();
    let sync = config.workflow("sync").unwrap();
    sync.validate_settings(&object(json!({"folder": "inbox"})))
        .unwrap();
    let errors = sync
        .validate_settings(&object(json!({"pipeline": "sales"})))
        .unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "workflowSettings.sync.settings.pipeline",
            "workflowSettings.sync.settings.folder"
        ],
        "{}",
        list(&errors)
    );
}

#[test]
fn an_integration_without_settings_accepts_only_an_empty_object() {
    let config = load("integrations:\n  pay: {provider: stripe}\n").unwrap();
    let pay = config.integration("pay").unwrap();
    pay.validate_shared_settings(&Map::new()).unwrap();
    let errors = pay
        .validate_shared_settings(&object(json!({"a": 1})))
        .unwrap_err();
    assert_eq!(errors.0[0].path, "sharedSettings.a");
    assert!(
        errors.0[0].message.contains("there are no settings"),
        "{}",
        errors.0[0].message
    );
}
