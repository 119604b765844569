//! The one template language of provider definitions (`"{{ token.instance_url }}"`) and
//! workflows (`"{{ trigger.body.name }}"`, expressions such as `steps.find.output.total > 0`):
//! minijinja with its default syntax, where a missing or `null` value renders as an empty
//! string and a boolean as `true`/`false`. Provider templates (`patchbay-oauth`) and workflow
//! templates (`patchbay-workflow`) both render with [`environment`]; this crate checks them.
//!
//! Compiling only parses; filters and functions are looked up when a template renders, so an
//! environment without any registered is enough to check syntax and is cheap to make.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::Value;

use crate::errors::Report;

/// An environment that renders the language.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Template names may be their sources; one ending in `.html` must not switch on escaping.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // `steps.find.output.body.missing.id` is empty rather than an error: providers omit
    // fields, and `{{ a or b }}` must work when `a` is missing.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    // Base64 for providers that want it inside a value (an RFC 2822 message for Gmail, a
    // Basic credential); decoding answers text, lossily, for bodies providers encode.
    env.add_filter("b64encode", |text: String| STANDARD.encode(text));
    env.add_filter("b64urlencode", |text: String| URL_SAFE.encode(text));
    env.add_filter("b64decode", |text: String| {
        let trimmed = text.trim().trim_end_matches('=');
        URL_SAFE_NO_PAD
            .decode(trimmed)
            .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(|_| {
                minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    "b64decode: not base64",
                )
            })
    });
    env.set_formatter(|out, state, value| {
        if value.is_none() || value.is_undefined() {
            // minijinja prints `none` for null; the language promises an empty string.
            Ok(())
        } else if value.kind() == ValueKind::Bool {
            // Text goes into URLs, headers and JSON bodies, where a boolean is `true`, not
            // Python's `True`.
            Ok(out.write_str(if value.is_true() { "true" } else { "false" })?)
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    env
}

/// Whether `text` uses template syntax at all; most values do not, and come back as they are.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// JSON as template variables, mapped onto minijinja's value model directly.
pub fn to_value(value: &Value) -> minijinja::Value {
    match value {
        Value::Null => minijinja::Value::from(()),
        Value::Bool(flag) => minijinja::Value::from(*flag),
        Value::Number(number) => {
            if let Some(int) = number.as_i64() {
                minijinja::Value::from(int)
            } else if let Some(uint) = number.as_u64() {
                minijinja::Value::from(uint)
            } else {
                minijinja::Value::from(number.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(text) => minijinja::Value::from(text.as_str()),
        Value::Array(items) => {
            minijinja::Value::from(items.iter().map(to_value).collect::<Vec<_>>())
        }
        Value::Object(entries) => minijinja::Value::from(
            entries
                .iter()
                .map(|(key, item)| (key.clone(), to_value(item)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// The variables a template or expression reads, with simple attribute chains kept
/// (`steps.create.output.body.id`), as minijinja's static analysis reports them.
pub(crate) type Variables = BTreeSet<String>;

/// Checks that `source` compiles as a template; returns the variables it reads.
pub(crate) fn check_template(source: &str, path: &str, report: &mut Report) -> Option<Variables> {
    // Skip the parser for plain text, which is most values.
    if !is_template(source) {
        return Some(Variables::new());
    }
    let env = Environment::empty();
    match env.template_from_str(source) {
        Ok(template) => Some(template.undeclared_variables(true).into_iter().collect()),
        Err(error) => {
            report.error(path, syntax_message("template", source, &error));
            None
        }
    }
}

/// Checks that `source` compiles as a bare expression; returns the variables it reads.
pub(crate) fn check_expression(source: &str, path: &str, report: &mut Report) -> Option<Variables> {
    let trimmed = source.trim();
    if trimmed.is_empty() {
        report.error(path, "must not be empty: expected an expression");
        return None;
    }
    if trimmed.starts_with("{{") && trimmed.ends_with("}}") {
        report.error(
            path,
            format!(
                "expected a bare expression, not a template: write `{}` without `{{{{ }}}}`",
                trimmed
                    .trim_start_matches("{{")
                    .trim_end_matches("}}")
                    .trim()
            ),
        );
        return None;
    }
    let env = Environment::empty();
    match env.compile_expression(source) {
        Ok(expression) => Some(expression.undeclared_variables(true).into_iter().collect()),
        Err(error) => {
            report.error(path, syntax_message("expression", source, &error));
            None
        }
    }
}

fn syntax_message(what: &str, source: &str, error: &minijinja::Error) -> String {
    let detail = error
        .detail()
        .map_or_else(|| error.to_string(), str::to_owned);
    match error.line() {
        Some(line) if source.contains('\n') => {
            format!("{what} syntax error: {detail} (line {line})")
        }
        _ => format!("{what} syntax error: {detail}"),
    }
}

/// The names used right under `root`: `credentials` in `{{ credentials.apiKey }}` gives
/// `apiKey`. Dynamic lookups (`credentials[name]`) cannot be resolved statically and are
/// not listed.
pub(crate) fn names_under<'v>(
    variables: &'v Variables,
    root: &str,
) -> impl Iterator<Item = &'v str> {
    variables.iter().filter_map(move |variable| {
        let rest = variable.strip_prefix(root)?.strip_prefix('.')?;
        rest.split('.').next()
    })
}

/// The names a template reads at its top level (`trigger` of `trigger.body.name`), leaving out
/// the language's own globals (`range`, `dict`, ...): what the render context must provide.
pub(crate) fn roots(variables: &Variables) -> BTreeSet<&str> {
    static GLOBALS: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
        environment()
            .globals()
            .map(|(name, _)| name.to_owned())
            .collect()
    });
    variables
        .iter()
        .filter_map(|variable| variable.split('.').next())
        .filter(|root| !GLOBALS.contains(*root))
        .collect()
}

/// Templates found while checking a group of values: each value's path and the variables it
/// reads, so a reference can be reported at the exact value that makes it.
pub(crate) type Found = Vec<(String, Variables)>;

/// Checks every value of a map of templates (`query`, `data`), keyed `{path}.{key}`.
pub(crate) fn check_template_map<'m>(
    map: impl IntoIterator<Item = (&'m String, &'m String)>,
    path: &str,
    report: &mut Report,
    found: &mut Found,
) {
    for (key, value) in map {
        let at = crate::errors::field(path, key);
        if let Some(variables) = check_template(value, &at, report) {
            found.push((at, variables));
        }
    }
}

/// Checks every string inside a JSON value (a request body); keys are taken literally.
pub(crate) fn check_json_templates(
    value: &serde_json::Value,
    path: &str,
    report: &mut Report,
    found: &mut Found,
) {
    match value {
        serde_json::Value::String(text) => {
            if let Some(variables) = check_template(text, path, report) {
                found.push((path.to_owned(), variables));
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_json_templates(item, &crate::errors::index(path, i), report, found);
            }
        }
        serde_json::Value::Object(entries) => {
            for (key, item) in entries {
                check_json_templates(item, &crate::errors::field(path, key), report, found);
            }
        }
        serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {}
    }
}

/// Runs a template check and keeps what it found.
pub(crate) fn keep(
    check: fn(&str, &str, &mut Report) -> Option<Variables>,
    value: &str,
    path: &str,
    report: &mut Report,
    found: &mut Found,
) {
    if let Some(variables) = check(value, path, report) {
        found.push((path.to_owned(), variables));
    }
}

/// Reports every top-level name of `variables` that is not one of `allowed`: what a template
/// here can read.
pub(crate) fn check_roots(
    variables: &Variables,
    allowed: &[&str],
    path: &str,
    report: &mut Report,
) {
    for root in roots(variables) {
        if !allowed.contains(&root) {
            report.error(
                path,
                format!(
                    "unknown variable `{root}`: templates here read `{}`",
                    allowed.join("`, `")
                ),
            );
        }
    }
}
