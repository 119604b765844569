//! User settings: the schema an integration (`userSettings`) or a workflow (`inputs`) declares,
//! and the check of the values an end user sets against it.

use std::collections::{BTreeMap, HashSet};

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::errors::{ConfigErrors, Report, field, index};
use crate::http::HttpMethod;
use crate::names::{IDENTIFIER_RULE, is_identifier};
use crate::request::{ProviderRequest, check_api_path, check_listing};
use crate::template::{Found, check_expression, check_roots, check_template_map, keep};

/// One setting an end user fills in for a connected account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a setting (a mapping with `id`, `type` and `title`)"
)]
pub struct UserSetting {
    #[schemars(pattern(crate::names::IDENTIFIER_PATTERN))]
    pub id: String,
    #[serde(rename = "type")]
    pub kind: SettingType,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// The choices of a `select`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// A regular expression a `text` value must match as a whole (like HTML's `pattern`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Where a `dynamic_select`, a `combo` (its main field) or a `field_mapping` (the
    /// integration's fields) lists its options: a request to the integration's API as the
    /// account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<OptionsSource>,
    /// The second field of a `combo`, whose options depend on the first's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependent: Option<DependentField>,
    /// The application's fields a `field_mapping` maps, each to one of the integration's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<MappedField>,
}

impl UserSetting {
    /// Whether the value is a secret: stored sealed and never shown back (`password`).
    pub fn is_secret(&self) -> bool {
        self.kind == SettingType::Password
    }

    /// The source of this setting's options: `None` for the main source, `Some("dependent")`
    /// for a combo's second field. `None` when the setting has no such source.
    pub fn options_source(&self, part: Option<&str>) -> Option<&OptionsSource> {
        match part {
            None => self.source.as_ref(),
            Some(DEPENDENT) => self.dependent.as_ref().map(|dependent| &dependent.source),
            Some(_) => None,
        }
    }
}

/// The name of a combo's second field, in its values and in [`UserSetting::options_source`].
pub const DEPENDENT: &str = "dependent";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingType {
    /// A line of text.
    Text,
    Number,
    Boolean,
    /// One of `options`.
    Select,
    Email,
    Url,
    /// Text of several lines.
    Textarea,
    /// A secret string: stored sealed, never shown back.
    Password,
    /// A boolean, shown as a switch.
    Switch,
    /// One of the options `source` lists from the account's API.
    DynamicSelect,
    /// Two linked choices, `{main, dependent}`: the second's options depend on the first.
    Combo,
    /// `{<application field>: <integration field>}`.
    FieldMapping,
}

impl SettingType {
    /// The document's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Select => "select",
            Self::Email => "email",
            Self::Url => "url",
            Self::Textarea => "textarea",
            Self::Password => "password",
            Self::Switch => "switch",
            Self::DynamicSelect => "dynamic_select",
            Self::Combo => "combo",
            Self::FieldMapping => "field_mapping",
        }
    }

    /// Whether settings of this type list their options with a `source`.
    pub fn has_source(self) -> bool {
        matches!(self, Self::DynamicSelect | Self::Combo | Self::FieldMapping)
    }
}

/// A request that lists options from the integration's API, made as the account whose setting
/// it is, and how its answer becomes options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OptionsSource {
    /// `GET` unless given.
    #[serde(default = "get")]
    pub method: HttpMethod,
    /// Under the integration's API base URL; a template over `search`, `cursor` (and `main`
    /// for a combo's dependent field).
    pub path: String,
    /// Query parameters, each a template as `path`; one that renders empty is not sent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// An expression over the response's `body` giving the list of items.
    pub items: String,
    /// Template of an item's stored value, over `item`: `{{ item.id }}`.
    pub value: String,
    /// Template of an item's label, over `item`: `{{ item.name }}`.
    pub label: String,
    /// An expression over `body` giving the cursor of the next page; none (or an empty or
    /// null result) when this is the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn get() -> HttpMethod {
    HttpMethod::Get
}

impl OptionsSource {
    /// The request it makes, as a definition's own requests are written, for rendering.
    pub fn request(&self) -> ProviderRequest {
        ProviderRequest {
            method: self.method,
            path: Some(self.path.clone()),
            url: None,
            query: self.query.clone(),
            headers: BTreeMap::new(),
            body: None,
        }
    }
}

/// The second field of a `combo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DependentField {
    /// The second field's label.
    pub title: String,
    /// Its options; its templates may also read `main`, the first field's value.
    pub source: OptionsSource,
}

/// One of the application's fields in a `field_mapping`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MappedField {
    /// The key the mapping stores it under.
    pub value: String,
    /// What the user reads.
    pub label: String,
}

/// What the request of a source reads.
const REQUEST_ROOTS: [&str; 2] = ["search", "cursor"];
/// What the request of a combo's dependent source reads.
const DEPENDENT_REQUEST_ROOTS: [&str; 3] = ["search", "cursor", "main"];

/// Checks a `source` found at `path`; `reads` is what its request may read.
fn check_source(source: &OptionsSource, path: &str, reads: &[&str], report: &mut Report) {
    let mut found = Found::new();
    keep(
        check_api_path,
        &source.path,
        &field(path, "path"),
        report,
        &mut found,
    );
    check_template_map(&source.query, &field(path, "query"), report, &mut found);
    for (value_path, variables) in &found {
        check_roots(variables, reads, value_path, report);
    }
    let with = |root: &'static str| -> Vec<&str> {
        std::iter::once(root).chain(reads.iter().copied()).collect()
    };
    let listed = check_listing(&source.items, &source.value, &source.label, path, report);
    let list_roots = with("body");
    let item_roots = with("item");
    for (key, variables, roots) in [
        ("items", &listed.items, &list_roots),
        ("value", &listed.value, &item_roots),
        ("label", &listed.label, &item_roots),
    ] {
        if let Some(variables) = variables {
            check_roots(variables, roots, &field(path, key), report);
        }
    }
    if source.value.trim().is_empty() {
        report.error(
            field(path, "value"),
            "must not be empty: a template of the item's value",
        );
    }
    if let Some(next) = &source.next_cursor {
        let at = field(path, "nextCursor");
        if let Some(variables) = check_expression(next, &at, report) {
            check_roots(&variables, &list_roots, &at, report);
        }
    }
}

/// Checks what only some types have: `options`, `pattern`, `source`, `dependent`, `fields`.
fn check_type_keys(setting: &UserSetting, at: &str, report: &mut Report) {
    let kind = setting.kind;
    match (&setting.source, kind.has_source()) {
        (Some(source), true) => check_source(source, &field(at, "source"), &REQUEST_ROOTS, report),
        (None, true) => report.error(
            field(at, "source"),
            format!(
                "missing field `source`: a `{}` setting lists its options from the account's API",
                kind.as_str()
            ),
        ),
        (Some(_), false) => report.error(
            field(at, "source"),
            "only `dynamic_select`, `combo` and `field_mapping` settings have a source",
        ),
        (None, false) => {}
    }
    match (&setting.dependent, kind == SettingType::Combo) {
        (Some(dependent), true) => {
            let path = field(at, DEPENDENT);
            if dependent.title.trim().is_empty() {
                report.error(field(&path, "title"), "must not be empty");
            }
            check_source(
                &dependent.source,
                &field(&path, "source"),
                &DEPENDENT_REQUEST_ROOTS,
                report,
            );
        }
        (None, true) => report.error(
            field(at, DEPENDENT),
            "missing field `dependent`: a `combo` setting needs its second field (`title` and \
             `source`)",
        ),
        (Some(_), false) => report.error(
            field(at, DEPENDENT),
            "only `combo` settings have a dependent field",
        ),
        (None, false) => {}
    }
    let fields_path = field(at, "fields");
    if kind == SettingType::FieldMapping {
        if setting.fields.is_empty() {
            report.error(
                &fields_path,
                "a `field_mapping` setting needs at least one field of the application",
            );
        }
        let mut seen = HashSet::new();
        for (i, mapped) in setting.fields.iter().enumerate() {
            let at = index(&fields_path, i);
            if mapped.value.trim().is_empty() {
                report.error(field(&at, "value"), "must not be empty");
            } else if !seen.insert(mapped.value.as_str()) {
                report.error(
                    field(&at, "value"),
                    format!("duplicate field `{}`", mapped.value),
                );
            }
            if mapped.label.trim().is_empty() {
                report.error(field(&at, "label"), "must not be empty");
            }
        }
    } else if !setting.fields.is_empty() {
        report.error(fields_path, "only `field_mapping` settings have fields");
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Compiles a `pattern` the way HTML's `pattern` attribute applies it: to the whole value.
pub(crate) fn whole_value_regex(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{pattern})$"))
}

/// Checks that `pattern` compiles; the error names the pattern as written, on one line.
pub(crate) fn check_pattern(pattern: &str, path: &str, report: &mut Report) {
    if let Err(error) = Regex::new(pattern).and_then(|_| whole_value_regex(pattern)) {
        // regex's syntax errors span several lines (the pattern, a caret line, the reason).
        let text = error.to_string();
        let reason = text
            .lines()
            .last()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        report.error(
            path,
            format!("invalid regular expression `{pattern}`: {reason}"),
        );
    }
}

/// Checks a list of settings declared in a document, found at `path`.
pub(crate) fn check_schema(settings: &[UserSetting], path: &str, report: &mut Report) {
    let mut seen = HashSet::new();
    for (i, setting) in settings.iter().enumerate() {
        let at = index(path, i);
        if !is_identifier(&setting.id) {
            report.error(
                field(&at, "id"),
                format!("`{}` {IDENTIFIER_RULE}", setting.id),
            );
        } else if !seen.insert(setting.id.as_str()) {
            report.error(
                field(&at, "id"),
                format!("duplicate setting id `{}`", setting.id),
            );
        }
        if setting.title.trim().is_empty() {
            report.error(field(&at, "title"), "must not be empty");
        }
        match setting.kind {
            SettingType::Select if setting.options.is_empty() => {
                report.error(
                    field(&at, "options"),
                    "a `select` setting needs at least one option",
                );
            }
            SettingType::Select => {
                let mut options = HashSet::new();
                for (j, option) in setting.options.iter().enumerate() {
                    if !options.insert(option) {
                        report.error(
                            index(&field(&at, "options"), j),
                            format!("duplicate option `{option}`"),
                        );
                    }
                }
            }
            _ if !setting.options.is_empty() => {
                report.error(field(&at, "options"), "only `select` settings have options");
            }
            _ => {}
        }
        if let Some(pattern) = &setting.pattern {
            if setting.kind != SettingType::Text {
                report.error(field(&at, "pattern"), "only `text` settings have a pattern");
            } else {
                check_pattern(pattern, &field(&at, "pattern"), report);
            }
        }
        check_type_keys(setting, &at, report);
        if setting.is_secret() && setting.default.is_some() {
            report.error(
                field(&at, "default"),
                "a `password` setting has no default: it would be shown to every user",
            );
        } else if let Some(default) = &setting.default
            && !default.is_null()
        {
            // A default must be a value the end user could have entered.
            let mut inner = Report::default();
            check_value(setting, default, &field(&at, "default"), &mut inner);
            if let Err(errors) = inner.finish(()) {
                errors.into_iter().for_each(|error| report.push(error));
            }
        }
    }
}

/// Checks a complete settings object (`{pipeline: "sales"}`) against `schema`; paths are
/// `{prefix}.{setting id}`.
pub(crate) fn check_values(
    schema: &[UserSetting],
    values: &Map<String, Value>,
    prefix: &str,
) -> Result<(), ConfigErrors> {
    let mut report = Report::default();
    for key in values.keys() {
        if !schema.iter().any(|setting| &setting.id == key) {
            let known: Vec<&str> = schema.iter().map(|setting| setting.id.as_str()).collect();
            let message = if known.is_empty() {
                "unknown setting: there are no settings here".to_owned()
            } else {
                format!("unknown setting; expected one of `{}`", known.join("`, `"))
            };
            report.error(field(prefix, key), message);
        }
    }
    for setting in schema {
        let path = field(prefix, &setting.id);
        match values.get(&setting.id) {
            None | Some(Value::Null) => {
                if setting.required {
                    report.error(path, "is required");
                }
            }
            Some(value) => check_value(setting, value, &path, &mut report),
        }
    }
    report.finish(())
}

fn check_value(setting: &UserSetting, value: &Value, path: &str, report: &mut Report) {
    let text = match (setting.kind, value) {
        (SettingType::Number, Value::Number(_))
        | (SettingType::Boolean | SettingType::Switch, Value::Bool(_)) => return,
        (SettingType::Number, other) => {
            return report.error(
                path,
                format!("expected a number, found {}", json_kind(other)),
            );
        }
        (SettingType::Boolean | SettingType::Switch, other) => {
            return report.error(
                path,
                format!("expected true or false, found {}", json_kind(other)),
            );
        }
        (SettingType::Combo, value) => return check_combo(setting, value, path, report),
        (SettingType::FieldMapping, value) => {
            return check_mapping(setting, value, path, report);
        }
        (_, Value::String(text)) => text.as_str(),
        (_, other) => {
            return report.error(
                path,
                format!("expected a string, found {}", json_kind(other)),
            );
        }
    };
    if setting.required && text.trim().is_empty() {
        return report.error(path, "is required");
    }
    match setting.kind {
        SettingType::Select if !setting.options.iter().any(|option| option == text) => {
            report.error(
                path,
                format!(
                    "`{text}` is not one of the options `{}`",
                    setting.options.join("`, `")
                ),
            );
        }
        SettingType::Text if !text.is_empty() => {
            let pattern = setting
                .pattern
                .as_deref()
                .map(|pattern| (pattern, whole_value_regex(pattern)));
            match pattern {
                Some((pattern, Ok(regex))) if !regex.is_match(text) => {
                    report.error(path, format!("does not match the pattern `{pattern}`"));
                }
                Some((_, Err(_))) => report.error(path, "the setting's pattern is invalid"),
                _ => {}
            }
        }
        SettingType::Email if !text.is_empty() && !looks_like_email(text) => {
            report.error(path, "expected an email address such as `ada@example.com`");
        }
        SettingType::Url if !text.is_empty() && !is_http_url(text) => {
            report.error(path, "expected an absolute http(s) URL");
        }
        _ => {}
    }
}

/// A combo's value: `{main, dependent}`, both strings (not blank when the setting is required).
fn check_combo(setting: &UserSetting, value: &Value, path: &str, report: &mut Report) {
    let Value::Object(members) = value else {
        return report.error(
            path,
            format!(
                "expected an object with `main` and `dependent`, found {}",
                json_kind(value)
            ),
        );
    };
    for key in members.keys() {
        if key != "main" && key != DEPENDENT {
            report.error(
                field(path, key),
                "unknown key; a combo's value has `main` and `dependent`",
            );
        }
    }
    for key in ["main", DEPENDENT] {
        let at = field(path, key);
        match members.get(key) {
            None => report.error(at, format!("missing `{key}`: expected a string")),
            Some(Value::String(text)) if setting.required && text.trim().is_empty() => {
                report.error(at, "is required");
            }
            Some(Value::String(_)) => {}
            Some(other) => {
                report.error(at, format!("expected a string, found {}", json_kind(other)))
            }
        }
    }
}

/// A field mapping's value: each key one of the application's `fields`, each value a string
/// (one of the integration's fields); at least one when the setting is required.
fn check_mapping(setting: &UserSetting, value: &Value, path: &str, report: &mut Report) {
    let Value::Object(members) = value else {
        return report.error(
            path,
            format!(
                "expected an object from application field to integration field, found {}",
                json_kind(value)
            ),
        );
    };
    if setting.required && members.is_empty() {
        return report.error(path, "is required: map at least one field");
    }
    for (key, mapped) in members {
        let at = field(path, key);
        if !setting.fields.iter().any(|known| &known.value == key) {
            let known: Vec<&str> = setting.fields.iter().map(|f| f.value.as_str()).collect();
            report.error(
                at,
                format!("unknown field; expected one of `{}`", known.join("`, `")),
            );
        } else if !mapped.is_string() {
            report.error(
                at,
                format!("expected a string, found {}", json_kind(mapped)),
            );
        }
    }
}

/// Deliberately loose: one `@`, something before it, a dotted domain after it, no spaces.
/// Whether the address exists is for the mail server to say.
fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn is_http_url(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

/// How a JSON value is named in an error: "expected a list, found a string".
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
