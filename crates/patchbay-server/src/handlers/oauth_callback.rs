//! `GET /oauth/callback`: where providers send the browser back (docs/api.md,
//! rule 5). The `state` is the only credential this endpoint accepts.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use patchbay_config::{ProviderAuth, ProviderDefinition};
use patchbay_oauth::{AccountAuth, Choices, ClientCredentials, OAuthError, TemplateContext};
use patchbay_store::{InstallSession, InstallStatus, Project, StoreError, now};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use patchbay_engine::connect::{AuthorizedAccount, Connected, InstallOptions};
use patchbay_engine::runtime::{Integration, ProjectRuntime};
use patchbay_engine::secrets::{self, CredentialSecrets};

use crate::error::ApiError;
use crate::oauth_state;
use crate::state::AppState;

/// Query parameters every provider sends; the rest (QuickBooks' `realmId`,
/// ...) become `callback.*` for templates.
const PROTOCOL_PARAMS: [&str; 5] = ["code", "state", "error", "error_description", "error_uri"];

/// Finishes an OAuth install. Whatever happens after the state is accepted,
/// the install session ends complete or failed, never pending.
#[utoipa::path(get, path = "/oauth/callback", operation_id = "oauthCallback", tag = "oauth",
    params(("state" = String, Query), ("code" = Option<String>, Query), ("error" = Option<String>, Query)),
    responses((status = 200, description = "A page that reports the result to its opener and closes"),
              (status = 303, description = "Back to the install's redirectUrl"),
              (status = 400, description = "Unknown, used or missing state: a page for the person connecting, not an API error",
               content_type = "text/html", body = String)))]
pub async fn callback(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    // The provider's words end up in the install session and the account;
    // a NUL in them is replaced, as in all provider data.
    let query: BTreeMap<String, String> = query
        .into_iter()
        .map(|(key, value)| (key, patchbay_core::nul::replace_nul_in(value)))
        .collect();
    let state_value = query.get("state").map_or("", String::as_str);
    let session = match take_session(&state, state_value).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let options: InstallOptions =
        serde_json::from_value(session.options.clone()).unwrap_or_default();
    let step = complete(&state, &session, &options, &query).await;
    finish(&state, &session, options, step).await
}

/// The form of the page that asks for the choice: the state it was given and the value
/// chosen. Read from the raw body, so a malformed or partial form meets the same page as an
/// unknown state rather than an extractor's rejection.
#[derive(Debug, Default, utoipa::ToSchema)]
pub struct ChoiceForm {
    state: String,
    choice: String,
}

impl ChoiceForm {
    fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            match name.as_ref() {
                "state" => form.state = value.into_owned(),
                "choice" => form.choice = value.into_owned(),
                _ => {}
            }
        }
        form
    }
}

/// Finishes an OAuth install whose account lists several things to choose among (Jira
/// sites): the page the callback showed posts the value chosen here, with the state it was
/// given for this one use.
#[utoipa::path(post, path = "/oauth/choose", operation_id = "oauthChoose", tag = "oauth",
    request_body(content = inline(ChoiceForm), content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "A page that reports the result to its opener and closes",
               content_type = "text/html", body = String),
              (status = 303, description = "Back to the install's redirectUrl"),
              (status = 400, description = "Unknown or used state: a page for the person connecting",
               content_type = "text/html", body = String),
              (status = 503, description = "The store is unavailable", content_type = "text/html", body = String)))]
pub async fn choose(State(state): State<AppState>, body: Bytes) -> Response {
    let form = ChoiceForm::parse(&body);
    let session = match take_session(&state, &form.state).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let options: InstallOptions =
        serde_json::from_value(session.options.clone()).unwrap_or_default();
    let step = complete_choice(&state, &session, &options, &form.choice).await;
    finish(&state, &session, options, step).await
}

/// The pending session `state_value` was issued for, its state consumed; or the page to
/// show instead.
async fn take_session(state: &AppState, state_value: &str) -> Result<InstallSession, Response> {
    if state_value.is_empty() {
        return Err(plain_page(
            StatusCode::BAD_REQUEST,
            "This page is part of connecting an account and cannot be opened directly.",
        ));
    }
    match state
        .store()
        .install_sessions()
        .consume_install_state(&oauth_state::hash(state_value))
        .await
    {
        Ok(Some(session)) => Ok(session),
        Ok(None) => {
            fail_named_session(state, state_value).await;
            Err(plain_page(
                StatusCode::BAD_REQUEST,
                "This connection link has already been used or is no longer valid. Start connecting the account again.",
            ))
        }
        Err(err) => {
            tracing::error!(error = %err, "store unavailable while finishing an OAuth install");
            Err(plain_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Patchbay is temporarily unavailable; try again.",
            ))
        }
    }
}

/// Where an install stands after a step: connected, failed (a sentence for the end user and
/// the developer, never a secret), or waiting for the user to choose on the page shown.
enum Step {
    Connected(Box<Connected>),
    Failed(String),
    Choose { choices: Choices, state: String },
}

impl From<Result<Connected, String>> for Step {
    fn from(result: Result<Connected, String>) -> Self {
        result.map_or_else(Step::Failed, |connected| {
            Step::Connected(Box::new(connected))
        })
    }
}

/// Ends the session (unless it waits for a choice) and answers the browser: the choice
/// page, the install's `redirectUrl`, or a page that tells its opener.
async fn finish(
    state: &AppState,
    session: &InstallSession,
    options: InstallOptions,
    step: Step,
) -> Response {
    let allowed_origins = allowed_origins(state, session).await;
    let outcome = match step {
        Step::Choose {
            choices,
            state: state_value,
        } => return choice_page(&choices, &state_value),
        Step::Connected(connected) => Ok(*connected),
        Step::Failed(message) => Err(message),
    };
    let (status, credential_id, error) = match &outcome {
        Ok(connected) => (InstallStatus::Complete, Some(connected.credential.id), None),
        Err(message) => (InstallStatus::Failed, None, Some(message.as_str())),
    };
    if let Err(err) = state
        .store()
        .install_sessions()
        .finish_install_session(session.id, status, credential_id, error)
        .await
    {
        tracing::error!(error = %err, "could not finish install session");
    }
    let result = InstallResult {
        status: status.as_str(),
        install_session_id: session.id.to_string(),
        credential_id: credential_id.map(|id| id.to_string()),
        error: error.map(str::to_owned),
        deduplicated: outcome.as_ref().is_ok_and(|c| c.deduplicated),
    };
    match options.redirect_url {
        Some(url) => Redirect::to(&result.redirect_target(&url)).into_response(),
        None => result.page(&allowed_origins),
    }
}

/// A state that matched no pending session but names one: its secret is not
/// the one that session was given (a state from another user's or project's
/// install, or a tampered one). The session it names fails, so its user
/// learns that this authorization went wrong; a session already complete or
/// failed (a reused state) is left as it is.
async fn fail_named_session(state: &AppState, state_value: &str) {
    let Some(session_id) = oauth_state::session_of(state_value) else {
        return;
    };
    match state
        .store()
        .install_sessions().finish_install_session(
            session_id,
            InstallStatus::Failed,
            None,
            Some("The authorization came back with a state that was not issued for this install session."),
        )
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(err) => tracing::error!(error = %err, "could not fail an install session"),
    }
}

async fn allowed_origins(state: &AppState, session: &InstallSession) -> Vec<String> {
    match state
        .store()
        .projects()
        .get_project(session.project_id)
        .await
    {
        Ok(Some(project)) => project.settings["allowedOrigins"]
            .as_array()
            .map(|origins| {
                origins
                    .iter()
                    .filter_map(|o| o.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Exchanges the code, identifies the account and stores it, or asks the user to choose
/// first.
async fn complete(
    state: &AppState,
    session: &InstallSession,
    options: &InstallOptions,
    query: &BTreeMap<String, String>,
) -> Step {
    match exchange(state, session, options, query).await {
        Ok((project, authorized)) => {
            identify_and_store(state, session, &project, options, authorized, None).await
        }
        Err(message) => Step::Failed(message),
    }
}

/// The second step of an install that waited for a choice: the authorization kept with the
/// session, identified again with the value chosen.
async fn complete_choice(
    state: &AppState,
    session: &InstallSession,
    options: &InstallOptions,
    choice: &str,
) -> Step {
    let reopened = async {
        check_not_expired(session)?;
        let project = load_project(state, session).await?;
        let sealed = session
            .secrets
            .as_deref()
            .ok_or("The connection has nothing left to choose; start again.")?;
        let plain = secrets::open_str(
            state.engine.keyring(),
            project.id,
            session.id,
            secrets::INSTALL_SESSION_SECRETS,
            sealed,
        )
        .map_err(|_| sealed_secret_unreadable())?;
        let authorized: Authorized =
            serde_json::from_str(&plain).map_err(|_| sealed_secret_unreadable())?;
        Ok::<_, String>((project, authorized))
    };
    match reopened.await {
        Ok((project, authorized)) => {
            identify_and_store(state, session, &project, options, authorized, Some(choice)).await
        }
        Err(message) => Step::Failed(message),
    }
}

/// What the provider granted, kept sealed with the session while the user chooses.
#[derive(Serialize, Deserialize)]
struct Authorized {
    access_token: String,
    refresh_token: Option<String>,
    /// The token response's non-secret fields (`token.*`).
    token: Map<String, Value>,
    valid_until: Option<DateTime<Utc>>,
    /// The callback's query parameters besides the protocol's (`callback.*`).
    callback: Map<String, Value>,
}

fn check_not_expired(session: &InstallSession) -> Result<(), String> {
    if session.expires_at < now() {
        return Err("The connection took longer than 10 minutes; start again.".to_owned());
    }
    Ok(())
}

fn sealed_secret_unreadable() -> String {
    "The integration's secrets cannot be read; check the master key.".to_owned()
}

async fn load_project(state: &AppState, session: &InstallSession) -> Result<Project, String> {
    state
        .store()
        .projects()
        .get_project(session.project_id)
        .await
        .map_err(|_| "Patchbay is temporarily unavailable; try again.".to_owned())?
        .ok_or_else(|| "The project no longer exists.".to_owned())
}

/// The integration the session connects, with the definition of its account type.
fn session_integration<'r>(
    runtime: &'r ProjectRuntime,
    session: &InstallSession,
    options: &InstallOptions,
) -> Result<(&'r Integration, &'r ProviderDefinition), String> {
    let integration = runtime
        .integration_by_id(session.integration_id)
        .ok_or("The integration was removed from the project.")?;
    Ok((
        integration,
        integration.provider_for(options.account_type.as_deref()),
    ))
}

/// Checks the callback and exchanges its code for tokens.
async fn exchange(
    state: &AppState,
    session: &InstallSession,
    options: &InstallOptions,
    query: &BTreeMap<String, String>,
) -> Result<(Project, Authorized), String> {
    check_not_expired(session)?;
    if let Some(error) = query.get("error") {
        let description = query
            .get("error_description")
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Err(format!(
            "The provider did not authorize the connection ({error}{description})."
        ));
    }
    let code = query
        .get("code")
        .filter(|c| !c.is_empty())
        .ok_or("The provider sent no authorization code.")?;
    let project = load_project(state, session).await?;
    let runtime = state
        .engine
        .runtimes()
        .load(&project)
        .await
        .map_err(|err| ApiError::from(err).message)?;
    let (integration, provider) = session_integration(&runtime, session, options)?;
    let ProviderAuth::OAuth2(auth) = &provider.auth else {
        return Err("The integration no longer uses OAuth.".to_owned());
    };
    let client_secret = match &integration.client_secret {
        Some(sealed) => secrets::open_str(
            state.engine.keyring(),
            project.id,
            integration.id,
            secrets::CLIENT_SECRET,
            sealed,
        )
        .map_err(|_| sealed_secret_unreadable())?,
        None => Default::default(),
    };
    let verifier = match &session.secrets {
        Some(sealed) => Some(
            secrets::open_str(
                state.engine.keyring(),
                project.id,
                session.id,
                secrets::INSTALL_SESSION_SECRETS,
                sealed,
            )
            .map_err(|_| sealed_secret_unreadable())?,
        ),
        None => None,
    };
    let client = ClientCredentials {
        id: integration.config.client_id.clone().unwrap_or_default(),
        secret: SecretString::from(client_secret.as_str().to_owned()),
    };
    let callback: Map<String, Value> = query
        .iter()
        .filter(|(key, _)| !PROTOCOL_PARAMS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), json!(value)))
        .collect();
    let ctx = TemplateContext {
        connection: options.connection.clone(),
        callback: callback.clone(),
        ..TemplateContext::default()
    };
    let tokens = state
        .engine
        .oauth()
        .exchange_code(
            auth,
            &client,
            code,
            &oauth_state::callback_url(&state.config.public_url),
            verifier.as_deref().map(|v| v.as_str()),
            &ctx,
        )
        .await
        .map_err(|err| describe("exchanging the authorization code", &err))?;
    if auth.refreshes && tokens.refresh_token.is_none() {
        return Err(
            "The provider returned no refresh token, so the account could not stay connected. \
                    Check the integration's scopes (offline access)."
                .to_owned(),
        );
    }
    let authorized = Authorized {
        access_token: tokens.access_token.expose_secret().to_owned(),
        refresh_token: (tokens.refresh_token.as_ref()).map(|t| t.expose_secret().to_owned()),
        token: tokens.public_fields,
        valid_until: (tokens.expires_in).map(|seconds| now() + Duration::seconds(seconds)),
        callback,
    };
    Ok((project, authorized))
}

/// Runs the account step with the granted token and stores the account; when the account
/// lists several things to choose among and none was chosen, keeps the authorization sealed
/// with the session and asks.
async fn identify_and_store(
    state: &AppState,
    session: &InstallSession,
    project: &Project,
    options: &InstallOptions,
    authorized: Authorized,
    choice: Option<&str>,
) -> Step {
    let runtime = match state.engine.runtimes().load(project).await {
        Ok(runtime) => runtime,
        Err(err) => return Step::Failed(ApiError::from(err).message),
    };
    let (integration, provider) = match session_integration(&runtime, session, options) {
        Ok(found) => found,
        Err(message) => return Step::Failed(message),
    };
    let ctx = TemplateContext {
        connection: options.connection.clone(),
        callback: authorized.callback.clone(),
        token: authorized.token.clone(),
        ..TemplateContext::default()
    };
    let identified = state
        .engine
        .oauth()
        .identify_account(
            provider,
            &AccountAuth::Bearer(&authorized.access_token),
            &ctx,
            choice,
        )
        .await;
    let identity = match identified {
        Ok(identity) => identity,
        Err(OAuthError::ChoiceRequired(choices)) => {
            return await_choice(state, session, project, &authorized, choices).await;
        }
        Err(err) => return Step::Failed(describe("identifying the connected account", &err)),
    };
    let account = AuthorizedAccount {
        provider_id: identity.provider_id,
        provider_data: Value::Object(identity.provider_data),
        account_vars: json!({
            "token": authorized.token,
            "callback": authorized.callback,
            "vars": identity.vars,
            "connection": options.connection,
        }),
        valid_until: authorized.valid_until,
        next_refresh_at: if authorized.refresh_token.is_some() {
            patchbay_engine::tokens::next_refresh_at(authorized.valid_until)
        } else {
            None
        },
        secrets: CredentialSecrets {
            access_token: Some(authorized.access_token),
            refresh_token: authorized.refresh_token,
            fields: Map::new(),
        },
    };
    state
        .engine
        .connector()
        .store_account(project.id, &session.user_id, integration, options, account)
        .await
        .map_err(|err| ApiError::from(err).message)
        .into()
}

/// Seals `authorized` with the session under a new state, for the choice page to post back.
async fn await_choice(
    state: &AppState,
    session: &InstallSession,
    project: &Project,
    authorized: &Authorized,
    choices: Choices,
) -> Step {
    let Ok(plain) = serde_json::to_string(authorized) else {
        return Step::Failed("The authorization could not be kept; start again.".to_owned());
    };
    let sealed = secrets::seal_str(
        state.engine.keyring(),
        project.id,
        session.id,
        secrets::INSTALL_SESSION_SECRETS,
        &plain,
    );
    let (state_value, state_hash) = oauth_state::generate(session.id);
    match state
        .store()
        .install_sessions()
        .rearm_install_session(session.id, &state_hash, &sealed)
        .await
    {
        Ok(()) => Step::Choose {
            choices,
            state: state_value,
        },
        Err(err) => {
            tracing::error!(error = %err, "could not keep an install session for a choice");
            Step::Failed("Patchbay is temporarily unavailable; try again.".to_owned())
        }
    }
}

fn describe(step: &str, err: &OAuthError) -> String {
    format!("The provider failed while {step}: {err}")
}

struct InstallResult {
    status: &'static str,
    install_session_id: String,
    credential_id: Option<String>,
    error: Option<String>,
    deduplicated: bool,
}

impl InstallResult {
    fn message(&self) -> Value {
        let mut message = json!({
            "type": "patchbay:install",
            "status": self.status,
            "installSessionId": self.install_session_id,
        });
        match (&self.credential_id, &self.error) {
            (Some(id), _) => {
                message["credentialId"] = json!(id);
                message["deduplicated"] = json!(self.deduplicated);
            }
            (_, Some(error)) => message["error"] = json!(error),
            _ => {}
        }
        message
    }

    /// `redirectUrl` with the result appended to its query.
    fn redirect_target(&self, redirect_url: &str) -> String {
        let Ok(mut url) = url::Url::parse(redirect_url) else {
            return redirect_url.to_owned();
        };
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("status", self.status);
            pairs.append_pair("installSessionId", &self.install_session_id);
            if let Some(id) = &self.credential_id {
                pairs.append_pair("credentialId", id);
            }
            if let Some(error) = &self.error {
                pairs.append_pair("error", error);
            }
        }
        url.to_string()
    }

    /// A page that tells its opener — only if the opener is one of the
    /// project's allowed origins — and closes itself.
    fn page(&self, allowed_origins: &[String]) -> Response {
        let heading = if self.credential_id.is_some() {
            "Account connected"
        } else {
            "Connection failed"
        };
        let detail = self
            .error
            .as_deref()
            .unwrap_or("You can close this window.");
        let script = format!(
            "(function(){{var m={message};var o={origins};\
             if(window.opener){{o.forEach(function(origin){{try{{window.opener.postMessage(m,origin);}}catch(e){{}}}});}}\
             setTimeout(function(){{window.close();}},{delay});}})();",
            message = script_json(&self.message()),
            origins = script_json(&json!(allowed_origins)),
            delay = if self.error.is_some() { 4000 } else { 300 },
        );
        let html = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{heading}</title>\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
             <body style=\"font-family:system-ui,sans-serif;margin:3rem;\"><main><h1>{heading}</h1><p>{detail}</p></main>\
             <script>{script}</script></body></html>",
            heading = html_escape(heading),
            detail = html_escape(detail),
        );
        let status = if self.credential_id.is_some() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
    }
}

/// The page that asks which of the account's things to connect: a form posting the value
/// chosen, with the state issued for this one use, to `/oauth/choose`.
fn choice_page(choices: &Choices, state_value: &str) -> Response {
    let title = html_escape(&choices.title);
    let options: String = choices
        .options
        .iter()
        .enumerate()
        .map(|(i, option)| {
            format!(
                "<div><input type=\"radio\" name=\"choice\" id=\"choice-{i}\" value=\"{value}\" required{checked}>\
                 <label for=\"choice-{i}\">{label}</label></div>",
                value = html_escape(&option.value),
                label = html_escape(if option.label.is_empty() { &option.value } else { &option.label }),
                checked = if i == 0 { " checked" } else { "" },
            )
        })
        .collect();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Choose a {title}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body style=\"font-family:system-ui,sans-serif;margin:3rem;\"><main><h1>Choose a {title}</h1>\
         <form method=\"post\" action=\"/oauth/choose\"><fieldset><legend>Which {title} should be connected?</legend>{options}</fieldset>\
         <input type=\"hidden\" name=\"state\" value=\"{state}\"><p><button type=\"submit\">Connect</button></p></form>\
         </main></body></html>",
        state = html_escape(state_value),
    );
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Html(html),
    )
        .into_response()
}

fn plain_page(status: StatusCode, message: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Patchbay</title></head>\
         <body style=\"font-family:system-ui,sans-serif;margin:3rem;\"><main><h1>Cannot connect</h1><p>{}</p></main></body></html>",
        html_escape(message)
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// JSON that is safe inside a `<script>` element.
fn script_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
