//! What Task History keeps of a run's trigger and of each step's input and
//! output: secrets redacted by name and by value, NUL characters replaced,
//! and anything large replaced by a bounded preview.

use serde_json::{Map, Value, json};

/// What a redacted value reads as.
pub const REDACTED: &str = "[REDACTED]";
/// The largest step input or output kept whole, as JSON text.
pub const STEP_PAYLOAD_LIMIT: usize = 16 * 1024;
/// How much of an oversized payload is kept as a preview.
const PREVIEW: usize = 1024;
/// Secret values shorter than this are not looked for inside text: they
/// would match ordinary words and numbers.
const MIN_SECRET_LEN: usize = 4;

/// A name as compared: without case, `-` or `_`.
fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Names that hold secrets wherever they appear: headers, query
/// parameters, body fields.
fn is_secret_name(folded: &str) -> bool {
    const EXACT: [&str; 6] = [
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "sig",
        "xapikey",
    ];
    const WITHIN: [&str; 7] = [
        "password",
        "passwd",
        "secret",
        "apikey",
        "privatekey",
        "signature",
        "passphrase",
    ];
    EXACT.contains(&folded)
        || WITHIN.iter().any(|fragment| folded.contains(fragment))
        // `token`, `accessToken`, `X-CSRF-Token`, `x-custom-auth`; not `tokenType`.
        || folded.ends_with("token")
        || folded.ends_with("auth")
}

/// What a run may not keep in Task History: the built-in secret names, the
/// names a project adds (`settings.redactFields`), and the secret values of
/// the run's account (its tokens, API keys, the integration's client
/// secret), wherever they appear inside text.
#[derive(Clone, Default)]
pub struct Redaction {
    names: Vec<String>,
    /// Longest first, so a secret that contains another is replaced whole.
    values: Vec<String>,
}

impl std::fmt::Debug for Redaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redaction")
            .field("names", &self.names)
            .field("values", &format_args!("[{} redacted]", self.values.len()))
            .finish()
    }
}

impl Redaction {
    pub fn new(
        names: impl IntoIterator<Item = impl AsRef<str>>,
        values: impl IntoIterator<Item = String>,
    ) -> Self {
        let mut values: Vec<String> = values
            .into_iter()
            .filter(|value| value.len() >= MIN_SECRET_LEN)
            .collect();
        values.sort_by_key(|value| std::cmp::Reverse(value.len()));
        values.dedup();
        Self {
            names: names.into_iter().map(|name| fold(name.as_ref())).collect(),
            values,
        }
    }

    fn is_redacted_name(&self, name: &str) -> bool {
        let folded = fold(name);
        is_secret_name(&folded) || self.names.contains(&folded)
    }

    fn text(&self, text: &str) -> String {
        let mut kept = text.replace('\0', "\u{FFFD}");
        for secret in &self.values {
            if kept.contains(secret.as_str()) {
                kept = kept.replace(secret.as_str(), REDACTED);
            }
        }
        kept
    }

    fn redact(&self, value: &Value) -> Value {
        match value {
            Value::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, item)| {
                        let kept = if self.is_redacted_name(key) {
                            Value::String(REDACTED.to_owned())
                        } else {
                            self.redact(item)
                        };
                        (self.text(key), kept)
                    })
                    .collect::<Map<_, _>>(),
            ),
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| self.redact(item)).collect())
            }
            Value::String(text) => Value::String(self.text(text)),
            other => other.clone(),
        }
    }

    /// A value as Task History may store it.
    pub fn keep(&self, value: &Value) -> Value {
        let redacted = self.redact(value);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_values_and_nul_are_redacted() {
        let redaction = Redaction::new(
            ["X-Tenant-Key"],
            ["sk_live_abcdef".to_owned(), "ab".to_owned()],
        );
        let kept = redaction.keep(&json!({
            "headers": {"Authorization": "Bearer x", "x-custom-auth": "y", "X-Tenant-Key": "z"},
            "private_key": "-----BEGIN",
            "sig": "abc",
            "tokenType": "bearer",
            "body": "the key sk_live_abcdef was sent; ab stays\u{0}",
            "list": ["sk_live_abcdef"],
        }));
        assert_eq!(
            kept,
            json!({
                "headers": {"Authorization": REDACTED, "x-custom-auth": REDACTED, "X-Tenant-Key": REDACTED},
                "private_key": REDACTED,
                "sig": REDACTED,
                "tokenType": "bearer",
                "body": "the key [REDACTED] was sent; ab stays\u{FFFD}",
                "list": [REDACTED],
            })
        );
        assert!(!format!("{redaction:?}").contains("sk_live"));
    }
}
