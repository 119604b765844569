//! The shapes of names: slugs, integration types, workflow ids, identifiers, header names.

/// Catalogue provider ids, and workflow ids of our own making: [`SLUG_PATTERN`].
/// Provider ids name files (`providers/<id>.yaml`), so they are kept lowercase and short.
pub(crate) fn is_slug(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some('a'..='z'))
        && text.len() <= 63
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
}

/// [`is_slug`] as a regular expression, for the JSON Schemas.
pub(crate) const SLUG_PATTERN: &str = "^[a-z][a-z0-9_-]{0,62}$";

pub(crate) const SLUG_RULE: &str = "must start with a lowercase letter and contain only lowercase letters, digits, `_` and `-` \
     (at most 63 characters)";

/// The proxy's path for a custom integration addressed by id is
/// `/sdk/proxy/custom/{integrationId}/...`, so no integration may be called just `custom`.
pub(crate) const RESERVED_INTEGRATION_TYPE: &str = "custom";

/// Integration types, in Paragon's alphabet as well as ours: `crm`, `google-sheets`,
/// `googleCalendar`, `custom.billing`, `monday.com`. Dot-separated words of letters, digits,
/// `_` and `-`, the first starting with a letter. They appear as one URL path segment
/// (`/sdk/proxy/{type}/...`), which none of these characters can break out of.
pub(crate) fn is_integration_type(text: &str) -> bool {
    text.len() <= 63
        && text != RESERVED_INTEGRATION_TYPE
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.split('.').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        })
}

/// [`is_integration_type`] as a regular expression, for the JSON Schema (which states the
/// length limit and the reserved name beside it).
pub(crate) const INTEGRATION_TYPE_PATTERN: &str = "^[A-Za-z][A-Za-z0-9_-]*(\\.[A-Za-z0-9_-]+)*$";

pub(crate) const INTEGRATION_TYPE_RULE: &str = "must be words of letters, digits, `_` and `-` joined by `.`, starting with a letter \
     (`crm`, `googleCalendar`, `custom.billing`; at most 63 characters), and not `custom` \
     alone";

/// Workflow ids: a slug of ours (`sync-contacts`) or a UUID in lowercase, as Paragon's are.
pub(crate) fn is_workflow_id(text: &str) -> bool {
    is_slug(text) || uuid::Uuid::try_parse(text).is_ok_and(|id| id.hyphenated().to_string() == text)
}

/// [`is_workflow_id`] as a regular expression, for the JSON Schema.
pub(crate) const WORKFLOW_ID_PATTERN: &str =
    "^([a-z][a-z0-9_-]{0,62}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$";

pub(crate) const WORKFLOW_ID_RULE: &str = "must be a UUID in lowercase, or start with a lowercase letter and contain only lowercase \
     letters, digits, `_` and `-` (at most 63 characters)";

/// Step ids, setting ids and credential field ids: [`IDENTIFIER_PATTERN`].
/// Templates reach them as `steps.<id>` or `settings.<id>`, and an id such as `create-contact`
/// would read as a subtraction there.
pub(crate) fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some('a'..='z' | 'A'..='Z' | '_'))
        && text.len() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// [`is_identifier`] as a regular expression, for the JSON Schema.
pub(crate) const IDENTIFIER_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]{0,62}$";

pub(crate) const IDENTIFIER_RULE: &str = "must start with a letter or `_` and contain only letters, digits and `_` (at most 63 \
     characters), so templates can name it";

/// An HTTP header name (RFC 9110 `token`).
pub(crate) fn is_header_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
