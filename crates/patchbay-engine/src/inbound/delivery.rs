//! A delivery as the templates of an integration's `webhooks` read it: `headers` (names in
//! lower case), `body` (its JSON, its form fields, or its text), `rawBody`, `query`, `method`
//! and `url`; verification adds `timestamp`.

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use serde_json::{Map, Value, json};

use crate::error::{EngineError, EngineResult};

/// A delivery as it reached Patchbay.
#[derive(Debug, Clone)]
pub struct IncomingDelivery {
    pub method: String,
    /// The URL the provider called, as it called it (the public URL, path and query): some
    /// providers sign it.
    pub url: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl IncomingDelivery {
    /// The template context of this delivery. A body that is not UTF-8 is refused: every
    /// provider sends text, and the signed content is text too.
    pub(super) fn context(&self) -> EngineResult<Value> {
        let raw = std::str::from_utf8(&self.body)
            .map_err(|_| EngineError::InvalidDelivery("the body is not UTF-8 text".to_owned()))?;
        Ok(json!({
            "headers": self.header_map(),
            "body": self.parsed_body(raw),
            "rawBody": raw,
            "query": self.query(),
            "method": self.method,
            "url": self.url,
        }))
    }

    /// Each header once, by its lower-case name; repeated ones joined by `, ` as HTTP allows.
    fn header_map(&self) -> Map<String, Value> {
        let mut headers = Map::new();
        for name in self.headers.keys() {
            let values: Vec<&str> = self
                .headers
                .get_all(name)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .collect();
            headers.insert(name.as_str().to_owned(), Value::String(values.join(", ")));
        }
        headers
    }

    fn query(&self) -> Map<String, Value> {
        let query = self.url.split_once('?').map_or("", |(_, query)| query);
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
            .collect()
    }

    fn parsed_body(&self, raw: &str) -> Value {
        let form = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        if form {
            return Value::Object(
                url::form_urlencoded::parse(raw.as_bytes())
                    .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
                    .collect(),
            );
        }
        serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn delivery(content_type: &str, body: &'static [u8]) -> IncomingDelivery {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        headers.append("X-Event", HeaderValue::from_static("a"));
        headers.append("X-Event", HeaderValue::from_static("b"));
        IncomingDelivery {
            method: "POST".to_owned(),
            url: "https://patchbay.example/webhooks/p/slack?team=T1&x=%20y".to_owned(),
            headers,
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn json_form_and_text_bodies_are_read_as_such() {
        let json_body = delivery("application/json", br#"{"type":"event_callback"}"#);
        let context = json_body.context().unwrap();
        assert_eq!(context["body"]["type"], "event_callback");
        assert_eq!(context["rawBody"], r#"{"type":"event_callback"}"#);
        assert_eq!(context["headers"]["x-event"], "a, b");
        assert_eq!(context["query"]["team"], "T1");
        assert_eq!(context["query"]["x"], " y");
        let form = delivery("application/x-www-form-urlencoded", b"team_id=T1&text=a+b");
        assert_eq!(form.context().unwrap()["body"]["text"], "a b");
        let text = delivery("text/plain", b"ping");
        assert_eq!(text.context().unwrap()["body"], "ping");
    }

    #[test]
    fn a_body_that_is_not_utf8_is_refused() {
        let binary = delivery("application/octet-stream", b"\xff\xfe");
        assert!(matches!(
            binary.context(),
            Err(EngineError::InvalidDelivery(_))
        ));
    }
}
