//! Where a proxied request may go.
//!
//! The client names the target as the rest of its own request path, which Patchbay then calls
//! with the account's credentials attached. A path that could leave the integration's base URL
//! would hand those credentials to whoever the client names, so everything here errs towards
//! rejection, and each rule is stated once:
//!
//! - **Relative paths** are appended below the base URL's path. The path is checked decoded once
//!   (and in its NFKC form, because some servers normalise Unicode), but forwarded exactly as the
//!   client encoded it: `%20` stays `%20`, `%2F` is never turned into a separator by us — and is
//!   rejected, because a server that does decode it would see different segments than we
//!   checked. A segment is rejected when its decoded form is a dot segment, contains a separator,
//!   a control character or `@`, is not UTF-8 (overlong encodings), or would decode a second
//!   time (`%252e`). Empty segments are rejected except a trailing one (`users/`), since `//` is
//!   how an authority starts. A raw path uses only RFC 3986 path characters; `@` is rejected even
//!   though RFC 3986 allows it, as docs/api.md asks (it is how `host@evil` tricks start).
//! - **Full URLs** (`https://files.slack.com/x`, or `https:/files.slack.com/x` after a client
//!   collapsed the slashes) must keep the base URL's scheme and port, carry no userinfo, and name
//!   the base host itself or a host under the base host's registrable domain, as the Public
//!   Suffix List defines it, private section included: below `acme.myshopify.com` another
//!   shop's `other.myshopify.com` is a different registrant. The host is judged after the `url`
//!   crate parsed it (IDNA mapped, IPv4 forms normalised), so what is checked is what would be
//!   connected to. IP literals and `localhost` are only ever allowed when they are the base host.
//! - **The query** is kept byte for byte (order, repeated and encoded keys), except for what the
//!   URL standard itself re-encodes (`'` `"` `<` `>` become `%27` `%22` `%3C` `%3E`, equivalent
//!   to every server). Encoded control characters are allowed there: they stay encoded, and form
//!   values legitimately hold newlines. Raw control characters, spaces, `#` and malformed
//!   percent-escapes are not.

use std::fmt;

use unicode_normalization::UnicodeNormalization as _;
use url::{Host, Url};

/// Why a proxy target was refused. The message is short and never quotes the request, so it can
/// go into a `400 proxy_url_not_allowed` as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// A `%` not followed by two hex digits, or a decoded segment that is not UTF-8.
    InvalidEncoding,
    /// A raw character that has no place in a request path or query (space, `"`, non-ASCII…).
    InvalidCharacter,
    /// A control character, raw or percent-encoded.
    ControlCharacter,
    /// `\`, or `/` or `\` percent-encoded (or a Unicode form of them) inside a segment.
    Separator,
    /// `.` or `..` in any encoding, including `..;param` and Unicode look-alikes.
    DotSegment,
    /// An empty segment before the last one (`a//b`, or a path starting with `/`).
    EmptySegment,
    /// `@`, raw or encoded.
    AtSign,
    /// A segment that would decode a second time (`%252e`).
    DoubleEncoding,
    /// A `#` fragment.
    Fragment,
    /// A URL with a scheme other than `http`/`https`, or a full URL in a form not accepted.
    Scheme,
    /// A full URL whose scheme differs from the base URL's.
    SchemeMismatch,
    /// A full URL whose port differs from the base URL's.
    PortMismatch,
    /// A full URL with a user name or password.
    Userinfo,
    /// A full URL naming an IP address that is not the base host.
    IpHost,
    /// A full URL naming `localhost` (or below it) that is not the base host.
    LocalHost,
    /// A full URL whose host cannot be parsed, or ends in a dot, or has empty labels.
    InvalidHost,
    /// A full URL on a host outside the base host's registrable domain.
    HostNotAllowed,
    /// The base URL itself cannot have paths appended (it has no host).
    InvalidBase,
    /// URL normalisation would have changed what was checked (defence in depth; no known input).
    NotCanonical,
}

impl Reason {
    /// A short English sentence fragment for the error message.
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidEncoding => "the path is not valid percent-encoded UTF-8",
            Self::InvalidCharacter => "the path or query contains a character that is not allowed",
            Self::ControlCharacter => "the path or query contains a control character",
            Self::Separator => "the path contains a backslash or an encoded slash",
            Self::DotSegment => "the path contains a `.` or `..` segment",
            Self::EmptySegment => "the path contains an empty segment",
            Self::AtSign => "the path contains `@`",
            Self::DoubleEncoding => "the path is percent-encoded twice",
            Self::Fragment => "the path or query contains a fragment",
            Self::Scheme => "only http and https URLs in the form `https://host/path` are allowed",
            Self::SchemeMismatch => "the URL's scheme differs from the integration's base URL",
            Self::PortMismatch => "the URL's port differs from the integration's base URL",
            Self::Userinfo => "the URL contains a user name or password",
            Self::IpHost => "the URL's host is an IP address",
            Self::LocalHost => "the URL's host is localhost",
            Self::InvalidHost => "the URL's host is not a valid domain name",
            Self::HostNotAllowed => "the URL's host is outside the integration's domain",
            Self::InvalidBase => "the integration's base URL cannot have a path appended",
            Self::NotCanonical => "the URL would be changed by normalisation",
        }
    }
}

/// A proxy target refused by [`resolve`]. `Display` is the message for
/// `400 proxy_url_not_allowed`; the only part of the request it may repeat is a refused host,
/// reduced to at most [`UrlRejected::SNIPPET_MAX`] characters of `[a-z0-9.-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlRejected {
    reason: Reason,
    snippet: Option<String>,
}

impl UrlRejected {
    /// The longest snippet a rejection carries.
    pub const SNIPPET_MAX: usize = 64;

    fn new(reason: Reason) -> Self {
        Self {
            reason,
            snippet: None,
        }
    }

    fn with_host(reason: Reason, host: &str) -> Self {
        Self {
            reason,
            snippet: Some(sanitize(host)),
        }
    }

    /// Which rule refused the target.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The refused host, sanitised, when the host was the problem.
    pub fn snippet(&self) -> Option<&str> {
        self.snippet.as_deref()
    }
}

impl From<Reason> for UrlRejected {
    fn from(reason: Reason) -> Self {
        Self::new(reason)
    }
}

impl fmt::Display for UrlRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.snippet {
            Some(snippet) => write!(f, "{} (`{snippet}`)", self.reason.message()),
            None => f.write_str(self.reason.message()),
        }
    }
}

impl std::error::Error for UrlRejected {}

/// Hosts reach the snippet already parsed (ASCII, lowercase), but the snippet is built so that
/// it cannot carry anything else whatever it is given.
fn sanitize(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '?',
        })
        .take(UrlRejected::SNIPPET_MAX)
        .collect();
    if text.chars().count() > UrlRejected::SNIPPET_MAX {
        out.pop();
        out.push('…');
    }
    out
}

/// The URL a proxy request goes to: `raw_path` (the still percent-encoded rest of the request
/// path after `/proxy/{type}/`) below `base`, or the full URL it spells; with `raw_query` (the
/// raw query string, if the request had a `?`), after any query the base URL has when the path
/// is relative.
///
/// An empty `raw_path` is the base URL itself. The base URL's fragment is dropped.
///
/// `raw_path` must be taken from the request URI as received (`uri.path()` minus the route
/// prefix), never from a router capture that was already percent-decoded: the checks here
/// decode exactly once, and the encoding they see is the encoding that is forwarded.
pub fn resolve(base: &Url, raw_path: &str, raw_query: Option<&str>) -> Result<Url, UrlRejected> {
    if base.cannot_be_a_base() || base.host().is_none() {
        return Err(Reason::InvalidBase.into());
    }
    if let Some(query) = raw_query {
        check_query(query)?;
    }
    // A relative path keeps the base URL's own query (an `api-version=` belongs to every call
    // below it) and appends the request's; a full URL is complete with the request's alone.
    let (mut url, query) = match full_url_scheme(raw_path) {
        Some(scheme_len) => (
            full_url(base, raw_path, scheme_len)?,
            raw_query.map(str::to_owned),
        ),
        None => {
            let query = match (base.query(), raw_query) {
                (Some(own), Some(extra)) if !extra.is_empty() => Some(format!("{own}&{extra}")),
                (Some(own), _) => Some(own.to_owned()),
                (None, extra) => extra.map(str::to_owned),
            };
            (relative(base, raw_path)?, query)
        }
    };
    url.set_fragment(None);
    url.set_query(query.as_deref());
    // `url` re-encodes a few query characters; anything else changing means the query was
    // not what was checked.
    let expected = query.as_deref().map(url_query_encoding);
    if url.query().map(str::to_owned) != expected {
        return Err(Reason::NotCanonical.into());
    }
    Ok(url)
}

/// `base` with `raw_path` appended below its path, checked.
fn relative(base: &Url, raw_path: &str) -> Result<Url, UrlRejected> {
    check_path(raw_path)?;
    check_first_segment(raw_path)?;
    if raw_path.is_empty() {
        return Ok(base.clone());
    }
    let path = format!("{}/{raw_path}", base.path().trim_end_matches('/'));
    let mut url = base.clone();
    url.set_path(&path);
    // Nothing checked above lets `url` normalise the path; if it ever did (dot segments, `\`),
    // the request would go somewhere that was not checked.
    if url.path() != path {
        return Err(Reason::NotCanonical.into());
    }
    Ok(url)
}

/// The length of `http:` or `https:` (any case) when `raw` starts with it: such a path is a
/// full URL, and is judged as one rather than appended.
fn full_url_scheme(raw: &str) -> Option<usize> {
    ["https:", "http:"].into_iter().find_map(|scheme| {
        raw.get(..scheme.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(scheme))
            .map(|_| scheme.len())
    })
}

/// A full URL in place of the path, allowed only on the base URL's origin or a host under its
/// registrable domain, with the same scheme and port.
fn full_url(base: &Url, raw: &str, scheme_len: usize) -> Result<Url, UrlRejected> {
    let scheme = raw[..scheme_len - 1].to_ascii_lowercase();
    let after_scheme = &raw[scheme_len..];
    // `https://host` as sent, or `https:/host` after a client or router merged the slashes;
    // `https:host` and `https:///host` are what lenient parsers guess at, so they are refused.
    let rest = after_scheme
        .strip_prefix("//")
        .or_else(|| after_scheme.strip_prefix('/'))
        .filter(|rest| !rest.starts_with('/'))
        .ok_or(Reason::Scheme)?;
    let (authority, path) = match rest.split_once('/') {
        Some((authority, path)) => (authority, path),
        None => (rest, ""),
    };
    let (host, port) = check_authority(authority)?;
    if scheme != base.scheme() {
        return Err(Reason::SchemeMismatch.into());
    }
    let mut url = Url::parse(&format!("{scheme}://{host}/")).map_err(|_| Reason::InvalidHost)?;
    let default_port = url.port_or_known_default();
    let port = port.or(default_port);
    if port != base.port_or_known_default() {
        return Err(Reason::PortMismatch.into());
    }
    let candidate = url.host().ok_or(Reason::InvalidHost)?.to_owned();
    let base_host = base.host().ok_or(Reason::InvalidBase)?.to_owned();
    if candidate != base_host {
        host_allowed(&candidate, &base_host)?;
    }
    check_path(path)?;
    let full_path = format!("/{path}");
    url.set_path(&full_path);
    if url.path() != full_path || url.host().map(|host| host.to_owned()) != Some(candidate) {
        return Err(Reason::NotCanonical.into());
    }
    // The default port is dropped by `url` itself; a non-default one equals the base's here.
    if port != default_port {
        url.set_port(port).map_err(|()| Reason::InvalidHost)?;
    }
    Ok(url)
}

/// Splits and checks the authority of a full URL: the host decoded once (an IDN may arrive
/// percent-encoded), and the explicit port, if any.
fn check_authority(authority: &str) -> Result<(String, Option<u16>), UrlRejected> {
    if authority.is_empty() {
        return Err(Reason::InvalidHost.into());
    }
    if authority.contains('@') || contains_ignore_case(authority, "%40") {
        return Err(Reason::Userinfo.into());
    }
    // An IPv6 literal keeps its colons inside brackets; it may still be the base host itself.
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (address, after) = bracketed.split_once(']').ok_or(Reason::InvalidHost)?;
        if !address
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'))
        {
            return Err(Reason::InvalidHost.into());
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(Reason::InvalidHost)?),
        };
        return Ok((format!("[{address}]"), parse_port(port)?));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let port = parse_port(port)?;
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'%'))
    {
        return Err(Reason::InvalidHost.into());
    }
    let decoded = decode(host)?;
    let decoded = String::from_utf8(decoded).map_err(|_| Reason::InvalidEncoding)?;
    // Whatever `%` hid must itself be an ordinary host character (or a Unicode letter for
    // IDNA); `url` would otherwise read `%2F`, `%3A` or `%25` with its own meaning.
    if decoded.chars().any(|c| {
        c.is_control()
            || c.is_whitespace()
            || matches!(c, '%' | '/' | '\\' | '@' | ':' | '?' | '#' | '[' | ']')
    }) {
        return Err(Reason::InvalidHost.into());
    }
    Ok((decoded, port))
}

/// A host other than the base host: a domain under the base host's registrable domain, never
/// an IP address or localhost, never a domain that only looks right (`slack.com.evil.com`).
fn host_allowed(candidate: &Host<String>, base: &Host<String>) -> Result<(), UrlRejected> {
    let candidate = match candidate {
        Host::Domain(domain) => domain,
        Host::Ipv4(_) | Host::Ipv6(_) => return Err(Reason::IpHost.into()),
    };
    if candidate.ends_with('.') || candidate.split('.').any(str::is_empty) {
        return Err(UrlRejected::with_host(Reason::InvalidHost, candidate));
    }
    if candidate == "localhost" || candidate.ends_with(".localhost") {
        return Err(Reason::LocalHost.into());
    }
    let not_allowed = || UrlRejected::with_host(Reason::HostNotAllowed, candidate);
    let Host::Domain(base) = base else {
        return Err(not_allowed());
    };
    // A base host that is itself a public suffix (or a single label) has no registrable
    // domain: then only the base host itself is allowed.
    let base_domain = registrable_domain(base).ok_or_else(not_allowed)?;
    // Comparing registrable domains, not string suffixes: `attacker.s3.amazonaws.com` ends in
    // `.amazonaws.com`, but `s3.amazonaws.com` is a public suffix, so it is its own registrant.
    let candidate_domain = registrable_domain(candidate).ok_or_else(not_allowed)?;
    if candidate_domain != base_domain {
        return Err(not_allowed());
    }
    Ok(())
}

/// The registrable domain ("eTLD+1") by the Public Suffix List, ICANN and private sections
/// alike; unlisted TLDs follow the list's implicit `*` rule.
fn registrable_domain(host: &str) -> Option<&str> {
    psl::domain_str(host)
}

/// The syntax of a raw path and the meaning of each of its segments decoded once.
fn check_path(raw: &str) -> Result<(), UrlRejected> {
    check_path_characters(raw)?;
    if raw.is_empty() {
        return Ok(());
    }
    let segments: Vec<&str> = raw.split('/').collect();
    let last = segments.len() - 1;
    for (index, segment) in segments.into_iter().enumerate() {
        if segment.is_empty() {
            if index == last {
                continue;
            }
            return Err(Reason::EmptySegment.into());
        }
        check_segment(segment)?;
    }
    Ok(())
}

/// Characters as they arrive: RFC 3986 `pchar` and `/`, minus `@`, with every `%` starting a
/// valid escape. A path never carries `?` or `#`: the query arrives separately, and a fragment
/// is not something a client sends.
fn check_path_characters(raw: &str) -> Result<(), UrlRejected> {
    let bytes = raw.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        match byte {
            b'\\' => return Err(Reason::Separator.into()),
            b'@' => return Err(Reason::AtSign.into()),
            b'#' => return Err(Reason::Fragment.into()),
            b'%' => {
                if !is_escape(bytes, index) {
                    return Err(Reason::InvalidEncoding.into());
                }
            }
            _ if byte.is_ascii_control() => return Err(Reason::ControlCharacter.into()),
            _ if is_pchar(byte) || byte == b'/' => {}
            _ => return Err(Reason::InvalidCharacter.into()),
        }
    }
    Ok(())
}

/// One segment decoded once, and again in NFKC form (`．．` is `..` to a server that
/// normalises): it must still be one ordinary segment.
fn check_segment(segment: &str) -> Result<(), UrlRejected> {
    let decoded = decode(segment)?;
    if decoded.iter().any(u8::is_ascii_control) {
        return Err(Reason::ControlCharacter.into());
    }
    // Overlong (`%c0%ae`) and other invalid UTF-8 is refused rather than guessed at: servers
    // differ in how they read it, which is the whole attack.
    let decoded = String::from_utf8(decoded).map_err(|_| Reason::InvalidEncoding)?;
    check_decoded(&decoded)?;
    let normalised: String = decoded.nfkc().collect();
    if normalised != decoded {
        check_decoded(&normalised)?;
    }
    Ok(())
}

fn check_decoded(decoded: &str) -> Result<(), UrlRejected> {
    if decoded.chars().any(char::is_control) {
        return Err(Reason::ControlCharacter.into());
    }
    if decoded.contains(['/', '\\']) {
        return Err(Reason::Separator.into());
    }
    if decoded.contains('@') {
        return Err(Reason::AtSign.into());
    }
    let bytes = decoded.as_bytes();
    if (0..bytes.len()).any(|index| bytes[index] == b'%' && is_escape(bytes, index)) {
        return Err(Reason::DoubleEncoding.into());
    }
    if is_dot_segment(decoded) {
        return Err(Reason::DotSegment.into());
    }
    Ok(())
}

/// `.` and `..`, and what some server may still read as them: path parameters stripped
/// (`..;jsessionid`, as Tomcat does), trailing dots and spaces stripped (`...`, `.. `, as
/// Windows does). `.well-known` and `a..b` are ordinary names.
fn is_dot_segment(decoded: &str) -> bool {
    let name = decoded.split(';').next().unwrap_or_default();
    name.contains('.') && name.chars().all(|c| c == '.' || c.is_whitespace())
}

/// The first segment of a relative path must not be read as a URL scheme by anything lenient
/// further down: `https%3A` is a full URL in disguise, `file:` or `gopher:` a classic of SSRF.
/// Other colons stay allowed (`v1:batchGet`, `files:copy`).
fn check_first_segment(raw: &str) -> Result<(), UrlRejected> {
    const SCHEMES: [&str; 16] = [
        "http",
        "https",
        "ftp",
        "file",
        "data",
        "javascript",
        "vbscript",
        "blob",
        "ws",
        "wss",
        "gopher",
        "mailto",
        "ldap",
        "dict",
        "jar",
        "netdoc",
    ];
    let first = raw.split('/').next().unwrap_or_default();
    let decoded = String::from_utf8(decode(first)?).map_err(|_| Reason::InvalidEncoding)?;
    let normalised: String = decoded.nfkc().collect();
    for form in [decoded.as_str(), normalised.as_str()] {
        if let Some((scheme, _)) = form.split_once(':') {
            let scheme = scheme.trim();
            if SCHEMES
                .iter()
                .any(|known| scheme.eq_ignore_ascii_case(known))
            {
                return Err(Reason::Scheme.into());
            }
        }
    }
    Ok(())
}

/// Query characters as they arrive. Printable ASCII only; `%` must start an escape.
fn check_query(raw: &str) -> Result<(), UrlRejected> {
    let bytes = raw.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        match byte {
            b'#' => return Err(Reason::Fragment.into()),
            b'%' => {
                if !is_escape(bytes, index) {
                    return Err(Reason::InvalidEncoding.into());
                }
            }
            _ if byte.is_ascii_control() => return Err(Reason::ControlCharacter.into()),
            b' ' => return Err(Reason::InvalidCharacter.into()),
            _ if byte.is_ascii() => {}
            _ => return Err(Reason::InvalidCharacter.into()),
        }
    }
    Ok(())
}

/// What `url` makes of a query it is given for an `http(s)` URL: the special-query encode set.
fn url_query_encoding(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    for c in query.chars() {
        match c {
            '\'' => out.push_str("%27"),
            '"' => out.push_str("%22"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            _ => out.push(c),
        }
    }
    out
}

/// RFC 3986 `pchar` without `%` (checked separately) and without `@` (refused).
fn is_pchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
        )
}

/// Whether `bytes[index]` (a `%`) starts a valid escape.
fn is_escape(bytes: &[u8], index: usize) -> bool {
    matches!(
        bytes.get(index + 1..index + 3),
        Some([high, low]) if high.is_ascii_hexdigit() && low.is_ascii_hexdigit()
    )
}

/// Percent-decodes once, strictly: a `%` without two hex digits is an error, not a literal.
fn decode(raw: &str) -> Result<Vec<u8>, UrlRejected> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let value = bytes
                .get(index + 1..index + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or(Reason::InvalidEncoding)?;
            out.push(value);
            index += 3;
        } else {
            out.push(byte);
            index += 1;
        }
    }
    Ok(out)
}

/// An explicit port: digits only (`u16` parsing would accept a leading `+`), at most five.
fn parse_port(port: Option<&str>) -> Result<Option<u16>, UrlRejected> {
    let Some(port) = port else {
        return Ok(None);
    };
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::InvalidHost.into());
    }
    Ok(Some(port.parse::<u16>().map_err(|_| Reason::InvalidHost)?))
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}
