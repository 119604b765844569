//! `GET /oauth/callback`: where providers send the browser back (docs/api.md,
//! rule 5). The `state` is the only credential this endpoint accepts.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Duration;
use patchbay_config::ProviderAuth;
use patchbay_oauth::{AccountAuth, ClientCredentials, OAuthError, TemplateContext};
use patchbay_store::{InstallSession, InstallStatus, StoreError, now};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Map, Value, json};

use patchbay_engine::connect::{AuthorizedAccount, Connected, InstallOptions};
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
    let Some(state_value) = query.get("state").filter(|s| !s.is_empty()) else {
        return plain_page(
            StatusCode::BAD_REQUEST,
            "This page is part of connecting an account and cannot be opened directly.",
        );
    };
    let session = match state
        .store()
        .install_sessions()
        .consume_install_state(&oauth_state::hash(state_value))
        .await
    {
        Ok(Some(session)) => session,
        Ok(None) => {
            fail_named_session(&state, state_value).await;
            return plain_page(
                StatusCode::BAD_REQUEST,
                "This connection link has already been used or is no longer valid. Start connecting the account again.",
            );
        }
        Err(err) => {
            tracing::error!(error = %err, "store unavailable during OAuth callback");
            return plain_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Patchbay is temporarily unavailable; try again.",
            );
        }
    };
    let options: InstallOptions =
        serde_json::from_value(session.options.clone()).unwrap_or_default();
    let allowed_origins = allowed_origins(&state, &session).await;
    let outcome = complete(&state, &session, &options, &query).await;
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

/// Exchanges the code, identifies the account and stores it. The error is a
/// sentence for the end user and the developer; it never holds a secret.
async fn complete(
    state: &AppState,
    session: &InstallSession,
    options: &InstallOptions,
    query: &BTreeMap<String, String>,
) -> Result<Connected, String> {
    if session.expires_at < now() {
        return Err("The connection took longer than 10 minutes; start again.".to_owned());
    }
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
    let unavailable = |_| "Patchbay is temporarily unavailable; try again.".to_owned();
    let project = state
        .store()
        .projects()
        .get_project(session.project_id)
        .await
        .map_err(unavailable)?
        .ok_or("The project no longer exists.")?;
    let runtime = state
        .engine
        .runtimes()
        .load(&project)
        .await
        .map_err(|err| ApiError::from(err).message)?;
    let integration = runtime
        .integration_by_id(session.integration_id)
        .ok_or("The integration was removed from the project.")?;
    let ProviderAuth::OAuth2(auth) = &integration.config.provider.auth else {
        return Err("The integration no longer uses OAuth.".to_owned());
    };
    let sealed_secret_err =
        |_| "The integration's client secret cannot be read; check the master key.".to_owned();
    let client_secret = match &integration.client_secret {
        Some(sealed) => secrets::open_str(
            state.engine.keyring(),
            project.id,
            integration.id,
            secrets::CLIENT_SECRET,
            sealed,
        )
        .map_err(sealed_secret_err)?,
        None => Default::default(),
    };
    let verifier = match &session.secrets {
        Some(sealed) => Some(
            secrets::open_str(
                state.engine.keyring(),
                project.id,
                session.id,
                secrets::PKCE_VERIFIER,
                sealed,
            )
            .map_err(sealed_secret_err)?,
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
    let mut ctx = TemplateContext {
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
    ctx.token = tokens.public_fields.clone();
    let access_token = tokens.access_token.expose_secret();
    let identity = state
        .engine
        .oauth()
        .identify_account(
            &integration.config.provider,
            &AccountAuth::Bearer(access_token),
            &ctx,
        )
        .await
        .map_err(|err| describe("identifying the connected account", &err))?;
    let valid_until = tokens
        .expires_in
        .map(|seconds| now() + Duration::seconds(seconds));
    let account = AuthorizedAccount {
        provider_id: identity.provider_id,
        provider_data: Value::Object(identity.provider_data),
        secrets: CredentialSecrets {
            access_token: Some(access_token.to_owned()),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            fields: Map::new(),
        },
        account_vars: json!({
            "token": tokens.public_fields,
            "callback": callback,
            "vars": identity.vars,
            "connection": options.connection,
        }),
        valid_until,
        next_refresh_at: if tokens.refresh_token.is_some() {
            patchbay_engine::tokens::next_refresh_at(valid_until)
        } else {
            None
        },
    };
    state
        .engine
        .connector()
        .store_account(project.id, &session.user_id, integration, options, account)
        .await
        .map_err(|err| ApiError::from(err).message)
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
