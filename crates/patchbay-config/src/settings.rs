//! User settings: the schema an integration (`userSettings`) or a workflow (`inputs`) declares,
//! and the check of the values an end user sets against it.

use std::collections::HashSet;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::errors::{ConfigErrors, Report, field, index};
use crate::names::{IDENTIFIER_RULE, is_identifier};

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingType {
    Text,
    Number,
    Boolean,
    Select,
    Email,
    Url,
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
        if let Some(default) = &setting.default
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
        (SettingType::Number, Value::Number(_)) | (SettingType::Boolean, Value::Bool(_)) => return,
        (SettingType::Number, other) => {
            return report.error(
                path,
                format!("expected a number, found {}", json_kind(other)),
            );
        }
        (SettingType::Boolean, other) => {
            return report.error(
                path,
                format!("expected true or false, found {}", json_kind(other)),
            );
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
