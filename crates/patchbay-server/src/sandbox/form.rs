//! `application/x-www-form-urlencoded` parameters as OAuth reads them
//! (RFC 6749 §3.1): a parameter sent without a value counts as absent, and
//! one sent twice makes the request invalid.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub(super) struct Params(HashMap<String, String>);

impl Params {
    /// Parses a query string or form body; `Err` names a repeated parameter.
    pub fn parse(input: &[u8]) -> Result<Self, String> {
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(input) {
            if value.is_empty() {
                continue;
            }
            if params.insert(name.to_string(), value.to_string()).is_some() {
                return Err(format!("the parameter `{name}` is repeated"));
            }
        }
        Ok(Self(params))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// Decodes one form-urlencoded value, as client credentials in HTTP Basic
/// are encoded (RFC 6749 §2.3.1). Percent sequences that do not decode to
/// UTF-8 leave the value as it came: most clients do not encode at all.
pub(super) fn decode_component(raw: &str) -> String {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut input = raw.bytes();
    while let Some(byte) = input.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = [input.next(), input.next()];
                let decoded = match hex {
                    [Some(high), Some(low)] => char::from(high)
                        .to_digit(16)
                        .zip(char::from(low).to_digit(16))
                        .and_then(|(high, low)| u8::try_from(high * 16 + low).ok()),
                    _ => None,
                };
                match decoded {
                    Some(decoded) => bytes.push(decoded),
                    None => return raw.to_owned(),
                }
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|_| raw.to_owned())
}
