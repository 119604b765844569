//! Whether a delivery comes from the provider: its signature (or token) checked against the
//! integration's webhook secret, and its signed time against the replay window. Pure: the
//! caller gives the delivery, the secret and the time.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use patchbay_config::{
    HmacAlgorithm, HmacSignature, SignatureEncoding, TokenSignature, WebhookSignature,
};
use serde_json::Value;
use subtle::ConstantTimeEq as _;

/// Why a delivery was refused. The message names what was wrong, never a secret or a
/// signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refused(message: impl Into<String>) -> Refused {
    Refused(message.into())
}

/// Checks `headers` and the delivery's template `context` (whose `timestamp` this fills in
/// from the signature) against `signature` keyed with `secret`, at `now` (Unix seconds).
pub fn verify(
    signature: &WebhookSignature,
    secret: &[u8],
    headers: &HeaderMap,
    context: &mut Value,
    now: i64,
) -> Result<(), Refused> {
    match signature {
        WebhookSignature::Hmac(hmac) => verify_hmac(hmac, secret, headers, context, now),
        WebhookSignature::Token(token) => verify_token(token, secret, headers),
    }
}

fn verify_hmac(
    config: &HmacSignature,
    secret: &[u8],
    headers: &HeaderMap,
    context: &mut Value,
    now: i64,
) -> Result<(), Refused> {
    let header = single_header(headers, &config.header)?;
    let parts = config.part.as_ref().map(|_| parts_of(header));
    let candidates: Vec<&str> = match (&config.part, &parts) {
        (Some(key), Some(parts)) => parts
            .iter()
            .filter(|(name, _)| name == key)
            .map(|(_, value)| *value)
            .collect(),
        _ => vec![header],
    };
    if let Some(timestamp) = &config.timestamp {
        let text = match (&timestamp.header, &timestamp.part, &parts) {
            (Some(name), _, _) => single_header(headers, name)?,
            (None, Some(key), Some(parts)) => parts
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| *value)
                .ok_or_else(|| {
                    refused(format!(
                        "the `{}` header has no `{key}` part",
                        config.header
                    ))
                })?,
            _ => return Err(refused("the signature's timestamp has no source")),
        };
        check_age(text, timestamp.tolerance_seconds, now)?;
        context["timestamp"] = Value::String(text.to_owned());
    }
    let signed = patchbay_oauth::render(&config.signed, context).map_err(|error| {
        refused(format!(
            "the signed content could not be made: {}",
            error.message
        ))
    })?;
    let expected = mac(config.algorithm, secret, signed.as_bytes());
    let genuine = candidates.iter().any(|candidate| {
        let encoded = match &config.prefix {
            Some(prefix) => candidate.strip_prefix(prefix.as_str()),
            None => Some(*candidate),
        };
        encoded
            .and_then(|text| decode(config.encoding, text.trim()))
            .is_some_and(|given| bool::from(given.ct_eq(&expected)))
    });
    if genuine {
        Ok(())
    } else {
        Err(refused(format!(
            "the `{}` header does not sign this delivery with the integration's webhook secret",
            config.header
        )))
    }
}

fn verify_token(
    config: &TokenSignature,
    secret: &[u8],
    headers: &HeaderMap,
) -> Result<(), Refused> {
    let header = single_header(headers, &config.header)?;
    let given = match &config.prefix {
        Some(prefix) => header.strip_prefix(prefix.as_str()).unwrap_or_default(),
        None => header,
    };
    if bool::from(given.as_bytes().ct_eq(secret)) {
        Ok(())
    } else {
        Err(refused(format!(
            "the `{}` header does not hold the integration's webhook secret",
            config.header
        )))
    }
}

/// The one value of header `name`: a delivery with none, or with several, is refused.
fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, Refused> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value
            .to_str()
            .map_err(|_| refused(format!("the `{name}` header is not text"))),
        (None, _) => Err(refused(format!("the `{name}` header is missing"))),
        (Some(_), Some(_)) => Err(refused(format!(
            "the `{name}` header is given more than once"
        ))),
    }
}

/// `t=1,v1=abc,v1=def` as `[("t", "1"), ("v1", "abc"), ("v1", "def")]`.
fn parts_of(header: &str) -> Vec<(&str, &str)> {
    header
        .split(',')
        .filter_map(|part| part.split_once('='))
        .map(|(name, value)| (name.trim(), value.trim()))
        .collect()
}

/// Seconds since the epoch, or milliseconds when the number is that long (HubSpot signs
/// milliseconds): within `tolerance` seconds of `now`, either way.
fn check_age(text: &str, tolerance: u32, now: i64) -> Result<(), Refused> {
    let value: i64 = text
        .trim()
        .parse()
        .map_err(|_| refused("the signed timestamp is not a number"))?;
    let seconds = if value > 99_999_999_999 {
        value / 1000
    } else {
        value
    };
    if now.abs_diff(seconds) > u64::from(tolerance) {
        return Err(refused(format!(
            "the delivery was signed {} s from now, more than the {tolerance} s allowed: a \
             replay, or a clock far off",
            now.saturating_sub(seconds)
        )));
    }
    Ok(())
}

fn mac(algorithm: HmacAlgorithm, secret: &[u8], content: &[u8]) -> Vec<u8> {
    // An HMAC takes a key of any length: `new_from_slice` cannot fail.
    match algorithm {
        HmacAlgorithm::Sha256 => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
            mac.update(content);
            mac.finalize().into_bytes().to_vec()
        }
        HmacAlgorithm::Sha1 => {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("any key length");
            mac.update(content);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

fn decode(encoding: SignatureEncoding, text: &str) -> Option<Vec<u8>> {
    match encoding {
        SignatureEncoding::Hex => hex::decode(text).ok(),
        SignatureEncoding::Base64 => BASE64.decode(text).ok(),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use patchbay_config::SignatureTimestamp;
    use serde_json::json;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn hmac(header: &str) -> HmacSignature {
        HmacSignature {
            algorithm: HmacAlgorithm::Sha256,
            header: header.to_owned(),
            encoding: SignatureEncoding::Hex,
            prefix: None,
            part: None,
            signed: "{{ rawBody }}".to_owned(),
            timestamp: None,
        }
    }

    // The example in GitHub's documentation of X-Hub-Signature-256.
    fn github() -> (WebhookSignature, Value) {
        let signature = WebhookSignature::Hmac(HmacSignature {
            prefix: Some("sha256=".to_owned()),
            ..hmac("x-hub-signature-256")
        });
        (signature, json!({"rawBody": "Hello, World!"}))
    }

    const GITHUB_SECRET: &[u8] = b"It's a Secret to Everybody";
    const GITHUB_SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn a_documented_github_signature_verifies() {
        let (signature, mut context) = github();
        let given = headers(&[("x-hub-signature-256", GITHUB_SIGNATURE)]);
        assert_eq!(
            verify(&signature, GITHUB_SECRET, &given, &mut context, 0),
            Ok(())
        );
    }

    #[test]
    fn another_body_secret_or_missing_prefix_is_refused() {
        let (signature, context) = github();
        let given = headers(&[("x-hub-signature-256", GITHUB_SIGNATURE)]);
        let mut changed = json!({"rawBody": "Hello, World?"});
        assert!(verify(&signature, GITHUB_SECRET, &given, &mut changed, 0).is_err());
        assert!(verify(&signature, b"another", &given, &mut context.clone(), 0).is_err());
        let bare = headers(&[("x-hub-signature-256", &GITHUB_SIGNATURE[7..])]);
        assert!(verify(&signature, GITHUB_SECRET, &bare, &mut context.clone(), 0).is_err());
        let twice = headers(&[
            ("x-hub-signature-256", GITHUB_SIGNATURE),
            ("x-hub-signature-256", GITHUB_SIGNATURE),
        ]);
        let error = verify(&signature, GITHUB_SECRET, &twice, &mut context.clone(), 0).unwrap_err();
        assert!(error.0.contains("more than once"), "{error}");
        let error = verify(
            &signature,
            GITHUB_SECRET,
            &HeaderMap::new(),
            &mut context.clone(),
            0,
        )
        .unwrap_err();
        assert!(error.0.contains("missing"), "{error}");
    }

    // The example in Slack's documentation of request signing.
    fn slack() -> WebhookSignature {
        WebhookSignature::Hmac(HmacSignature {
            prefix: Some("v0=".to_owned()),
            signed: "v0:{{ timestamp }}:{{ rawBody }}".to_owned(),
            timestamp: Some(SignatureTimestamp {
                header: Some("x-slack-request-timestamp".to_owned()),
                part: None,
                tolerance_seconds: 300,
            }),
            ..hmac("x-slack-signature")
        })
    }

    const SLACK_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SLACK_SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const SLACK_TIME: i64 = 1_531_420_618;

    fn slack_headers() -> HeaderMap {
        headers(&[
            ("x-slack-request-timestamp", "1531420618"),
            (
                "x-slack-signature",
                "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            ),
        ])
    }

    #[test]
    fn a_documented_slack_signature_verifies_within_its_window_and_fills_the_timestamp() {
        let mut context = json!({"rawBody": SLACK_BODY});
        let verified = verify(
            &slack(),
            SLACK_SECRET,
            &slack_headers(),
            &mut context,
            SLACK_TIME + 299,
        );
        assert_eq!(verified, Ok(()));
        assert_eq!(context["timestamp"], "1531420618");
    }

    #[test]
    fn the_catalogue_slack_definition_verifies_slacks_documented_example() {
        let slack = patchbay_config::catalogue().find("slack").unwrap();
        let webhooks = slack.webhooks.as_ref().unwrap();
        let mut context = json!({"rawBody": SLACK_BODY});
        let verified = verify(
            &webhooks.signature,
            SLACK_SECRET,
            &slack_headers(),
            &mut context,
            SLACK_TIME,
        );
        assert_eq!(verified, Ok(()));
    }

    #[test]
    fn a_slack_delivery_replayed_after_its_window_is_refused() {
        let mut context = json!({"rawBody": SLACK_BODY});
        let error = verify(
            &slack(),
            SLACK_SECRET,
            &slack_headers(),
            &mut context,
            SLACK_TIME + 301,
        )
        .unwrap_err();
        assert!(error.0.contains("301 s"), "{error}");
        let mut context = json!({"rawBody": SLACK_BODY});
        assert!(
            verify(
                &slack(),
                SLACK_SECRET,
                &slack_headers(),
                &mut context,
                SLACK_TIME - 301
            )
            .is_err()
        );
    }

    fn stripe() -> WebhookSignature {
        WebhookSignature::Hmac(HmacSignature {
            part: Some("v1".to_owned()),
            signed: "{{ timestamp }}.{{ rawBody }}".to_owned(),
            timestamp: Some(SignatureTimestamp {
                header: None,
                part: Some("t".to_owned()),
                tolerance_seconds: 300,
            }),
            ..hmac("stripe-signature")
        })
    }

    fn stripe_header(secret: &[u8], time: i64, body: &str) -> String {
        let signed = hex::encode(mac(
            HmacAlgorithm::Sha256,
            secret,
            format!("{time}.{body}").as_bytes(),
        ));
        // An old secret's signature first, as during a rotation of the endpoint's secret.
        let old = hex::encode(mac(
            HmacAlgorithm::Sha256,
            b"old",
            format!("{time}.{body}").as_bytes(),
        ));
        format!("t={time},v1={old},v1={signed},v0=ignored")
    }

    #[test]
    fn a_header_of_parts_verifies_when_any_part_of_the_key_matches() {
        let header = stripe_header(b"whsec_test", 1_700_000_000, "{\"id\":\"evt_1\"}");
        let given = headers(&[("stripe-signature", &header)]);
        let mut context = json!({"rawBody": "{\"id\":\"evt_1\"}"});
        assert_eq!(
            verify(
                &stripe(),
                b"whsec_test",
                &given,
                &mut context,
                1_700_000_010
            ),
            Ok(())
        );
        let mut other = json!({"rawBody": "{\"id\":\"evt_2\"}"});
        assert!(verify(&stripe(), b"whsec_test", &given, &mut other, 1_700_000_010).is_err());
        let late = verify(
            &stripe(),
            b"whsec_test",
            &given,
            &mut context,
            1_700_000_400,
        );
        assert!(late.is_err());
    }

    #[test]
    fn base64_and_sha1_signatures_verify() {
        let signature = WebhookSignature::Hmac(HmacSignature {
            algorithm: HmacAlgorithm::Sha1,
            encoding: SignatureEncoding::Base64,
            ..hmac("x-signature")
        });
        let good = BASE64.encode(mac(HmacAlgorithm::Sha1, b"key", b"body"));
        let mut context = json!({"rawBody": "body"});
        let given = headers(&[("x-signature", &good)]);
        assert_eq!(verify(&signature, b"key", &given, &mut context, 0), Ok(()));
        let hex_instead = headers(&[(
            "x-signature",
            &hex::encode(mac(HmacAlgorithm::Sha1, b"key", b"body")),
        )]);
        assert!(verify(&signature, b"key", &hex_instead, &mut context, 0).is_err());
    }

    #[test]
    fn millisecond_timestamps_are_read_as_milliseconds() {
        assert_eq!(check_age("1700000000123", 300, 1_700_000_100), Ok(()));
        assert!(check_age("1700000000123", 300, 1_700_000_400).is_err());
        assert!(check_age("soon", 300, 0).is_err());
    }

    #[test]
    fn a_token_must_equal_the_secret_after_its_prefix() {
        let signature = WebhookSignature::Token(TokenSignature {
            header: "x-gitlab-token".to_owned(),
            prefix: None,
        });
        let mut context = json!({});
        let good = headers(&[("x-gitlab-token", "s3cret")]);
        assert_eq!(
            verify(&signature, b"s3cret", &good, &mut context, 0),
            Ok(())
        );
        let bad = headers(&[("x-gitlab-token", "s3cret!")]);
        assert!(verify(&signature, b"s3cret", &bad, &mut context, 0).is_err());
        let prefixed = WebhookSignature::Token(TokenSignature {
            header: "authorization".to_owned(),
            prefix: Some("Bearer ".to_owned()),
        });
        let bearer = headers(&[("authorization", "Bearer s3cret")]);
        assert_eq!(
            verify(&prefixed, b"s3cret", &bearer, &mut context, 0),
            Ok(())
        );
        let bare = headers(&[("authorization", "s3cret")]);
        assert!(verify(&prefixed, b"s3cret", &bare, &mut context, 0).is_err());
    }
}
