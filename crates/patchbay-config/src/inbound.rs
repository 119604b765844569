//! Deliveries a provider sends to Patchbay, its webhooks: how a delivery proves it comes from
//! the provider, the provider's URL-verification handshake, which event it carries and which
//! connected accounts it concerns. The definition's `webhooks`; providers/README.md documents
//! it.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::errors::{Report, field};
use crate::names::is_header_name;
use crate::request::{ProviderRequest, check_request};
use crate::template::{Found, Variables, check_expression, check_roots, check_template};
use crate::typed::{Tagged, deserialize_tagged};

/// What the templates of `webhooks` read: the delivery as it arrived.
pub const DELIVERY_ROOTS: [&str; 7] = [
    "headers",
    "body",
    "rawBody",
    "query",
    "method",
    "url",
    "timestamp",
];

/// The longest replay window a signature may allow: providers that sign a timestamp ask for
/// five minutes; an hour leaves room for clock skew and is still a window.
const MAX_TOLERANCE_SECONDS: u32 = 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InboundWebhooks {
    /// How a delivery proves it comes from the provider, with the integration's
    /// `webhookSecret`.
    pub signature: WebhookSignature,
    /// The provider's URL-verification handshake, answered before any event arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake: Option<WebhookHandshake>,
    /// The event's type, which `trigger.event` of a workflow names: `{{ body.type }}`.
    pub event_type: String,
    /// The event's own id, by which a delivery the provider sends again is recognised and
    /// not run twice: `{{ headers['x-github-delivery'] }}`. Without it, nothing is deduplicated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Which connected accounts a delivery concerns.
    pub account: WebhookAccount,
    /// For providers whose webhooks each account registers through its API: the request that
    /// registers one when an account connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<WebhookSubscribe>,
    /// The request that removes it when the account disconnects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<WebhookUnsubscribe>,
}

/// Registers the integration's webhook URL through an account's API; its templates read
/// `webhookUrl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSubscribe {
    pub request: ProviderRequest,
    /// The registered webhook's id in the answer, kept with the account for `unsubscribe`:
    /// `{{ response.body.id }}`.
    pub id: String,
}

/// Removes an account's registered webhook; its templates read `subscription.id` and
/// `webhookUrl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookUnsubscribe {
    pub request: ProviderRequest,
}

/// How a delivery is verified; tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub enum WebhookSignature {
    /// An HMAC of the delivery, keyed with the secret, in a header.
    Hmac(HmacSignature),
    /// The secret itself in a header (GitLab's `X-Gitlab-Token`).
    Token(TokenSignature),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureType {
    Hmac,
    Token,
}

impl Tagged for WebhookSignature {
    type Kind = SignatureType;
    const EXPECTING: &'static str = "a signature with `type: hmac | token`";

    fn variant<'de, D: Deserializer<'de>>(kind: SignatureType, rest: D) -> Result<Self, D::Error> {
        Ok(match kind {
            SignatureType::Hmac => Self::Hmac(HmacSignature::deserialize(rest)?),
            SignatureType::Token => Self::Token(TokenSignature::deserialize(rest)?),
        })
    }
}

impl<'de> Deserialize<'de> for WebhookSignature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_tagged(deserializer)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HmacSignature {
    #[serde(default)]
    pub algorithm: HmacAlgorithm,
    /// The header carrying the signature.
    pub header: String,
    /// How the signature's bytes are written.
    #[serde(default)]
    pub encoding: SignatureEncoding,
    /// Text before the encoded signature (`sha256=`, `v0=`), required when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// For a header of comma-separated `key=value` parts (Stripe's `t=…,v1=…`): the key of the
    /// part holding a signature. The delivery is genuine when any part of that key matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// What is signed, a template over the delivery: `v0:{{ timestamp }}:{{ rawBody }}`.
    #[serde(default = "raw_body", skip_serializing_if = "is_raw_body")]
    pub signed: String,
    /// Where the signed time of the delivery is, which bounds how late it may be replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<SignatureTimestamp>,
}

fn raw_body() -> String {
    "{{ rawBody }}".to_owned()
}

fn is_raw_body(text: &String) -> bool {
    *text == raw_body()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HmacAlgorithm {
    #[default]
    Sha256,
    /// Older schemes (Intercom's `X-Hub-Signature`).
    Sha1,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

/// The delivery's signed time, in Unix seconds: in a header of its own (Slack's
/// `X-Slack-Request-Timestamp`) or in a part of the signature header (Stripe's `t`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureTimestamp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// How far from now the signed time may be. Default 300 (five minutes).
    #[serde(default = "five_minutes")]
    #[schemars(range(min = 1, max = 3600))]
    pub tolerance_seconds: u32,
}

fn five_minutes() -> u32 {
    300
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenSignature {
    /// The header carrying the secret.
    pub header: String,
    /// Text before the secret (`Bearer `), required when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// A delivery that asks Patchbay to prove it owns the URL. It is verified like any delivery,
/// answered with `response` as plain text, and neither stored nor routed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookHandshake {
    /// An expression over the delivery, true for a handshake: `body.type == 'url_verification'`.
    pub when: String,
    /// What to answer, a template: `{{ body.challenge }}`.
    pub response: String,
}

/// The accounts a delivery concerns: those whose `field` equals the rendered `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookAccount {
    /// A template over the delivery: `{{ body.team_id }}`.
    pub value: String,
    /// What of an account `value` is compared with: `providerId` (default: the account's id
    /// at the provider, as the account step read it), or `providerData.<path>` for a field of
    /// what the account step recorded.
    #[serde(default = "provider_id", skip_serializing_if = "is_provider_id")]
    pub field: String,
}

fn provider_id() -> String {
    PROVIDER_ID.to_owned()
}

fn is_provider_id(text: &String) -> bool {
    text == PROVIDER_ID
}

const PROVIDER_ID: &str = "providerId";
const PROVIDER_DATA: &str = "providerData.";

/// What of an account a delivery is routed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountField<'a> {
    ProviderId,
    /// The dotted path below `providerData`.
    ProviderData(&'a str),
}

impl WebhookAccount {
    /// `field`, read; `None` for a field the document checks refuse.
    pub fn account_field(&self) -> Option<AccountField<'_>> {
        if self.field == PROVIDER_ID {
            return Some(AccountField::ProviderId);
        }
        let path = self.field.strip_prefix(PROVIDER_DATA)?;
        let valid = path.split('.').all(|key| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        valid.then_some(AccountField::ProviderData(path))
    }
}

/// Checks what the types cannot: header names, templates and the names they read, and parts
/// that only make sense together.
pub(crate) fn check_webhooks(webhooks: &InboundWebhooks, path: &str, report: &mut Report) {
    let signature_path = field(path, "signature");
    match &webhooks.signature {
        WebhookSignature::Hmac(hmac) => check_hmac(hmac, &signature_path, report),
        WebhookSignature::Token(token) => {
            check_header(&token.header, &field(&signature_path, "header"), report);
        }
    }
    if let Some(handshake) = &webhooks.handshake {
        let at = field(path, "handshake");
        let when = field(&at, "when");
        if let Some(variables) = check_expression(&handshake.when, &when, report) {
            check_delivery_roots(&variables, &when, report);
        }
        delivery_template(&handshake.response, &field(&at, "response"), report);
    }
    delivery_template(&webhooks.event_type, &field(path, "eventType"), report);
    if let Some(event_id) = &webhooks.event_id {
        delivery_template(event_id, &field(path, "eventId"), report);
    }
    check_subscription(webhooks, path, report);
    let account = field(path, "account");
    delivery_template(&webhooks.account.value, &field(&account, "value"), report);
    if webhooks.account.account_field().is_none() {
        report.error(
            field(&account, "field"),
            format!(
                "`{}` is not an account field: expected `providerId` or \
                 `providerData.<key>[.<key>…]`",
                webhooks.account.field
            ),
        );
    }
}

/// What `subscribe` and `unsubscribe` read.
const SUBSCRIBE_ROOTS: [&str; 1] = ["webhookUrl"];
const SUBSCRIPTION_ID_ROOTS: [&str; 1] = ["response"];
const UNSUBSCRIBE_ROOTS: [&str; 2] = ["webhookUrl", "subscription"];

fn check_subscription(webhooks: &InboundWebhooks, path: &str, report: &mut Report) {
    if let Some(subscribe) = &webhooks.subscribe {
        let at = field(path, "subscribe");
        subscription_request(
            &subscribe.request,
            &field(&at, "request"),
            &SUBSCRIBE_ROOTS,
            report,
        );
        let id = field(&at, "id");
        if let Some(variables) = check_template(&subscribe.id, &id, report) {
            check_roots(&variables, &SUBSCRIPTION_ID_ROOTS, &id, report);
        }
    }
    match (&webhooks.subscribe, &webhooks.unsubscribe) {
        (None, Some(_)) => report.error(
            field(path, "unsubscribe"),
            "removes what `subscribe` registered: give `subscribe` too",
        ),
        (_, Some(unsubscribe)) => subscription_request(
            &unsubscribe.request,
            &field(&field(path, "unsubscribe"), "request"),
            &UNSUBSCRIBE_ROOTS,
            report,
        ),
        _ => {}
    }
}

fn subscription_request(
    request: &ProviderRequest,
    path: &str,
    roots: &[&str],
    report: &mut Report,
) {
    if request.url.is_some() {
        report.error(
            field(path, "url"),
            "the request is made as the account: give a `path` under the API's base URL",
        );
    }
    let mut found = Found::new();
    check_request(request, path, report, &mut found);
    for (value_path, variables) in &found {
        check_roots(variables, roots, value_path, report);
    }
}

fn check_hmac(hmac: &HmacSignature, path: &str, report: &mut Report) {
    check_header(&hmac.header, &field(path, "header"), report);
    for (key, value) in [("prefix", &hmac.prefix), ("part", &hmac.part)] {
        if value.as_deref().is_some_and(|text| text.trim().is_empty()) {
            report.error(field(path, key), "must not be empty");
        }
    }
    let signed = field(path, "signed");
    if let Some(variables) = delivery_template(&hmac.signed, &signed, report)
        && variables.contains("timestamp")
        && hmac.timestamp.is_none()
    {
        report.error(
            &signed,
            "reads `timestamp`, but the signature gives none: add `timestamp` with its \
             `header` or `part`",
        );
    }
    let Some(timestamp) = &hmac.timestamp else {
        return;
    };
    let at = field(path, "timestamp");
    match (&timestamp.header, &timestamp.part) {
        (Some(header), None) => check_header(header, &field(&at, "header"), report),
        (None, Some(_)) if hmac.part.is_none() => report.error(
            field(&at, "part"),
            "a timestamp part needs a signature header of parts: give the signature's `part`",
        ),
        (None, Some(_)) => {}
        _ => report.error(
            &at,
            "give either `header` or `part`: where the signed time is",
        ),
    }
    if !(1..=MAX_TOLERANCE_SECONDS).contains(&timestamp.tolerance_seconds) {
        report.error(
            field(&at, "toleranceSeconds"),
            format!("must be between 1 and {MAX_TOLERANCE_SECONDS}"),
        );
    }
}

fn check_header(name: &str, path: &str, report: &mut Report) {
    if !is_header_name(name) {
        report.error(path, format!("`{name}` is not a valid HTTP header name"));
    }
}

/// Checks a template over the delivery; returns the names it reads.
fn delivery_template(source: &str, path: &str, report: &mut Report) -> Option<Variables> {
    let variables = check_template(source, path, report)?;
    check_delivery_roots(&variables, path, report);
    Some(variables)
}

fn check_delivery_roots(variables: &Variables, path: &str, report: &mut Report) {
    check_roots(variables, &DELIVERY_ROOTS, path, report);
}
