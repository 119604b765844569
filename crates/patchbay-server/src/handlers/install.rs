//! Connecting and disconnecting accounts (docs/api.md).

use std::borrow::Cow;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Duration;
use patchbay_api::{
    ErrorBody, ErrorCode, InstallCompleted, InstallRequest, InstallSessionView, InstallStarted,
    InstallStatus,
};
use patchbay_config::{
    ClientCredentialsAuth, JwtBearerAuth, OAuth2Auth, ProviderAuth, ProviderDefinition,
};
use patchbay_core::selection::{self, Operation, SelectionPolicy};
use patchbay_oauth::{AccountAuth, KeyFileError, OAuthError, Pkce, TemplateContext, TokenSet};
use patchbay_store::{CredentialRecord, NewInstallSession, now};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use patchbay_engine::EngineError;
use patchbay_engine::accounts::{AccountSelection, selected_credential, visible_credentials};
use patchbay_engine::connect::{AuthorizedAccount, InstallOptions};
use patchbay_engine::runtime::{ACCOUNT_TYPE_VAR, Integration, ProjectRuntime};
use patchbay_engine::secrets::{self, CredentialSecrets};
use patchbay_engine::user_object;

use crate::auth::ConnectUser;
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParams};
use crate::oauth_state;
use crate::selection::credential_selection;
use crate::state::AppState;

/// How long an OAuth install may take from start to callback.
const INSTALL_SESSION_TTL: Duration = Duration::minutes(10);

#[derive(Debug, Deserialize)]
pub struct IntegrationPath {
    #[serde(rename = "integration")]
    type_or_id: String,
}

/// Starts connecting an account: an authorization URL for OAuth2
/// integrations, or the connected account for API-key and basic-auth ones.
#[utoipa::path(post, path = "/projects/{projectId}/sdk/integrations/{integration}/install", operation_id = "installIntegration", tag = "sdk",
    params(("projectId" = Uuid, Path), ("integration" = String, Path)),
    request_body = InstallRequest,
    responses((status = 200, body = InstallStarted), (status = 201, body = InstallCompleted),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn install(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<IntegrationPath>,
    JsonBody(request): JsonBody<InstallRequest>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let integration = runtime.require_integration(&path.type_or_id)?;
    let (options, has_accounts) =
        install_options(&state, &user, &runtime, integration, &request).await?;
    match &integration
        .provider_for(options.account_type.as_deref())
        .auth
    {
        ProviderAuth::OAuth2(auth) => {
            let auth = if has_accounts {
                Cow::Owned(auth.for_another_account())
            } else {
                Cow::Borrowed(auth)
            };
            let started = start_oauth(&state, &user, integration, &auth, options).await?;
            Ok(axum::Json(started).into_response())
        }
        ProviderAuth::ApiKey(_) | ProviderAuth::Basic(_) => {
            let fields = request.credentials.unwrap_or_default();
            let completed =
                connect_with_credentials(&state, &user, &runtime, integration, &options, fields)
                    .await?;
            Ok((StatusCode::CREATED, axum::Json(completed)).into_response())
        }
        ProviderAuth::OAuth2ClientCredentials(auth) => {
            let fields = request.credentials.unwrap_or_default();
            let completed = connect_client_credentials(
                &state,
                &user,
                &runtime,
                integration,
                auth,
                &options,
                fields,
            )
            .await?;
            Ok((StatusCode::CREATED, axum::Json(completed)).into_response())
        }
        ProviderAuth::JwtBearer(auth) => {
            let fields = request.credentials.unwrap_or_default();
            let completed =
                connect_jwt_bearer(&state, &user, &runtime, integration, auth, &options, fields)
                    .await?;
            Ok((StatusCode::CREATED, axum::Json(completed)).into_response())
        }
    }
}

/// Checks the request against the multi-account rules before anything is
/// started; also says whether the user already has accounts of the
/// integration.
async fn install_options(
    state: &AppState,
    user: &ConnectUser,
    runtime: &ProjectRuntime,
    integration: &Integration,
    request: &InstallRequest,
) -> Result<(InstallOptions, bool), ApiError> {
    let type_name = &integration.config.type_name;
    let accounts = visible_credentials(state.store(), user, runtime, Some(integration)).await?;
    let selected = match request
        .selected_credential_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        Some(selection) => {
            if request.external_id.is_some() {
                return Err(ApiError::validation(
                    "externalId",
                    "externalId labels a new account; it cannot be combined with selectedCredentialId.",
                ));
            }
            let policy = SelectionPolicy::default();
            let account = selection::select(&accounts, Some(selection), Operation::Use, policy)
                .map_err(|_| EngineError::CredentialNotFound)?;
            Some(account.id)
        }
        None => {
            if !user.token.allows_new_credentials(type_name) {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    format!("This token may not connect new accounts of \"{type_name}\"."),
                ));
            }
            let has_valid = accounts
                .iter()
                .any(|c| c.status == patchbay_store::CredentialStatus::Valid);
            if has_valid && !request.allow_multiple_credentials {
                return Err(ApiError::new(
                    ErrorCode::IntegrationAlreadyInstalled,
                    format!("Integration \"{type_name}\" is already installed."),
                ));
            }
            None
        }
    };
    if let Some(external_id) = &request.external_id {
        if external_id.is_empty() || external_id.len() > 256 {
            return Err(ApiError::validation(
                "externalId",
                "An externalId has 1 to 256 characters.",
            ));
        }
        if accounts
            .iter()
            .any(|c| c.external_id.as_deref() == Some(external_id))
        {
            return Err(EngineError::ExternalIdTaken.into());
        }
    }
    if let Some(url) = &request.redirect_url {
        check_redirect_url(url, &runtime.settings.allowed_origins)?;
    }
    // A reconnection keeps the account's way in unless the request names another.
    let kept_type = selected
        .and_then(|id| accounts.iter().find(|c| c.id == id))
        .and_then(|c| c.account_vars.get(ACCOUNT_TYPE_VAR))
        .and_then(Value::as_str);
    let asked = request.account_type.as_deref().or(kept_type);
    let account_type = check_account_type(integration, asked)?;
    let connection = request.connection.clone().unwrap_or_default();
    check_connection_fields(
        integration.provider_for(account_type.as_deref()),
        &connection,
    )?;
    let options = InstallOptions {
        selected_credential_id: selected,
        external_id: request.external_id.clone(),
        redirect_url: request.redirect_url.clone(),
        connection,
        account_type,
        choice: request.choice.clone(),
    };
    Ok((options, !accounts.is_empty()))
}

/// The account type an install uses: the one asked for, which must be one of the
/// integration's, else its first; `None` for an integration without account types.
fn check_account_type(
    integration: &Integration,
    asked: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let types = &integration.config.provider.account_types;
    match asked.filter(|asked| !asked.is_empty()) {
        None => Ok(types.first().map(|first| first.id.clone())),
        Some(asked) if types.iter().any(|own| own.id == asked) => Ok(Some(asked.to_owned())),
        Some(asked) if types.is_empty() => Err(ApiError::validation(
            "accountType",
            format!(
                "\"{}\" has one way in and no account types; leave out accountType (\"{asked}\").",
                integration.config.type_name
            ),
        )),
        Some(asked) => {
            let known: Vec<&str> = types.iter().map(|own| own.id.as_str()).collect();
            Err(ApiError::validation(
                "accountType",
                format!(
                    "\"{asked}\" is not an account type of \"{}\"; it has {}.",
                    integration.config.type_name,
                    known.join(", ")
                ),
            ))
        }
    }
}

/// A redirect target must belong to the developer's own front end, or the
/// callback would be an open redirect.
fn check_redirect_url(url: &str, allowed_origins: &[String]) -> Result<(), ApiError> {
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            ApiError::validation(
                "redirectUrl",
                "redirectUrl must be an absolute http(s) URL.",
            )
        })?;
    let origin = parsed.origin().ascii_serialization();
    if allowed_origins
        .iter()
        .any(|allowed| allowed.trim_end_matches('/') == origin)
    {
        Ok(())
    } else {
        Err(ApiError::validation(
            "redirectUrl",
            format!("{origin} is not one of the project's allowedOrigins."),
        ))
    }
}

fn check_connection_fields(
    provider: &ProviderDefinition,
    given: &Map<String, Value>,
) -> Result<(), ApiError> {
    for field in &provider.connection_fields {
        let path = format!("connection.{}", field.id);
        let value = given.get(&field.id).and_then(Value::as_str).unwrap_or("");
        if value.is_empty() {
            return Err(ApiError::validation(
                &path,
                format!("{} is required.", field.title),
            ));
        }
        if let Some(pattern) = &field.pattern
            && !regex_full_match(pattern, value)
        {
            return Err(ApiError::validation(
                &path,
                format!("{} has the wrong form.", field.title),
            ));
        }
    }
    if let Some(unknown) = given
        .keys()
        .find(|k| !provider.connection_fields.iter().any(|f| &f.id == *k))
    {
        return Err(ApiError::validation(
            &format!("connection.{unknown}"),
            "is not a connection field of this integration.",
        ));
    }
    Ok(())
}

fn regex_full_match(pattern: &str, value: &str) -> bool {
    regex::Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|re| re.is_match(value))
}

async fn start_oauth(
    state: &AppState,
    user: &ConnectUser,
    integration: &Integration,
    auth: &OAuth2Auth,
    options: InstallOptions,
) -> Result<InstallStarted, ApiError> {
    let client_id = integration.config.client_id.clone().unwrap_or_default();
    let session_id = Uuid::new_v4();
    let (state_value, state_hash) = oauth_state::generate(session_id);
    let pkce = auth.pkce.then(Pkce::generate);
    let sealed_verifier = pkce.as_ref().map(|pkce| {
        secrets::seal_str(
            state.engine.keyring(),
            user.project.id,
            session_id,
            secrets::INSTALL_SESSION_SECRETS,
            pkce.verifier.expose_secret(),
        )
    });
    let ctx = TemplateContext {
        connection: options.connection.clone(),
        ..TemplateContext::default()
    };
    let url = patchbay_oauth::authorization_url(
        auth,
        &auth.scopes,
        &client_id,
        &oauth_state::callback_url(&state.config.public_url),
        &state_value,
        pkce.as_ref(),
        &ctx,
    )
    .map_err(|err| ApiError::provider(&err))?;
    let session = NewInstallSession {
        id: session_id,
        project_id: user.project.id,
        integration_id: integration.id,
        user_id: user.user.user_id.clone(),
        state_hash,
        secrets: sealed_verifier,
        options: serde_json::to_value(&options).map_err(|_| ApiError::internal())?,
        expires_at: now() + INSTALL_SESSION_TTL,
    };
    state
        .store()
        .install_sessions()
        .create_install_session(&session)
        .await?;
    Ok(InstallStarted {
        authorization_url: url.to_string(),
        install_session_id: session_id,
    })
}

async fn connect_with_credentials(
    state: &AppState,
    user: &ConnectUser,
    runtime: &ProjectRuntime,
    integration: &Integration,
    options: &InstallOptions,
    mut fields: Map<String, Value>,
) -> Result<InstallCompleted, ApiError> {
    let provider = integration.provider_for(options.account_type.as_deref());
    check_credentials(provider, &mut fields)?;
    let ctx = TemplateContext {
        connection: options.connection.clone(),
        credentials: fields.clone(),
        ..TemplateContext::default()
    };
    let auth = match provider.auth {
        ProviderAuth::Basic(_) => AccountAuth::Basic,
        _ => AccountAuth::ApiKey,
    };
    if provider.verify.is_some() {
        state
            .engine
            .oauth()
            .verify_credentials(provider, &auth, &ctx)
            .await
            .map_err(|err| match err {
                OAuthError::Rejected { .. } | OAuthError::Provider { .. } => ApiError::new(
                    ErrorCode::CredentialsRejected,
                    format!("{} rejected these credentials.", integration.config.name),
                ),
                other => ApiError::provider(&other),
            })?;
    }
    let (provider_id, provider_data, vars) = match &provider.account {
        Some(_) => {
            let identity = state
                .engine
                .oauth()
                .identify_account(provider, &auth, &ctx, options.choice.as_deref())
                .await
                .map_err(|err| ApiError::provider(&err))?;
            (
                identity.provider_id,
                Value::Object(identity.provider_data),
                identity.vars,
            )
        }
        // Without an account step, the key itself identifies the account:
        // a digest, never the key.
        None => (
            credentials_digest(&fields),
            json!({"name": integration.config.name}),
            Map::new(),
        ),
    };
    let account = AuthorizedAccount {
        provider_id,
        provider_data,
        secrets: CredentialSecrets {
            fields,
            ..CredentialSecrets::default()
        },
        account_vars: json!({"connection": options.connection, "vars": vars}),
        valid_until: None,
        // Checked again periodically where the provider can tell.
        next_refresh_at: provider.verify.as_ref().and_then(|_| {
            let interval =
                chrono::Duration::from_std(state.engine.credential_check_interval()).ok()?;
            Some(now() + interval)
        }),
    };
    store_account(state, user, runtime, integration, options, account).await
}

async fn store_account(
    state: &AppState,
    user: &ConnectUser,
    runtime: &ProjectRuntime,
    integration: &Integration,
    options: &InstallOptions,
    account: AuthorizedAccount,
) -> Result<InstallCompleted, ApiError> {
    let connected = state
        .engine
        .connector()
        .store_account(
            user.project.id,
            &user.user.user_id,
            integration,
            options,
            account,
        )
        .await?;
    Ok(InstallCompleted {
        credential: user_object::credential(&connected.credential, runtime),
        deduplicated: connected.deduplicated,
    })
}

/// Connects a client-credentials account: the client id and secret typed in are granted a
/// token at once, so a wrong secret is refused before anything is stored.
async fn connect_client_credentials(
    state: &AppState,
    user: &ConnectUser,
    runtime: &ProjectRuntime,
    integration: &Integration,
    auth: &ClientCredentialsAuth,
    options: &InstallOptions,
    mut fields: Map<String, Value>,
) -> Result<InstallCompleted, ApiError> {
    let provider = integration.provider_for(options.account_type.as_deref());
    check_credentials(provider, &mut fields)?;
    let secrets = CredentialSecrets {
        fields,
        ..CredentialSecrets::default()
    };
    let client = patchbay_engine::tokens::client_of(auth, &secrets);
    let ctx = TemplateContext {
        connection: options.connection.clone(),
        credentials: secrets.fields.clone(),
        ..TemplateContext::default()
    };
    let tokens = state
        .engine
        .oauth()
        .client_credentials(auth, &client, &ctx)
        .await
        .map_err(|err| grant_refused(integration, &err))?;
    // Without an account step, the client is the account: a digest of its id, never the
    // secret.
    let (id_field, _) = auth.field_ids();
    let id: Map<String, Value> = secrets
        .fields
        .get(id_field)
        .map(|id| (id_field.to_owned(), id.clone()))
        .into_iter()
        .collect();
    let granted = Granted {
        secrets,
        tokens,
        ctx,
        public_credentials: None,
        fallback_id: credentials_digest(&id),
    };
    connect_granted(state, user, runtime, integration, options, granted).await
}

/// Connects a JWT-bearer account: the key file is read and checked, and an assertion signed
/// with it is exchanged at once, so an unusable key or a refused account stores nothing.
async fn connect_jwt_bearer(
    state: &AppState,
    user: &ConnectUser,
    runtime: &ProjectRuntime,
    integration: &Integration,
    auth: &JwtBearerAuth,
    options: &InstallOptions,
    mut fields: Map<String, Value>,
) -> Result<InstallCompleted, ApiError> {
    // The key file may come as the file's text or as its JSON object; it is kept as text.
    if let Some(object @ Value::Object(_)) = fields.get(JwtBearerAuth::KEY_FILE) {
        let text = object.to_string();
        fields.insert(JwtBearerAuth::KEY_FILE.to_owned(), Value::String(text));
    }
    let provider = integration.provider_for(options.account_type.as_deref());
    check_credentials(provider, &mut fields)?;
    let secrets = CredentialSecrets {
        fields,
        ..CredentialSecrets::default()
    };
    let (key, subject) =
        patchbay_engine::tokens::service_account_of(&secrets).map_err(key_file_rejected)?;
    let public_credentials = key.template_values(subject.as_deref());
    let ctx = TemplateContext {
        connection: options.connection.clone(),
        credentials: public_credentials.clone(),
        ..TemplateContext::default()
    };
    let tokens = state
        .engine
        .oauth()
        .jwt_bearer(auth, &key, subject.as_deref(), &ctx)
        .await
        .map_err(|err| match err {
            OAuthError::KeyFile(err) => key_file_rejected(err),
            other => grant_refused(integration, &other),
        })?;
    // Without an account step, the account is the user acted for, else the service account.
    let fallback_id = subject.unwrap_or_else(|| key.client_email().to_owned());
    let granted = Granted {
        secrets,
        tokens,
        ctx,
        public_credentials: Some(public_credentials),
        fallback_id,
    };
    connect_granted(state, user, runtime, integration, options, granted).await
}

fn key_file_rejected(err: KeyFileError) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidKeyFile,
        format!("The key file cannot be used: {err}."),
    )
    .with_meta(json!({"field": format!("credentials.{}", JwtBearerAuth::KEY_FILE)}))
}

/// A token endpoint's refusal of what the end user gave is theirs to fix (`422`); anything
/// else is the provider's failure.
fn grant_refused(integration: &Integration, err: &OAuthError) -> ApiError {
    if err.is_definitive() {
        ApiError::new(
            ErrorCode::CredentialsRejected,
            format!("{} rejected these credentials.", integration.config.name),
        )
    } else {
        ApiError::provider(err)
    }
}

/// What a grant made at install gave, for [`connect_granted`].
struct Granted {
    /// The fields the end user gave, sealed with the account.
    secrets: CredentialSecrets,
    tokens: TokenSet,
    ctx: TemplateContext,
    /// `credentials.*` kept unsealed for templates, where none of it is secret.
    public_credentials: Option<Map<String, Value>>,
    /// The account's id when the integration has no account step.
    fallback_id: String,
}

/// Identifies and stores an account whose token a grant has just given.
async fn connect_granted(
    state: &AppState,
    user: &ConnectUser,
    runtime: &ProjectRuntime,
    integration: &Integration,
    options: &InstallOptions,
    granted: Granted,
) -> Result<InstallCompleted, ApiError> {
    let Granted {
        secrets,
        tokens,
        mut ctx,
        public_credentials,
        fallback_id,
    } = granted;
    let provider = integration.provider_for(options.account_type.as_deref());
    let access_token = tokens.access_token.expose_secret();
    ctx.token = tokens.public_fields.clone();
    let (provider_id, provider_data, vars) = match &provider.account {
        Some(_) => {
            let identity = state
                .engine
                .oauth()
                .identify_account(
                    provider,
                    &AccountAuth::Bearer(access_token),
                    &ctx,
                    options.choice.as_deref(),
                )
                .await
                .map_err(|err| ApiError::provider(&err))?;
            (
                identity.provider_id,
                Value::Object(identity.provider_data),
                identity.vars,
            )
        }
        None => (
            fallback_id,
            json!({"name": integration.config.name}),
            Map::new(),
        ),
    };
    let valid_until = tokens
        .expires_in
        .map(|seconds| now() + Duration::seconds(seconds));
    let mut account_vars = json!({
        "token": tokens.public_fields,
        "vars": vars,
        "connection": options.connection,
    });
    if let Some(credentials) = public_credentials {
        account_vars["credentials"] = Value::Object(credentials);
    }
    let account = AuthorizedAccount {
        provider_id,
        provider_data,
        secrets: CredentialSecrets {
            access_token: Some(access_token.to_owned()),
            ..secrets
        },
        account_vars,
        valid_until,
        next_refresh_at: patchbay_engine::tokens::next_refresh_at(valid_until),
    };
    store_account(state, user, runtime, integration, options, account).await
}

/// The credentials typed in are exactly the definition's fields, each required one given.
/// An optional field left empty is dropped, as if not sent.
fn check_credentials(
    provider: &ProviderDefinition,
    fields: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    fields.retain(|_, value| value.as_str() != Some(""));
    for field in provider.auth.credential_fields() {
        if field.required
            && fields
                .get(&field.id)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            return Err(ApiError::validation(
                &format!("credentials.{}", field.id),
                format!("{} is required.", field.title),
            ));
        }
    }
    if let Some(name) = fields
        .iter()
        .find_map(|(name, value)| (!value.is_string()).then_some(name))
    {
        return Err(ApiError::validation(
            &format!("credentials.{name}"),
            "must be a string.",
        ));
    }
    if let Some(unknown) = fields.keys().find(|k| {
        !provider
            .auth
            .credential_fields()
            .iter()
            .any(|f| &f.id == *k)
    }) {
        return Err(ApiError::validation(
            &format!("credentials.{unknown}"),
            "is not a credential field of this integration.",
        ));
    }
    Ok(())
}

fn credentials_digest(fields: &Map<String, Value>) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(Value::Object(fields.clone()).to_string().as_bytes());
    format!(
        "key-{}",
        digest
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

#[derive(Debug, Deserialize)]
pub struct SessionPath {
    #[serde(rename = "installSessionId")]
    id: String,
}

/// Where an OAuth install stands, for SDKs that poll.
#[utoipa::path(get, path = "/projects/{projectId}/sdk/install-sessions/{installSessionId}", operation_id = "getInstallSession", tag = "sdk",
    params(("projectId" = Uuid, Path), ("installSessionId" = Uuid, Path)),
    responses((status = 200, body = InstallSessionView), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn install_session(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<SessionPath>,
) -> Result<axum::Json<InstallSessionView>, ApiError> {
    let not_found = || {
        ApiError::new(
            ErrorCode::InstallSessionNotFound,
            "Install session not found.",
        )
    };
    let id = Uuid::parse_str(&path.id).map_err(|_| not_found())?;
    let session = state
        .store()
        .install_sessions()
        .get_install_session(user.project.id, id)
        .await?
        .filter(|s| s.user_id == user.user.user_id)
        .ok_or_else(not_found)?;
    let status = match session.status {
        patchbay_store::InstallStatus::Pending if session.expires_at < now() => {
            InstallStatus::Failed
        }
        patchbay_store::InstallStatus::Pending => InstallStatus::Pending,
        patchbay_store::InstallStatus::Complete => InstallStatus::Complete,
        patchbay_store::InstallStatus::Failed => InstallStatus::Failed,
    };
    let error = match (&status, session.error) {
        (InstallStatus::Failed, None) => Some("The install session expired.".to_owned()),
        (_, error) => error,
    };
    Ok(axum::Json(InstallSessionView {
        status,
        credential_id: session.credential_id,
        error,
    }))
}

/// Disconnects one account: its tokens and configuration are deleted. With
/// two or more accounts the account must be selected.
#[utoipa::path(delete, path = "/projects/{projectId}/sdk/integrations/{integration}", operation_id = "uninstallIntegration", tag = "sdk",
    params(("projectId" = Uuid, Path), ("integration" = String, Path),
           ("X-Paragon-Credential" = Option<String>, Header)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn uninstall(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<IntegrationPath>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let integration = runtime.require_integration(&path.type_or_id)?;
    let credential: CredentialRecord = selected_credential(
        state.store(),
        &user,
        &runtime,
        integration,
        AccountSelection {
            credential: credential_selection(&headers)?,
            configuration: None,
        },
        Operation::Destroy,
    )
    .await?;
    state
        .engine
        .connector()
        .disconnect(Some(integration), &credential)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
