//! What Task History keeps of a step's input and output: secrets redacted by
//! name, and anything large replaced by a bounded preview.

use serde_json::{Map, Value, json};

/// What a redacted value reads as.
pub const REDACTED: &str = "[REDACTED]";
/// The largest step input or output kept whole, as JSON text.
pub const STEP_PAYLOAD_LIMIT: usize = 16 * 1024;
/// How much of an oversized payload is kept as a preview.
const PREVIEW: usize = 1024;

/// Names that hold secrets, wherever they appear (compared without case,
/// `-` or `_`).
fn is_secret_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    [
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "password",
        "secret",
        "clientsecret",
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "apikey",
        "xapikey",
    ]
    .contains(&folded.as_str())
}

fn redact(value: &Value) -> Value {
    match value {
        Value::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, item)| {
                    let kept = if is_secret_name(key) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(item)
                    };
                    (key.clone(), kept)
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// A value as Task History may store it.
pub fn keep_for_history(value: &Value) -> Value {
    let redacted = redact(value);
    let text = redacted.to_string();
    if text.len() <= STEP_PAYLOAD_LIMIT {
        return redacted;
    }
    let mut end = PREVIEW;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    json!({ "truncated": true, "size": text.len(), "preview": &text[..end] })
}
