//! Which headers cross the proxy, and where credentials may follow a redirect.
//!
//! Patchbay is the client of the provider, not a transparent reverse proxy: the caller's
//! credentials and identity stay with Patchbay, the account's credentials are added by the
//! server afterwards (`patchbay_oauth::auth_injection`), and nothing the provider says about
//! cookies or transport security may land on the developer's origin. Everything else crosses
//! unchanged, repeated headers in their order.

use http::header::{self, HeaderMap, HeaderName};
use url::{Origin, Url};

/// Hop-by-hop headers (RFC 9110 §7.6.1, plus the historical `Keep-Alive`, `Proxy-Connection`
/// and `Proxy-Authenticate` of RFC 2616 §13.5.1): they describe one connection, not the
/// message, and each side of the proxy has its own.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
];

/// The headers of the developer's request that go to the provider. Dropped:
///
/// - the caller's credentials: `Authorization` (the user token), `Proxy-Authorization`,
///   `Cookie`; the account's own credentials are added by the server;
/// - `X-Paragon-*`, any case: instructions to Patchbay (`X-Paragon-Credential`,
///   `X-Paragon-Use-Raw-Response`), not to the provider;
/// - `Host`: the client sets it for the upstream URL;
/// - `Forwarded`, `X-Forwarded-*`, `X-Real-IP`: Patchbay calls the provider as itself; telling
///   the provider the end user's address or the developer's internal hops leaks both, and a
///   provider must not base decisions on what the caller claims there;
/// - `Expect`: `100-continue` is answered by Patchbay's own server on the incoming hop, and the
///   outgoing client does not wait for a second one;
/// - what a browser adds about the page and itself when the developer's page calls the proxy
///   (see [`is_browser_context`]), and then the browser's `User-Agent`: the provider is called
///   by Patchbay, not by that page. Forwarded, `Origin` makes providers with a CORS policy
///   refuse the call (`origin … not allowed`), and `Referer` tells every provider which page
///   of the developer's app the user was on. Patchbay's own `User-Agent` goes instead;
///   a server-side caller's `User-Agent` is its own choice and crosses;
/// - hop-by-hop headers, and every header `Connection` names.
///
/// `Content-Length` is kept: the body is streamed byte for byte, and some APIs refuse chunked
/// uploads.
pub fn request_headers(incoming: &HeaderMap) -> HeaderMap {
    let from_browser = incoming.keys().any(is_browser_context);
    filter(incoming, |name| {
        matches!(
            *name,
            header::AUTHORIZATION | header::COOKIE | header::HOST | header::FORWARDED
        ) || matches!(name.as_str(), "cookie2" | "x-real-ip" | "expect")
            // `HeaderName`s are lowercase, whatever case the caller sent.
            || name.as_str().starts_with("x-paragon-")
            || name.as_str().starts_with("x-forwarded-")
            || is_browser_context(name)
            || (from_browser && *name == header::USER_AGENT)
    })
}

/// Headers only a browser sets, describing the page and the browser rather than the call:
/// `Origin`, `Referer`, `DNT`, `Upgrade-Insecure-Requests`, and every `Sec-*` header
/// (`Sec-Fetch-*`, `Sec-CH-*`, `Sec-GPC`, …), a prefix the Fetch standard forbids page scripts
/// to set, so a caller never means one for the provider.
fn is_browser_context(name: &HeaderName) -> bool {
    matches!(
        *name,
        header::ORIGIN | header::REFERER | header::DNT | header::UPGRADE_INSECURE_REQUESTS
    ) || name.as_str().starts_with("sec-")
}

/// The headers of the provider's response that go back to the developer. Dropped:
///
/// - hop-by-hop headers, and every header `Connection` names;
/// - headers that would instruct the developer's browser about Patchbay's origin, which the
///   provider has no say over: `Set-Cookie` (a provider session must not land on the
///   developer's domain), `Set-Cookie2`, `Strict-Transport-Security` (could pin the
///   developer's domain and its subdomains to HTTPS), `Clear-Site-Data` (could wipe the
///   developer's own cookies and storage), `Alt-Svc`, `Public-Key-Pins*`, and
///   `Access-Control-*` (the provider's CORS policy is about its origin; Patchbay's CORS layer
///   answers for its own).
///
/// Everything else — status-relevant headers, `Content-Type`, `Content-Encoding` (the body is
/// passed on still encoded), `Content-Length`, `Location`, `Retry-After`, rate-limit headers —
/// is kept.
pub fn response_headers(upstream: &HeaderMap) -> HeaderMap {
    filter(upstream, |name| {
        matches!(
            *name,
            header::SET_COOKIE | header::STRICT_TRANSPORT_SECURITY | header::ALT_SVC
        ) || matches!(
            name.as_str(),
            "set-cookie2" | "clear-site-data" | "public-key-pins" | "public-key-pins-report-only"
        ) || name.as_str().starts_with("access-control-")
    })
}

/// `headers` without hop-by-hop headers, the headers `Connection` nominates, and those
/// `drop` names; values of repeated headers stay in their order.
fn filter(headers: &HeaderMap, drop: impl Fn(&HeaderName) -> bool) -> HeaderMap {
    let nominated = connection_nominated(headers);
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if HOP_BY_HOP.contains(name) || nominated.contains(name) || drop(name) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// The headers listed in every `Connection` header (RFC 9110 §7.6.1): hop-by-hop by
/// declaration. A token that is not a header name names nothing.
fn connection_nominated(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect()
}

/// Whether a redirect from `from` to `to` may be followed with the account's credentials: only
/// to the same origin (scheme, host and port, default ports included), never downgrading
/// `https` to `http`, and never to a URL carrying its own userinfo (which the client would send
/// as Basic credentials instead). Otherwise the server passes the redirect back to the
/// developer rather than follow it.
pub fn redirect_allowed(from: &Url, to: &Url) -> bool {
    let tuple = |origin: &Origin| matches!(origin, Origin::Tuple(..));
    let from_origin = from.origin();
    let to_origin = to.origin();
    matches!(to.scheme(), "http" | "https")
        && to.username().is_empty()
        && to.password().is_none()
        && tuple(&from_origin)
        && tuple(&to_origin)
        && from_origin == to_origin
}
