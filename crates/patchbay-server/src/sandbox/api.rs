//! The sandbox's resource API: `me`, a CRUD on contacts (listed whole, or searched and paged),
//! and the fields a contact has, per account.
//! A caller is an account, by bearer access token or by `X-Api-Key`; one
//! account never sees another's contacts (another account's contact id is a
//! plain 404, so ids reveal nothing).

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::header::{AUTHORIZATION, ORIGIN, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq as _;

use super::Sandbox;
use super::control::take_failure;
use super::failure::{Endpoint, Injected};
use super::reply::json_error;
use super::state::{SANDBOX_ACCOUNTS, SandboxAccount, TokenLookup, account_by_id, contact_fields};
use super::webhooks::Event;

const MAX_NAME_LEN: usize = 200;
const MAX_EMAIL_LEN: usize = 320;

/// `GET /api/me`.
pub(super) async fn me(Caller(account): Caller) -> Response {
    Json(json!({
        "id": account.id,
        "name": account.name,
        "email": account.email,
    }))
    .into_response()
}

/// The most contacts one page holds.
const MAX_PAGE: usize = 100;

/// `GET /api/contacts`: the caller's contacts, oldest first. `q` keeps those whose name or
/// email contains it (ignoring case). Without `limit` the answer is the list itself; with
/// `limit` it is one page, `{"data": [...], "nextCursor": "<cursor>" | null}`, the next one
/// asked for with `cursor`.
pub(super) async fn list_contacts(
    State(sandbox): State<Sandbox>,
    Caller(account): Caller,
    RawQuery(query): RawQuery,
) -> Response {
    let mut search = None;
    let mut limit = None;
    let mut cursor = None;
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*name {
            "q" => search = Some(value.to_lowercase()),
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => limit = Some(n),
                _ => return invalid_request(&format!("limit must be 1 to {MAX_PAGE}")),
            },
            "cursor" if value.is_empty() => {}
            "cursor" => match value.parse::<usize>() {
                Ok(offset) => cursor = Some(offset),
                Err(_) => return invalid_request("cursor is not one this API handed out"),
            },
            _ => {}
        }
    }
    let mut contacts = sandbox.with_state(|state| state.contacts(account.id));
    if let Some(search) = search.filter(|search| !search.is_empty()) {
        contacts.retain(|contact| {
            contact.name.to_lowercase().contains(&search)
                || (contact.email.as_deref())
                    .is_some_and(|email| email.to_lowercase().contains(&search))
        });
    }
    let Some(limit) = limit else {
        if cursor.is_some() {
            return invalid_request("cursor pages a listing asked with limit");
        }
        return Json(contacts).into_response();
    };
    let start = cursor.unwrap_or(0).min(contacts.len());
    let end = (start + limit).min(contacts.len());
    let next = (end < contacts.len()).then(|| end.to_string());
    Json(json!({"data": &contacts[start..end], "nextCursor": next})).into_response()
}

/// `GET /api/fields`: the fields of the account's contacts, the built-in ones and the
/// account's own custom ones.
pub(super) async fn list_fields(Caller(account): Caller) -> Response {
    Json(contact_fields(account.id)).into_response()
}

/// `GET /api/fields/{key}/values`: the distinct values the account's contacts have for a
/// field, in the order first met.
pub(super) async fn field_values(
    State(sandbox): State<Sandbox>,
    Caller(account): Caller,
    Path(key): Path<String>,
) -> Response {
    if !contact_fields(account.id)
        .iter()
        .any(|field| field.key == key)
    {
        return json_error(StatusCode::NOT_FOUND, "not_found", "No field with that key");
    }
    let mut values: Vec<String> = Vec::new();
    for contact in sandbox.with_state(|state| state.contacts(account.id)) {
        let value = match key.as_str() {
            "name" => Some(contact.name),
            "email" => contact.email,
            // Custom fields have no values yet.
            _ => None,
        };
        if let Some(value) = value.filter(|value| !values.contains(value)) {
            values.push(value);
        }
    }
    Json(json!({ "field": key, "values": values })).into_response()
}

/// `POST /api/contacts` with `{"name", "email"?}`; an `Idempotency-Key`
/// already used answers `200` with the contact it created.
pub(super) async fn create_contact(
    State(sandbox): State<Sandbox>,
    Caller(account): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let patch = match ContactPatch::parse(&body) {
        Ok(patch) => patch,
        Err(message) => return invalid_request(&message),
    };
    let Some(name) = patch.name else {
        return invalid_request("name is required");
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (contact, created) = sandbox.with_state(|state| {
        state.create_contact_once(account.id, key, name, patch.email.flatten())
    });
    let status = if created {
        sandbox.announce(contact_event(account, "contact.created", json!(contact)));
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(contact)).into_response()
}

/// `GET /api/contacts/{id}`.
pub(super) async fn get_contact(
    State(sandbox): State<Sandbox>,
    Caller(account): Caller,
    Path(id): Path<String>,
) -> Response {
    match sandbox.with_state(|state| state.contact(account.id, &id)) {
        Some(contact) => Json(contact).into_response(),
        None => contact_not_found(),
    }
}

/// `PATCH /api/contacts/{id}` with `{"name"?, "email"?}`; `"email": null`
/// removes the email.
pub(super) async fn update_contact(
    State(sandbox): State<Sandbox>,
    Caller(account): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let patch = match ContactPatch::parse(&body) {
        Ok(patch) => patch,
        Err(message) => return invalid_request(&message),
    };
    match sandbox.with_state(|state| state.update_contact(account.id, &id, patch.name, patch.email))
    {
        Some(contact) => {
            sandbox.announce(contact_event(account, "contact.updated", json!(contact)));
            Json(contact).into_response()
        }
        None => contact_not_found(),
    }
}

/// `DELETE /api/contacts/{id}`: `204`.
pub(super) async fn delete_contact(
    State(sandbox): State<Sandbox>,
    Caller(account): Caller,
    Path(id): Path<String>,
) -> Response {
    if sandbox.with_state(|state| state.delete_contact(account.id, &id)) {
        sandbox.announce(contact_event(
            account,
            "contact.deleted",
            json!({ "id": id }),
        ));
        StatusCode::NO_CONTENT.into_response()
    } else {
        contact_not_found()
    }
}

fn contact_event(account: &'static SandboxAccount, event_type: &'static str, data: Value) -> Event {
    Event {
        account: account.id,
        event_type,
        data,
    }
}

/// `GET /api/webhooks`: the webhook URLs the account registered.
pub(super) async fn list_webhooks(
    State(sandbox): State<Sandbox>,
    Caller(account): Caller,
) -> Response {
    Json(sandbox.with_state(|state| state.subscriptions(account.id))).into_response()
}

/// `POST /api/webhooks` with `{"url"}`: the account's contact changes go there too, signed.
pub(super) async fn create_webhook(
    State(sandbox): State<Sandbox>,
    Caller(account): Caller,
    body: Bytes,
) -> Response {
    let url = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| body.get("url").and_then(Value::as_str).map(str::to_owned))
        .filter(|url| url.starts_with("http://") || url.starts_with("https://"));
    let Some(url) = url else {
        return invalid_request("url is required: an http or https URL");
    };
    let subscription = sandbox.with_state(|state| state.subscribe(account.id, url));
    (StatusCode::CREATED, Json(subscription)).into_response()
}

/// `DELETE /api/webhooks/{id}`: `204`.
pub(super) async fn delete_webhook(
    State(sandbox): State<Sandbox>,
    Caller(account): Caller,
    Path(id): Path<String>,
) -> Response {
    if sandbox.with_state(|state| state.unsubscribe(account.id, &id)) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        json_error(StatusCode::NOT_FOUND, "not_found", "no such webhook")
    }
}

/// Who is calling, then the failure mode, in that order: a failure counts
/// against the account that made the request, and a bad token is a 401
/// whatever the failure mode says.
pub(super) struct Caller(&'static SandboxAccount);

impl FromRequestParts<Sandbox> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, sandbox: &Sandbox) -> Result<Self, Response> {
        let headers = &parts.headers;
        refuse_browser_origin(headers).map_err(|response| *response)?;
        let account = authenticate(sandbox, headers).map_err(|response| {
            sandbox.with_state(|state| state.count_api_unauthorized());
            *response
        })?;
        sandbox.with_state(|state| state.count_api_request(account.id));
        match take_failure(sandbox, Endpoint::Api).await {
            Some(Injected::Outage(outage)) => Err(outage.json()),
            Some(Injected::Unauthorized) => Err(*invalid_token()),
            _ => Ok(Self(account)),
        }
    }
}

/// The API has no browser clients of its own, and like providers with a
/// CORS policy it refuses a call a web page makes: one with an `Origin`.
fn refuse_browser_origin(headers: &HeaderMap) -> Result<(), Box<Response>> {
    match headers.get(ORIGIN) {
        None => Ok(()),
        Some(origin) => Err(Box::new(json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!(
                "origin {} not allowed",
                String::from_utf8_lossy(origin.as_bytes())
            ),
        ))),
    }
}

/// A bearer access token if there is one, else an `X-Api-Key`.
fn authenticate(
    sandbox: &Sandbox,
    headers: &HeaderMap,
) -> Result<&'static SandboxAccount, Box<Response>> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if let Some(token) = bearer {
        let now = Instant::now();
        return match sandbox.with_state(|state| state.lookup_access_token(token, now)) {
            TokenLookup::Valid(account_id) => account_by_id(account_id).ok_or_else(invalid_token),
            TokenLookup::Expired | TokenLookup::Unknown => Err(invalid_token()),
        };
    }
    if let Some(key) = headers.get("x-api-key") {
        return SANDBOX_ACCOUNTS
            .iter()
            .find(|account| bool::from(account.api_key.as_bytes().ct_eq(key.as_bytes())))
            .ok_or_else(|| {
                unauthorized(
                    "invalid_api_key",
                    "The API key is not one of the sandbox accounts' keys",
                )
            });
    }
    Err(unauthorized(
        "unauthorized",
        "Send an access token (Authorization: Bearer) or an API key (X-Api-Key)",
    ))
}

/// RFC 6750 §3.1: an expired token is as invalid as an unknown one, and the
/// challenge says so, which is what tells a client to refresh.
fn invalid_token() -> Box<Response> {
    let mut response = json_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "The access token is unknown or has expired",
    );
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer error="invalid_token""#),
    );
    Box::new(response)
}

fn unauthorized(error: &str, description: &str) -> Box<Response> {
    let mut response = json_error(StatusCode::UNAUTHORIZED, error, description);
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer realm="patchbay-sandbox""#),
    );
    Box::new(response)
}

fn invalid_request(description: &str) -> Response {
    json_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn contact_not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "No contact with that id",
    )
}

/// The body of a create or an update. `email` is `Some(None)` when the body
/// says `"email": null`.
#[derive(Debug)]
struct ContactPatch {
    name: Option<String>,
    email: Option<Option<String>>,
}

impl ContactPatch {
    fn parse(body: &[u8]) -> Result<Self, String> {
        let object: Map<String, Value> = serde_json::from_slice(body)
            .map_err(|err| format!("the body must be a JSON object: {err}"))?;
        let mut patch = Self {
            name: None,
            email: None,
        };
        // Unknown fields are refused, so that a typo in a test or a workflow
        // shows up instead of being silently dropped.
        for (field, value) in object {
            match (field.as_str(), value) {
                ("name", Value::String(name)) => {
                    let name = name.trim();
                    if name.is_empty() || name.len() > MAX_NAME_LEN {
                        return Err(format!("name must be 1 to {MAX_NAME_LEN} characters"));
                    }
                    patch.name = Some(name.to_owned());
                }
                ("name", _) => return Err("name must be a string".into()),
                ("email", Value::Null) => patch.email = Some(None),
                ("email", Value::String(email)) => {
                    if !email.contains('@') || email.len() > MAX_EMAIL_LEN {
                        return Err("email must be an email address".into());
                    }
                    patch.email = Some(Some(email));
                }
                ("email", _) => return Err("email must be a string or null".into()),
                (other, _) => return Err(format!("unknown field `{other}`")),
            }
        }
        Ok(patch)
    }
}
