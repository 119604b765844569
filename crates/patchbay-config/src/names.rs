//! The shapes of names: slugs, identifiers, header names.

/// Integration types, workflow ids and provider ids: [`SLUG_PATTERN`].
/// They appear in URL paths (`/sdk/proxy/{type}/...`), so they are kept URL-safe and short.
pub(crate) fn is_slug(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some('a'..='z'))
        && text.len() <= 63
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
}

/// [`is_slug`] as a regular expression, for the JSON Schema.
pub(crate) const SLUG_PATTERN: &str = "^[a-z][a-z0-9_-]{0,62}$";

pub(crate) const SLUG_RULE: &str = "must start with a lowercase letter and contain only lowercase letters, digits, `_` and `-` \
     (at most 63 characters)";

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
