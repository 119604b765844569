//! Who is calling: extractors for the instance admin token and for project secret keys
//! (each also answered by a dashboard session signed in with one), and for user tokens.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Request, Uri, header};
use patchbay_api::ErrorCode;
use patchbay_core::secret_key::{SecretKeyHash, looks_like_secret_key};
use patchbay_core::user_token::{self, VerificationKey, VerifiedToken};
use patchbay_store::{ConnectedUser, Project, SessionScope, SigningKeyRecord};
use secrecy::ExposeSecret as _;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use patchbay_engine::Caller;

use crate::audit;
use crate::error::ApiError;
use crate::session;
use crate::state::AppState;

/// The bearer value of the `Authorization` header. Two headers are refused:
/// acting on the first or the last would be a guess about who is calling.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::new(
            ErrorCode::UnauthorizedMissingToken,
            "Send `Authorization: Bearer <token>`.",
        )
    };
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or_else(missing)?;
    if values.next().is_some() {
        return Err(ambiguous("Send one Authorization header, not several."));
    }
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim())
}

fn ambiguous(message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameter, message)
}

/// The caller presented the instance admin token.
#[derive(Debug)]
pub struct InstanceAdmin;

impl FromRequestParts<AppState> for InstanceAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = &state.config.admin_token else {
            return Err(ApiError::new(
                ErrorCode::ProjectCreationDisabled,
                "Creating projects over HTTP is disabled: set PATCHBAY_ADMIN_TOKEN, \
                 or use `patchbay project create`.",
            ));
        };
        if !parts.headers.contains_key(header::AUTHORIZATION)
            && let Some((_, session)) = session::authenticate(parts, state).await?
        {
            return match session.scope {
                SessionScope::Instance => {
                    audit::ActorSlot::fill(parts, None, "dashboard (admin token)".to_owned());
                    Ok(Self)
                }
                SessionScope::Project { .. } => Err(ApiError::new(
                    ErrorCode::UnauthorizedAdminToken,
                    "This needs the instance admin token; the dashboard is signed in with a \
                     project's secret key.",
                )),
            };
        }
        let presented = bearer(&parts.headers)?;
        if bool::from(
            presented
                .as_bytes()
                .ct_eq(expected.expose_secret().as_bytes()),
        ) {
            audit::ActorSlot::fill(parts, None, "admin token".to_owned());
            Ok(Self)
        } else {
            Err(ApiError::new(
                ErrorCode::UnauthorizedAdminToken,
                "The admin token is not valid.",
            ))
        }
    }
}

/// The `{projectId}` of the path (`/projects/{id}/...`, `/api/v1/projects/{id}/...`), read
/// from the raw URI: other parameters of the same route (a proxied path) may not even be valid
/// UTF-8, and must not make authentication fail. `None` when it is not a UUID.
fn project_id_param(parts: &Parts) -> Option<Uuid> {
    let mut segments = parts.uri.path().split('/');
    segments.find(|segment| *segment == "projects")?;
    Uuid::parse_str(segments.next()?).ok()
}

/// The caller holds a secret key of the project named in the path, or a dashboard session
/// signed in with one (or with the instance admin token, which reaches every project).
///
/// A key of another project, a project that does not exist and a project id
/// that is not even a UUID all get the same `404 project_not_found`, so a key
/// never reveals anything about projects it does not belong to.
#[derive(Debug)]
pub struct ProjectAdmin {
    pub project: Project,
}

impl FromRequestParts<AppState> for ProjectAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (project_id, actor) = if !parts.headers.contains_key(header::AUTHORIZATION)
            && let Some((_, session)) = session::authenticate(parts, state).await?
        {
            session_project(parts, session.scope)?
        } else {
            secret_key_project(parts, state).await?
        };
        let project = state
            .store()
            .projects()
            .get_project(project_id)
            .await?
            .ok_or_else(ApiError::project_not_found)?;
        audit::ActorSlot::fill(parts, Some(project.id), actor);
        Ok(Self { project })
    }
}

/// A project admin of a long-lived stream, with what they authenticated with, so that the
/// stream can ask again, as it goes on, whether that would still be accepted: a revoked key
/// or an ended session ends it.
#[derive(Debug)]
pub struct StreamAdmin {
    pub admin: ProjectAdmin,
    pub credentials: AdminCredentials,
}

/// The part of a request head [`ProjectAdmin`] reads: the path (its project), and the
/// `Authorization` and `Cookie` headers (a secret key, or a dashboard session).
pub struct AdminCredentials {
    uri: Uri,
    headers: HeaderMap,
}

// By hand: the headers hold a secret key or a session's token.
impl std::fmt::Debug for AdminCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminCredentials")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl AdminCredentials {
    fn of(parts: &Parts) -> Self {
        let mut headers = HeaderMap::new();
        for name in [header::AUTHORIZATION, header::COOKIE] {
            for value in parts.headers.get_all(&name) {
                let mut value = value.clone();
                value.set_sensitive(true);
                headers.append(name.clone(), value);
            }
        }
        Self {
            uri: parts.uri.clone(),
            headers,
        }
    }

    /// Authenticates them again, exactly as [`ProjectAdmin`] did when the stream opened.
    pub async fn authenticate(&self, state: &AppState) -> Result<ProjectAdmin, ApiError> {
        let mut request = Request::new(());
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        let (mut parts, ()) = request.into_parts();
        ProjectAdmin::from_request_parts(&mut parts, state).await
    }
}

impl FromRequestParts<AppState> for StreamAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let admin = ProjectAdmin::from_request_parts(parts, state).await?;
        Ok(Self {
            admin,
            credentials: AdminCredentials::of(parts),
        })
    }
}

/// The project of the path, when the secret key presented belongs to it; and who acts.
async fn secret_key_project(parts: &Parts, state: &AppState) -> Result<(Uuid, String), ApiError> {
    let presented = bearer(&parts.headers)?;
    let invalid = || {
        ApiError::new(
            ErrorCode::UnauthorizedSecretKey,
            "The secret key is not valid or has been revoked.",
        )
    };
    if !looks_like_secret_key(presented) {
        return Err(invalid());
    }
    let key = state
        .store()
        .secret_keys()
        .find_active_secret_key(&SecretKeyHash::of(presented))
        .await?
        .ok_or_else(invalid)?;
    if project_id_param(parts) != Some(key.project_id) {
        return Err(ApiError::project_not_found());
    }
    Ok((key.project_id, format!("secret key {}", key.id)))
}

/// The project of the path, when the session may act on it; and who acts.
fn session_project(parts: &Parts, scope: SessionScope) -> Result<(Uuid, String), ApiError> {
    let wanted = project_id_param(parts).ok_or_else(ApiError::project_not_found)?;
    match scope {
        SessionScope::Instance => Ok((wanted, "dashboard (admin token)".to_owned())),
        SessionScope::Project {
            project_id,
            secret_key_id,
        } if project_id == wanted => Ok((
            project_id,
            format!("dashboard (secret key {secret_key_id})"),
        )),
        SessionScope::Project { .. } => Err(ApiError::project_not_found()),
    }
}

/// An end user, authenticated by a user token signed with one of the
/// project's signing keys, with their stored user (created on first use,
/// metadata claims merged in): the engine's [`Caller`].
#[derive(Debug)]
pub struct ConnectUser(pub Caller);

impl std::ops::Deref for ConnectUser {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl FromRequestParts<AppState> for ConnectUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?;
        Self::authenticate(parts, state, token).await
    }
}

impl ConnectUser {
    async fn authenticate(parts: &Parts, state: &AppState, token: &str) -> Result<Self, ApiError> {
        let (project, token) = verified_token(parts, state, token).await?;
        let user = current_user(state, project.id, &token).await?;
        Ok(Self(Caller {
            project,
            user,
            token,
        }))
    }
}

/// The project named in the path and the verified user token: one store
/// read (the project and its active keys, usually cached); the signature is
/// checked only the first time this process sees the token.
async fn verified_token(
    parts: &Parts,
    state: &AppState,
    token: &str,
) -> Result<(Project, VerifiedToken), ApiError> {
    let project_id = project_id_param(parts).ok_or_else(ApiError::project_not_found)?;
    let (project, active_keys) = state
        .store()
        .projects()
        .get_project_with_active_keys(project_id)
        .await?
        .ok_or_else(ApiError::project_not_found)?;
    let now = chrono::Utc::now().timestamp();
    let verified = match state
        .verified_tokens
        .get(project_id, token, &active_keys, now)
    {
        Some(verified) => verified,
        None => {
            let verified = verify(token, project_id, active_keys, now)?;
            state
                .verified_tokens
                .insert(project_id, token, &verified, now);
            verified
        }
    };
    Ok((project, verified))
}

fn verify(
    token: &str,
    project_id: Uuid,
    active_keys: Vec<SigningKeyRecord>,
    now: i64,
) -> Result<VerifiedToken, ApiError> {
    let keys: Vec<VerificationKey> = active_keys
        .into_iter()
        .filter_map(|key| {
            Some(VerificationKey {
                algorithm: key.algorithm.parse().ok()?,
                kid: key.kid,
                public_key_pem: key.public_key_pem,
            })
        })
        .collect();
    user_token::verify(token, project_id, &keys, now)
        .map_err(|err| ApiError::new(ErrorCode::UnauthorizedToken(err.code()), err.to_string()))
}

/// An end user of a long-lived stream. Browsers' `EventSource` cannot send
/// headers, so the token may also come as `?token=`; request logs never
/// carry query strings, so it stays out of them.
#[derive(Debug)]
pub struct StreamUser(pub ConnectUser);

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

impl FromRequestParts<AppState> for StreamUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let from_query = axum::extract::Query::<TokenQuery>::try_from_uri(&parts.uri)
            .map_err(ApiError::from)?
            .0
            .token;
        let token = match (
            &from_query,
            parts.headers.contains_key(header::AUTHORIZATION),
        ) {
            (Some(token), false) => token.as_str(),
            (None, _) => bearer(&parts.headers)?,
            (Some(_), true) => {
                return Err(ambiguous(
                    "Send the token once, as `?token=` or in the header, not both.",
                ));
            }
        };
        ConnectUser::authenticate(parts, state, token)
            .await
            .map(Self)
    }
}

/// The stored user, created on first use. Metadata claims of the token are
/// merged in, but only written when they change something, so an ordinary
/// request costs one read.
async fn current_user(
    state: &AppState,
    project_id: Uuid,
    token: &VerifiedToken,
) -> Result<ConnectedUser, ApiError> {
    let stored = state
        .store()
        .users()
        .get_user(project_id, &token.user_id)
        .await?;
    let up_to_date = stored.as_ref().is_some_and(|user| {
        token
            .meta
            .iter()
            .all(|(key, value)| user.meta.get(key) == Some(value))
    });
    match stored {
        Some(user) if up_to_date => Ok(user),
        _ => {
            let meta = (!token.meta.is_empty()).then_some(&token.meta);
            Ok(state
                .store()
                .users()
                .upsert_user(project_id, &token.user_id, meta)
                .await?)
        }
    }
}
