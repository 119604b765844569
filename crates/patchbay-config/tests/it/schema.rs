//! The configuration document's JSON Schema: generated from the parser's types, committed as
//! docs/config.schema.json, and in agreement with the parser on the reference's examples and
//! on documents it refuses.

use std::fs;
use std::path::{Path, PathBuf};

use patchbay_config::{json_schema, load, masked};
use serde_json::Value;

use crate::support::list;

const SCHEMA_ID: &str = "config.schema.json";

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// The generated schema, compiled by an independent JSON Schema validator.
struct Validator {
    schemas: boon::Schemas,
    compiler: boon::Compiler,
}

impl Validator {
    fn new() -> Self {
        let mut compiler = boon::Compiler::new();
        compiler.add_resource(SCHEMA_ID, json_schema()).unwrap();
        Self {
            schemas: boon::Schemas::new(),
            compiler,
        }
    }

    /// The errors of `instance` against the schema at `pointer` (`""` for the whole document,
    /// `/$defs/Step` for one step), one string, empty when it is valid.
    fn errors(&mut self, pointer: &str, instance: &Value) -> String {
        let index = self
            .compiler
            .compile(&format!("{SCHEMA_ID}#{pointer}"), &mut self.schemas)
            .unwrap();
        match self.schemas.validate(instance, index) {
            Ok(()) => String::new(),
            Err(error) => format!("{error:#}"),
        }
    }
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap_or_else(|error| panic!("{error}:\n{text}"))
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let committed: Value = fs::read_to_string(repo_file("docs/config.schema.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    assert!(
        committed == json_schema(),
        "docs/config.schema.json is missing or stale; regenerate it with\n  \
         cargo run -p patchbay-cli -- config schema > docs/config.schema.json"
    );
}

/// The YAML blocks of docs/configuration.md, each with the line it starts at.
fn reference_blocks() -> Vec<(usize, String)> {
    let reference = fs::read_to_string(repo_file("docs/configuration.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in reference.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```yaml" => current = Some((number + 2, String::new())),
            Some(_) if line.trim_start() == "```" => blocks.extend(current.take()),
            Some((_, block)) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Every example of the reference matches the schema: whole documents (which the parser also
/// accepts, and whose masked form, what `GET /config` answers, matches too), lists of settings,
/// workflows and steps.
#[test]
fn every_example_of_the_reference_matches_the_schema() {
    let mut validator = Validator::new();
    let mut failures = Vec::new();
    let mut documents = 0;
    let blocks = reference_blocks();
    assert!(
        blocks.len() >= 12,
        "found only {} YAML blocks",
        blocks.len()
    );
    for (line, block) in &blocks {
        let mut check = |pointer: &str, instance: &Value| {
            let errors = validator.errors(pointer, instance);
            if !errors.is_empty() {
                failures.push(format!(
                    "docs/configuration.md:{line} against #{pointer}:\n{errors}"
                ));
            }
        };
        let value = yaml(block);
        let first = block.lines().next().unwrap_or_default();
        if ["settings:", "integrations:", "workflows:"]
            .iter()
            .any(|key| first.starts_with(key))
        {
            documents += 1;
            check("", &value);
            match load(block) {
                Ok(config) => check("", &masked(&config)),
                Err(errors) => failures.push(format!(
                    "docs/configuration.md:{line}: the parser refuses it:\n{}",
                    list(&errors)
                )),
            }
        } else if let Some(settings) = value.get("userSettings").and_then(Value::as_array) {
            settings
                .iter()
                .for_each(|setting| check("/$defs/UserSetting", setting));
        } else if let Some(items) = value.as_array() {
            for item in items {
                let pointer = if item.get("integration").is_some() {
                    "/$defs/WorkflowConfig"
                } else {
                    "/$defs/Step"
                };
                check(pointer, item);
            }
        } else {
            failures.push(format!(
                "docs/configuration.md:{line}: a YAML block of no known kind"
            ));
        }
    }
    assert!(documents >= 4, "found only {documents} whole documents");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Documents the parser refuses for their shape are refused by the schema too: each case is one
/// serde or derive attribute the schema has to follow.
#[test]
fn the_schema_refuses_what_the_parser_refuses_for_its_shape() {
    let inline = "integrations:\n  crm:\n    name: CRM\n    auth: {type: api_key, fields: [{id: key, title: Key}], inject: {header: X-Key, value: '{{ credentials.key }}'}}\n    api: {baseUrl: https://crm.example}\n";
    let workflow = |trigger: &str, step: &str| {
        format!(
            "{inline}workflows:\n  - id: sync\n    integration: crm\n    trigger: {trigger}\n    steps:\n      - {step}\n"
        )
    };
    let step = "{id: list, type: request, method: GET, path: /contacts}";
    let cases = [
        (
            "a wrong type",
            "settings: {requireExplicitCredential: 'yes'}\n".to_owned(),
            "settings.requireExplicitCredential",
        ),
        (
            "an unknown key at the top",
            "settings: {}\nproject: x\n".to_owned(),
            "project",
        ),
        (
            "a renamed key in its Rust spelling",
            "settings: {allowed_origins: []}\n".to_owned(),
            "settings",
        ),
        (
            "an integration type starting with a digit",
            inline.replace("  crm:", "  1crm:"),
            "integrations.1crm",
        ),
        (
            "an inline key next to a catalogue provider",
            "integrations:\n  pay:\n    provider: stripe\n    api: {baseUrl: https://x.example}\n"
                .to_owned(),
            "integrations.pay.api",
        ),
        (
            "an inline integration without auth",
            "integrations:\n  crm:\n    name: CRM\n    api: {baseUrl: https://crm.example}\n"
                .to_owned(),
            "integrations.crm.auth",
        ),
        (
            "an unknown auth type",
            inline.replace("type: api_key", "type: token"),
            "integrations.crm.auth",
        ),
        (
            "a client id in a non-oauth2 auth",
            inline.replace("{type: api_key,", "{type: api_key, clientId: x,"),
            "integrations.crm.clientId",
        ),
        (
            "a key on a trigger that has none",
            workflow("{type: request, event: x}", step),
            "workflows[0].trigger.event",
        ),
        (
            "an unknown key in a step",
            workflow("{type: request}", &step.replace("GET", "GET, retries: 3")),
            "workflows[0].steps[0].retries",
        ),
        (
            "an unknown method",
            workflow("{type: request}", &step.replace("GET", "FETCH")),
            "workflows[0].steps[0].method",
        ),
        (
            "a step id with a dash",
            workflow("{type: request}", &step.replace("id: list", "id: list-all")),
            "workflows[0].steps[0].id",
        ),
        (
            "a foreach beyond its concurrency",
            workflow(
                "{type: request}",
                &format!(
                    "{{id: each, type: foreach, items: trigger.body, concurrency: 64, steps: [{step}]}}"
                ),
            ),
            "workflows[0].steps[0].concurrency",
        ),
    ];
    let mut validator = Validator::new();
    for (what, document, path) in cases {
        let errors = load(&document)
            .err()
            .unwrap_or_else(|| panic!("{what}: the parser accepts\n{document}"));
        assert!(
            errors.iter().any(|error| error.path.starts_with(path)),
            "{what}: no error at `{path}`:\n{}",
            list(&errors)
        );
        assert!(
            !validator.errors("", &yaml(&document)).is_empty(),
            "{what}: the schema accepts\n{document}"
        );
    }
    // The documents above with their fault removed are accepted by both, so each case tests
    // its fault and nothing else.
    let valid = workflow("{type: request}", step);
    assert_eq!(validator.errors("", &yaml(&valid)), "", "{valid}");
    load(&valid).unwrap_or_else(|errors| panic!("{}", list(&errors)));
}

/// Lower-case methods are accepted by the parser (a serde alias), so by the schema too.
#[test]
fn lower_case_methods_match_the_schema() {
    let mut validator = Validator::new();
    let step = yaml("{id: list, type: request, method: get, path: /contacts}");
    assert_eq!(validator.errors("/$defs/Step", &step), "");
}
