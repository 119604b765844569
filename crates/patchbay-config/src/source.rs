//! Text to a syntax tree: YAML, or JSON when the text looks like JSON.
//!
//! The tree is `serde_norway::Value` rather than `serde_json::Value` because its mappings keep
//! document order (integrations are listed in the order written) and because deserializing
//! into it rejects duplicate keys, which a later key would otherwise silently overwrite.

use serde_norway::Value as Tree;

use crate::errors::ConfigError;

/// Parses a whole document. Errors here have the empty path and a line number in the message.
pub(crate) fn parse(text: &str) -> Result<Tree, ConfigError> {
    if looks_like_json(text) {
        // JSON parses as YAML too, but a JSON author expects JSON's rules and messages: a
        // broken JSON document must not pass as some other YAML document.
        return serde_json::from_str::<Tree>(text)
            .map_err(|error| ConfigError::new("", format!("invalid JSON: {error}")));
    }
    serde_norway::from_str::<Tree>(text).map_err(|error| {
        let mut message = format!("invalid YAML: {error}");
        // libyaml's scanner errors carry the position; errors raised while building the tree
        // (a duplicate key) only carry it in `location()`.
        if let Some(location) = error.location()
            && !message.contains(" line ")
        {
            message.push_str(&format!(
                " at line {} column {}",
                location.line(),
                location.column()
            ));
        }
        ConfigError::new("", message)
    })
}

/// A JSON object (`{"` or `{}`) or array. A YAML flow mapping such as `{settings: {}}` is not.
fn looks_like_json(text: &str) -> bool {
    let trimmed = text.trim_start();
    if let Some(rest) = trimmed.strip_prefix('{') {
        matches!(rest.trim_start().chars().next(), Some('"' | '}'))
    } else {
        trimmed.starts_with('[')
    }
}

/// A short description of a tree node for messages ("a string", "a list").
pub(crate) fn describe(tree: &Tree) -> &'static str {
    match tree {
        Tree::Null => "null",
        Tree::Bool(_) => "a boolean",
        Tree::Number(_) => "a number",
        Tree::String(_) => "a string",
        Tree::Sequence(_) => "a list",
        Tree::Mapping(_) => "a mapping",
        Tree::Tagged(_) => "a tagged value",
    }
}

/// The key as text, for messages about keys that are not strings.
pub(crate) fn key_text(key: &Tree) -> String {
    match key {
        Tree::String(text) => text.clone(),
        Tree::Number(number) => number.to_string(),
        Tree::Bool(value) => value.to_string(),
        Tree::Null => "null".to_owned(),
        other => describe(other).to_owned(),
    }
}
