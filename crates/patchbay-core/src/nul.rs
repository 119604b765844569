//! The NUL character (U+0000) in stored text. PostgreSQL cannot store it in
//! `text` or `jsonb`, SQLite can; so that both backends hold the same values,
//! Patchbay refuses it in what clients send and replaces it in what
//! providers send, before anything reaches the store.

use serde_json::Value;

/// What NUL characters are replaced with in provider data: the Unicode
/// replacement character, so the rest of the text survives.
pub const REPLACEMENT: &str = "\u{FFFD}";

/// `text` with every NUL character replaced by [`REPLACEMENT`].
pub fn replace_nul_in(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', REPLACEMENT)
    } else {
        text
    }
}

/// The JSON path of the first string or key holding a NUL character
/// (`""` for the value itself, `meta.name`, `items[2]`).
pub fn first_nul(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &str) -> Option<String> {
        match value {
            Value::String(text) if text.contains('\0') => Some(path.to_owned()),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(index, item)| walk(item, &format!("{path}[{index}]"))),
            Value::Object(entries) => entries.iter().find_map(|(key, item)| {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if key.contains('\0') {
                    Some(at)
                } else {
                    walk(item, &at)
                }
            }),
            _ => None,
        }
    }
    walk(value, "")
}

/// `value` with every NUL character in its strings and keys replaced by
/// [`REPLACEMENT`].
pub fn replace_nul(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(replace_nul_in(s)),
        Value::Array(items) => Value::Array(items.into_iter().map(replace_nul).collect()),
        Value::Object(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(key, item)| (replace_nul_in(key), replace_nul(item)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_and_replaces_nul_in_strings_and_keys() {
        assert_eq!(
            first_nul(&json!({"a": [1, "x"], "b": {"c": "y\u{0}"}})),
            Some("b.c".into())
        );
        assert_eq!(first_nul(&json!({"k\u{0}": 1})), Some("k\u{0}".into()));
        assert_eq!(first_nul(&json!(["a", "\u{0}"])), Some("[1]".into()));
        assert_eq!(first_nul(&json!({"a": "\u{1}\u{1f}"})), None);
        assert_eq!(
            replace_nul(json!({"k\u{0}": ["a\u{0}b"]})),
            json!({"k\u{FFFD}": ["a\u{FFFD}b"]})
        );
    }
}
