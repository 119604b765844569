//! The OAuth 2.0 side: the authorize endpoint (consent page and decision)
//! and the token endpoint, authorization code grant with PKCE S256 and
//! rotating refresh tokens (RFC 6749, RFC 7636).

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use url::Url;

use super::Sandbox;
use super::consent_page::{self, AuthorizeRequest};
use super::control::take_failure;
use super::failure::{Endpoint, Injected};
use super::form::{Params, decode_component};
use super::reply::{html, json_error, no_store};
use super::state::{
    CodeGrant, OFFLINE_ACCESS, RefreshError, SANDBOX_ACCOUNTS, SandboxAccount, account_by_id,
};

/// Longest redirect URI, state or scope list accepted; real providers have
/// limits too, and an unbounded value would end up in every page.
const MAX_PARAM_LEN: usize = 2048;

/// `GET /oauth/authorize`: the consent page, or, for a browser still signed
/// in from an earlier consent, straight back with that account, as real
/// providers do, unless `prompt` asks to choose (`select_account`, `login`
/// or `consent`).
pub(super) async fn authorize_page(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(message) => return invalid_request_page(&message),
    };
    let request = match validate_authorize(&sandbox, &params) {
        Ok(request) => request,
        Err(message) => return invalid_request_page(&message),
    };
    if let Some(Injected::Outage(outage)) = take_failure(&sandbox, Endpoint::AuthorizePage).await {
        return outage.page();
    }
    if let Some(account) = signed_in(&headers)
        && !asks_to_choose(params.get("prompt"))
    {
        return match decide(&sandbox, request, Some(account)).await {
            Ok(redirect) => see_other(&redirect),
            Err(outage) => outage,
        };
    }
    let host = match (request.redirect.host_str(), request.redirect.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => String::new(),
    };
    html(StatusCode::OK, consent_page::consent(&request, &host))
}

/// `POST /oauth/authorize`: the user's decision. The form repeats every
/// parameter of the request, and all of them are validated again: hidden
/// fields are as much client input as the query string was. Allowing signs
/// the browser in as that account (a cookie naming it: every sandbox
/// account is open to anyone anyway).
pub(super) async fn authorize_decision(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let params = match Params::parse(&body) {
        Ok(params) => params,
        Err(message) => return invalid_request_page(&message),
    };
    let request = match validate_authorize(&sandbox, &params) {
        Ok(request) => request,
        Err(message) => return invalid_request_page(&message),
    };
    let allow = match params.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => return invalid_request_page("decision must be allow or deny"),
    };
    // The account is checked before a failure mode can use up one of its
    // `times`, so that a mistyped form is reported as such.
    let account = match (allow, params.get("account").and_then(account_by_id)) {
        (true, None) => return invalid_request_page("choose one of the sandbox accounts"),
        (true, account) => account,
        (false, _) => None,
    };
    match decide(&sandbox, request, account).await {
        Ok(redirect) => {
            let mut response = see_other(&redirect);
            if let Some(account) = account
                && let Ok(cookie) = HeaderValue::from_str(&format!(
                    "{SESSION_COOKIE}={}; HttpOnly; SameSite=Lax",
                    account.id
                ))
            {
                response.headers_mut().insert(SET_COOKIE, cookie);
            }
            response
        }
        Err(outage) => outage,
    }
}

/// The cookie of a browser signed in at the sandbox: the account's id.
const SESSION_COOKIE: &str = "sandbox_session";

/// The account this browser signed in as at an earlier consent.
fn signed_in(headers: &HeaderMap) -> Option<&'static SandboxAccount> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .and_then(|(_, id)| account_by_id(id))
}

/// Whether OpenID Connect's `prompt` (space-separated) asks the user to
/// sign in or choose again rather than reuse the session.
fn asks_to_choose(prompt: Option<&str>) -> bool {
    prompt.is_some_and(|prompt| {
        prompt
            .split(' ')
            .any(|value| matches!(value, "select_account" | "login" | "consent"))
    })
}

/// Where the browser goes back to: with a code for `account`, or with
/// `access_denied` when there is none (or the `deny` failure mode says so).
/// `Err` is an injected outage's page.
async fn decide(
    sandbox: &Sandbox,
    request: AuthorizeRequest,
    account: Option<&'static SandboxAccount>,
) -> Result<Url, Response> {
    let denied = match take_failure(sandbox, Endpoint::AuthorizeDecision).await {
        Some(Injected::Outage(outage)) => return Err(outage.page()),
        Some(Injected::Deny) => true,
        _ => false,
    };
    let mut redirect = request.redirect.clone();
    match account.filter(|_| !denied) {
        None => {
            redirect
                .query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("state", &request.state);
        }
        Some(account) => {
            let now = Instant::now();
            let grant = CodeGrant {
                client_id: request.client_id,
                redirect_uri: request.redirect_uri,
                account_id: account.id,
                scopes: request.scopes,
                code_challenge: request.code_challenge,
                expires_at: now + sandbox.config().code_ttl,
            };
            let code = sandbox.with_state(|state| state.insert_code(grant, now));
            redirect
                .query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", &request.state);
        }
    }
    Ok(redirect)
}

/// Checks an authorization request. Every failure is shown to the user and
/// never redirected (RFC 6749 §4.1.2.1 requires it for a bad client or
/// redirect URI; the sandbox does it for everything, so that the redirect URI
/// is only used once the whole request is known to be good).
fn validate_authorize(sandbox: &Sandbox, params: &Params) -> Result<AuthorizeRequest, String> {
    let client_id = params.get("client_id").ok_or("client_id is missing")?;
    if !sandbox
        .config()
        .clients
        .iter()
        .any(|(id, _)| id == client_id)
    {
        return Err(format!(
            "the client `{client_id}` is not registered with the sandbox"
        ));
    }

    let redirect_uri = params
        .get("redirect_uri")
        .ok_or("redirect_uri is missing")?;
    if redirect_uri.len() > MAX_PARAM_LEN {
        return Err("redirect_uri is too long".into());
    }
    let redirect =
        Url::parse(redirect_uri).map_err(|_| "redirect_uri is not an absolute URL".to_owned())?;
    // Only web redirects: `javascript:`, `data:` and custom schemes could run
    // code or leave the browser.
    if !matches!(redirect.scheme(), "http" | "https") || redirect.host_str().is_none() {
        return Err("redirect_uri must be an http or https URL".into());
    }
    if redirect.fragment().is_some() {
        return Err("redirect_uri must not contain a fragment".into());
    }

    match params.get("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err(
                "response_type must be code; the sandbox only supports the authorization code flow"
                    .into(),
            );
        }
        None => return Err("response_type is missing".into()),
    }

    let state = params.get("state").ok_or("state is missing")?;
    if state.len() > MAX_PARAM_LEN {
        return Err("state is too long".into());
    }

    let scopes = parse_scopes(params.get("scope").unwrap_or_default())?;

    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) => None,
        (None, Some(_)) => return Err("code_challenge_method without code_challenge".into()),
        (Some(_), method) if method != Some("S256") => {
            return Err("code_challenge_method must be S256".into());
        }
        (Some(challenge), _) => {
            // A S256 challenge is a SHA-256 digest, base64url without padding.
            if challenge.len() != 43 || !challenge.bytes().all(is_base64url) {
                return Err("code_challenge is not a base64url SHA-256 digest".into());
            }
            Some(challenge.to_owned())
        }
    };

    Ok(AuthorizeRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        redirect,
        state: state.to_owned(),
        scopes,
        code_challenge,
    })
}

/// Space-separated scope tokens (RFC 6749 §3.3), without repeats. Any scope
/// is accepted: the sandbox grants what it is asked for.
fn parse_scopes(scope: &str) -> Result<Vec<String>, String> {
    if scope.len() > MAX_PARAM_LEN {
        return Err("scope is too long".into());
    }
    let mut scopes: Vec<String> = Vec::new();
    for token in scope.split(' ').filter(|token| !token.is_empty()) {
        if !token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err("scope contains a character RFC 6749 does not allow".into());
        }
        if !scopes.iter().any(|known| known == token) {
            scopes.push(token.to_owned());
        }
    }
    Ok(scopes)
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn see_other(location: &Url) -> Response {
    match HeaderValue::from_str(location.as_str()) {
        Ok(location) => no_store((StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response()),
        // A parsed URL is ASCII, so this cannot happen; if it did, saying so
        // beats redirecting somewhere else.
        Err(_) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            consent_page::error("Cannot redirect", "The redirect URI cannot be sent back."),
        ),
    }
}

fn invalid_request_page(message: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        consent_page::error("Invalid authorization request", message),
    )
}

/// `POST /oauth/token`.
pub(super) async fn token(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match Params::parse(&body) {
        Ok(params) => params,
        Err(message) => {
            sandbox.with_state(|state| state.count_token_request(None));
            return json_error(StatusCode::BAD_REQUEST, "invalid_request", &message);
        }
    };
    let grant_type = params.get("grant_type");
    sandbox.with_state(|state| state.count_token_request(grant_type));

    // Failure modes act first, as an outage or a rate limiter in front of a
    // real provider would.
    match take_failure(&sandbox, Endpoint::Token).await {
        Some(Injected::Outage(outage)) => return outage.json(),
        Some(Injected::InvalidGrant) => {
            return invalid_grant("The grant was refused (sandbox failure mode invalid_grant)");
        }
        _ => {}
    }

    let client_id = match authenticate_client(&sandbox, &headers, &params) {
        Ok(client_id) => client_id,
        Err(response) => return *response,
    };
    let now = Instant::now();
    let ttl = sandbox.config().access_token_ttl;
    match grant_type {
        Some("authorization_code") => exchange_code(&sandbox, &client_id, &params, now),
        Some("refresh_token") => {
            let Some(refresh_token) = params.get("refresh_token") else {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is missing",
                );
            };
            // `scope` is ignored: the new tokens keep the scopes of the old.
            match sandbox.with_state(|state| {
                state.refresh(
                    &client_id,
                    refresh_token,
                    ttl,
                    sandbox.config().refresh_reuse_grace,
                    now,
                )
            }) {
                Ok(tokens) => no_store(Json(tokens).into_response()),
                Err(RefreshError::Unknown) => {
                    invalid_grant("The refresh token is unknown or was already used")
                }
                Err(RefreshError::OtherClient) => {
                    invalid_grant("The refresh token was issued to another client")
                }
            }
        }
        Some("client_credentials") => client_credentials(&sandbox, &client_id, &params, now),
        Some(_) => json_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The sandbox supports authorization_code, refresh_token and client_credentials",
        ),
        None => json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is missing",
        ),
    }
}

/// RFC 6749 §4.4: a token for the client itself, acting as the first sandbox
/// account (its service account). No refresh token (§4.4.3): the client asks
/// again when the token expires.
fn client_credentials(
    sandbox: &Sandbox,
    client_id: &str,
    params: &Params,
    now: Instant,
) -> Response {
    let scopes = match parse_scopes(params.get("scope").unwrap_or("")) {
        Ok(scopes) => scopes
            .into_iter()
            .filter(|scope| scope != OFFLINE_ACCESS)
            .collect(),
        Err(message) => return json_error(StatusCode::BAD_REQUEST, "invalid_scope", &message),
    };
    let ttl = sandbox.config().access_token_ttl;
    let account = SANDBOX_ACCOUNTS[0].id;
    let tokens =
        sandbox.with_state(|state| state.issue_tokens(client_id, account, scopes, ttl, now));
    no_store(Json(tokens).into_response())
}

fn exchange_code(sandbox: &Sandbox, client_id: &str, params: &Params, now: Instant) -> Response {
    let (Some(code), Some(redirect_uri)) = (params.get("code"), params.get("redirect_uri")) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code and redirect_uri are required",
        );
    };
    let Some(grant) = sandbox.with_state(|state| state.take_code(code)) else {
        return invalid_grant("The authorization code is unknown or was already used");
    };
    if grant.expires_at <= now {
        return invalid_grant("The authorization code has expired");
    }
    if grant.client_id != client_id {
        return invalid_grant("The authorization code was issued to another client");
    }
    if grant.redirect_uri != redirect_uri {
        return invalid_grant("redirect_uri differs from the authorization request");
    }
    match (&grant.code_challenge, params.get("code_verifier")) {
        (None, None) => {}
        (Some(challenge), Some(verifier)) => {
            if !pkce_matches(challenge, verifier) {
                return invalid_grant("code_verifier does not match the code_challenge");
            }
        }
        (Some(_), None) => return invalid_grant("code_verifier is missing"),
        // A verifier for a code requested without a challenge means the
        // challenge was lost on the way: refuse rather than downgrade.
        (None, Some(_)) => {
            return invalid_grant(
                "code_verifier given, but the authorization request had no code_challenge",
            );
        }
    }
    let ttl = sandbox.config().access_token_ttl;
    let tokens = sandbox.with_state(|state| {
        state.issue_tokens(client_id, grant.account_id, grant.scopes, ttl, now)
    });
    no_store(Json(tokens).into_response())
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, for a verifier
/// of 43 to 128 unreserved characters.
fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    well_formed && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// Client authentication (RFC 6749 §2.3.1): HTTP Basic, or `client_id` and
/// `client_secret` in the body, not both. Returns the client id.
fn authenticate_client(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    params: &Params,
) -> Result<String, Box<Response>> {
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, credentials)| credentials.trim());
    let (client_id, secret) = match basic {
        Some(credentials) => {
            if params.get("client_secret").is_some() {
                return Err(Box::new(json_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Use one client authentication method: HTTP Basic or client_secret in the body",
                )));
            }
            let Some((id, secret)) = STANDARD
                .decode(credentials)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| {
                    text.split_once(':')
                        .map(|(id, secret)| (decode_component(id), decode_component(secret)))
                })
            else {
                return Err(invalid_client("The Basic credentials are malformed"));
            };
            // A client_id in the body as well is allowed, if it is the same.
            if params.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(invalid_client(
                    "client_id differs from the Basic credentials",
                ));
            }
            (id, secret)
        }
        None => match (params.get("client_id"), params.get("client_secret")) {
            (Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
            _ => return Err(invalid_client("Client authentication is required")),
        },
    };
    let known = sandbox.config().clients.iter().any(|(id, expected)| {
        *id == client_id && bool::from(expected.as_bytes().ct_eq(secret.as_bytes()))
    });
    if known && !sandbox.with_state(|state| state.is_revoked(&client_id)) {
        Ok(client_id)
    } else {
        Err(invalid_client("Unknown client or wrong client secret"))
    }
}

/// `401 invalid_client`, with the Basic challenge every 401 must carry
/// (RFC 6749 §5.2, RFC 9110 §15.5.2).
fn invalid_client(description: &str) -> Box<Response> {
    let mut response = json_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Basic realm="patchbay-sandbox""#),
    );
    Box::new(response)
}

fn invalid_grant(description: &str) -> Response {
    json_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}
