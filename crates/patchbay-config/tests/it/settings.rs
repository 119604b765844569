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

fn dynamic_config() -> ProjectConfig {
    load(
        r#"
integrations:
  crm:
    provider: stripe
    userSettings:
      - {id: notes, type: textarea, title: Notes}
      - {id: token, type: password, title: Token, required: true}
      - {id: live, type: switch, title: Live, default: true}
      - id: owner
        type: dynamic_select
        title: Owner
        default: u_1
        source: {path: /users, query: {q: "{{ search }}", page: "{{ cursor }}"}, items: body.users, value: "{{ item.id }}", label: "{{ item.name }}", nextCursor: body.next}
      - id: board
        type: combo
        title: Board
        source: {path: /boards, items: body, value: "{{ item.id }}", label: "{{ item.name }}"}
        dependent:
          title: List
          source: {method: POST, path: "/boards/{{ main }}/lists", query: {q: "{{ search }}"}, items: body.lists, value: "{{ item.id }}", label: "{{ item.name }} ({{ main }})"}
      - id: mapping
        type: field_mapping
        title: Contact fields
        source: {path: /fields, items: body, value: "{{ item.key }}", label: "{{ item.label }}"}
        fields: [{value: email, label: Email}, {value: fullName, label: Full name}]
      - {id: pairing, type: combo, title: Pairing, required: true, source: {path: /a, items: body, value: "{{ item }}", label: "{{ item }}"}, dependent: {title: B, source: {path: "/b/{{ main }}", items: body, value: "{{ item }}", label: "{{ item }}"}}}
      - {id: required_mapping, type: field_mapping, title: Required, required: true, source: {path: /fields, items: body, value: "{{ item }}", label: "{{ item }}"}, fields: [{value: email, label: Email}]}
"#,
    )
    .unwrap_or_else(|errors| panic!("{}", list(&errors)))
}

#[test]
fn every_new_setting_type_loads_with_its_keys() {
    use patchbay_config::{HttpMethod, SettingType};
    let config = dynamic_config();
    let crm = config.integration("crm").unwrap();
    let kinds: Vec<SettingType> = crm.user_settings.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            SettingType::Textarea,
            SettingType::Password,
            SettingType::Switch,
            SettingType::DynamicSelect,
            SettingType::Combo,
            SettingType::FieldMapping,
            SettingType::Combo,
            SettingType::FieldMapping,
        ]
    );
    let secret: Vec<&str> = crm
        .user_settings
        .iter()
        .filter(|s| s.is_secret())
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(secret, ["token"]);
    let owner = &crm.user_settings[3];
    let source = owner.options_source(None).unwrap();
    assert_eq!(source.method, HttpMethod::Get, "GET unless given");
    assert_eq!(source.next_cursor.as_deref(), Some("body.next"));
    assert!(owner.options_source(Some("dependent")).is_none());
    let board = &crm.user_settings[4];
    let dependent = board.options_source(Some("dependent")).unwrap();
    assert_eq!(dependent.method, HttpMethod::Post);
    assert_eq!(dependent.path, "/boards/{{ main }}/lists");
    assert!(board.options_source(Some("other")).is_none());
    let request = dependent.request();
    assert_eq!(request.path.as_deref(), Some("/boards/{{ main }}/lists"));
    assert_eq!(request.query["q"], "{{ search }}");
    assert!(crm.user_settings[0].options_source(None).is_none());
    assert_eq!(crm.user_settings[5].fields.len(), 2);
}

#[test]
fn values_of_the_new_types_are_checked() {
    let config = dynamic_config();
    let crm = config.integration("crm").unwrap();
    let base = json!({"token": "t", "pairing": {"main": "a", "dependent": "b"},
                      "required_mapping": {"email": "mail"}});
    let with = |extra: Value| {
        let mut value = base.as_object().unwrap().clone();
        value.extend(object(extra));
        value
    };
    let accepted = [
        json!({}),
        json!({"notes": "line one\nline two", "live": false, "owner": "u_2"}),
        json!({"token": "********"}),
        json!({"board": {"main": "b1", "dependent": "l1"}}),
        json!({"board": {"main": "", "dependent": ""}}),
        json!({"mapping": {"email": "work_email", "fullName": "name"}}),
        json!({"mapping": {}}),
        json!({"owner": null, "board": null, "mapping": null}),
    ];
    for extra in accepted {
        crm.validate_shared_settings(&with(extra.clone()))
            .unwrap_or_else(|errors| panic!("{extra} was rejected:\n{}", list(&errors)));
    }
    let refused: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (
            json!({"notes": 1}),
            vec![("sharedSettings.notes", "expected a string")],
        ),
        (
            json!({"token": ""}),
            vec![("sharedSettings.token", "is required")],
        ),
        (
            json!({"token": null}),
            vec![("sharedSettings.token", "is required")],
        ),
        (
            json!({"token": 42}),
            vec![("sharedSettings.token", "expected a string")],
        ),
        (
            json!({"live": "on"}),
            vec![("sharedSettings.live", "expected true or false")],
        ),
        (
            json!({"owner": ["u_1"]}),
            vec![("sharedSettings.owner", "expected a string, found a list")],
        ),
        (
            json!({"owner": {"id": "u_1"}}),
            vec![("sharedSettings.owner", "found an object")],
        ),
        (
            json!({"board": "b1"}),
            vec![(
                "sharedSettings.board",
                "expected an object with `main` and `dependent`",
            )],
        ),
        (
            json!({"board": {"main": "b1"}}),
            vec![("sharedSettings.board.dependent", "missing `dependent`")],
        ),
        (
            json!({"board": {"main": 1, "dependent": "l"}}),
            vec![(
                "sharedSettings.board.main",
                "expected a string, found a number",
            )],
        ),
        (
            json!({"board": {"main": "b", "dependent": "l", "extra": "x"}}),
            vec![("sharedSettings.board.extra", "unknown key")],
        ),
        (
            json!({"pairing": {"main": " ", "dependent": "b"}}),
            vec![("sharedSettings.pairing.main", "is required")],
        ),
        (
            json!({"mapping": ["email"]}),
            vec![("sharedSettings.mapping", "expected an object")],
        ),
        (
            json!({"mapping": {"phone": "tel"}}),
            vec![(
                "sharedSettings.mapping.phone",
                "unknown field; expected one of `email`, `fullName`",
            )],
        ),
        (
            json!({"mapping": {"email": 3}}),
            vec![(
                "sharedSettings.mapping.email",
                "expected a string, found a number",
            )],
        ),
        (
            json!({"required_mapping": {}}),
            vec![("sharedSettings.required_mapping", "is required")],
        ),
    ];
    for (extra, expected) in refused {
        let errors = crm
            .validate_shared_settings(&with(extra.clone()))
            .err()
            .unwrap_or_else(|| panic!("{extra} was accepted"));
        let got: Vec<(&str, &str)> = errors
            .iter()
            .map(|error| (error.path.as_str(), error.message.as_str()))
            .collect();
        assert_eq!(got.len(), expected.len(), "{extra}: {got:?}");
        for ((path, message), (want_path, fragment)) in got.iter().zip(&expected) {
            assert_eq!(path, want_path, "{extra}: {got:?}");
            assert!(
                message.contains(fragment),
                "{extra}: `{message}` lacks `{fragment}`"
            );
        }
    }
}

#[test]
fn settings_of_the_new_types_round_trip_through_stored_json() {
    let config = dynamic_config();
    let crm = config.integration("crm").unwrap();
    let stored = serde_json::to_value(crm).unwrap();
    let back: patchbay_config::IntegrationConfig = serde_json::from_value(stored).unwrap();
    assert_eq!(back.user_settings, crm.user_settings);
}
