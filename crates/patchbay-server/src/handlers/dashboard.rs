//! The dashboard: its page and files (`/dashboard/`, from `assets/dashboard`, compiled into
//! the binary), and signing in and out. Everything it shows comes from the admin API, which
//! accepts the session cookie in place of a secret key (`session.rs`).

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use patchbay_api::{DashboardSessionView, ErrorBody, ErrorCode, SignInRequest};
use patchbay_core::secret_key::{SecretKeyHash, looks_like_secret_key};
use patchbay_store::{DashboardSession, SessionScope};
use secrecy::ExposeSecret as _;
use subtle::ConstantTimeEq as _;

use crate::error::ApiError;
use crate::extract::{JsonBody, PathParams};
use crate::handlers::browser::{FilePath, JAVASCRIPT, PageFiles, listed_file, page_file};
use crate::session::{self, SessionToken};
use crate::state::AppState;

const PAGE: &str = include_str!("../../assets/dashboard/index.html");

/// The page's files by name: its stylesheet, and its script as ES modules (`dashboard.js`
/// imports the others).
const FILES: &PageFiles = &[
    (
        "dashboard.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/dashboard/dashboard.css"),
    ),
    (
        "dashboard.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/dashboard.js"),
    ),
    (
        "api.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/api.js"),
    ),
    (
        "dom.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/dom.js"),
    ),
    (
        "charts.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/charts.js"),
    ),
    (
        "diff.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/diff.js"),
    ),
    (
        "overview.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/overview.js"),
    ),
    (
        "users.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/users.js"),
    ),
    (
        "runs.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/runs.js"),
    ),
    (
        "webhooks.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/webhooks.js"),
    ),
    (
        "events.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/events.js"),
    ),
    (
        "config.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/config.js"),
    ),
    (
        "activity.js",
        JAVASCRIPT,
        include_str!("../../assets/dashboard/activity.js"),
    ),
];

/// The dashboard loads only its own files, talks only to this server, and may not be framed
/// (a framing page could trick a signed-in user into clicking a change).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut response = page_file(content_type, CSP, body);
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// `/dashboard` without its slash: the page's relative links need it.
pub async fn page_without_slash() -> Redirect {
    Redirect::permanent("/dashboard/")
}

/// The dashboard's single page; its views are addressed by the URL's fragment.
#[utoipa::path(get, path = "/dashboard/", operation_id = "getDashboardPage", tag = "dashboard",
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn page() -> Response {
    file("text/html; charset=utf-8", PAGE)
}

/// One of the page's files: `dashboard.css`, `dashboard.js` and the modules it imports.
#[utoipa::path(get, path = "/dashboard/{file}", operation_id = "getDashboardFile", tag = "dashboard",
    params(("file" = String, Path)),
    responses((status = 200, content((String = "text/javascript"), (String = "text/css"))),
              (status = 404, body = ErrorBody)))]
pub async fn asset(PathParams(path): PathParams<FilePath>) -> Result<Response, ApiError> {
    let (content_type, body) = listed_file("dashboard", FILES, &path.file)?;
    Ok(file(content_type, body))
}

fn view(token: &SessionToken, session: &DashboardSession) -> DashboardSessionView {
    let (scope, project_id) = match session.scope {
        SessionScope::Project { project_id, .. } => ("project", Some(project_id)),
        SessionScope::Instance => ("instance", None),
    };
    DashboardSessionView {
        scope: scope.to_owned(),
        project_id,
        csrf_token: token.csrf_token(),
        expires_at: session.expires_at,
    }
}

/// Signs in with a project's secret key or the instance admin token, and sets the session
/// cookie. The key is read from the JSON body only: never from a URL, and a page of another
/// origin cannot send a JSON body without the browser asking this server first.
#[utoipa::path(post, path = "/dashboard/session", operation_id = "signIn", tag = "dashboard",
    request_body = SignInRequest,
    responses((status = 201, body = DashboardSessionView), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SignInRequest>,
) -> Result<Response, ApiError> {
    let scope = scope_of(&state, request.key.trim()).await?;
    let token = SessionToken::generate();
    token.open(&state, scope).await?;
    let session = DashboardSession {
        scope,
        created_at: chrono::Utc::now(),
        expires_at: chrono::Utc::now() + session::LIFETIME,
    };
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, token.cookie(session::secure(&state)))],
        axum::Json(view(&token, &session)),
    )
        .into_response())
}

/// Who a presented key signs in as.
async fn scope_of(state: &AppState, key: &str) -> Result<SessionScope, ApiError> {
    if looks_like_secret_key(key) {
        if let Some(record) = state
            .store()
            .secret_keys()
            .find_active_secret_key(&SecretKeyHash::of(key))
            .await?
        {
            return Ok(SessionScope::Project {
                project_id: record.project_id,
                secret_key_id: record.id,
            });
        }
    } else if let Some(admin_token) = &state.config.admin_token
        && bool::from(key.as_bytes().ct_eq(admin_token.expose_secret().as_bytes()))
    {
        return Ok(SessionScope::Instance);
    }
    Err(ApiError::new(
        ErrorCode::UnauthorizedSecretKey,
        "That is neither an active secret key nor the instance admin token.",
    ))
}

/// The current session, with the CSRF token changes must carry.
#[utoipa::path(get, path = "/dashboard/session", operation_id = "getDashboardSession", tag = "dashboard",
    responses((status = 200, body = DashboardSessionView), (status = 401, body = ErrorBody)))]
pub async fn current(
    State(state): State<AppState>,
    request: Request,
) -> Result<axum::Json<DashboardSessionView>, ApiError> {
    let (token, session) = signed_in(&request.into_parts().0, &state).await?;
    Ok(axum::Json(view(&token, &session)))
}

/// Signs out: the session ends on the server, and the browser forgets its cookie.
#[utoipa::path(delete, path = "/dashboard/session", operation_id = "signOut", tag = "dashboard",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn sign_out(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (token, _) = signed_in(&request.into_parts().0, &state).await?;
    token.close(&state).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            session::expired_cookie(session::secure(&state)),
        )],
    )
        .into_response())
}

async fn signed_in(
    parts: &Parts,
    state: &AppState,
) -> Result<(SessionToken, DashboardSession), ApiError> {
    session::authenticate(parts, state).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnauthorizedSession,
            "Not signed in to the dashboard.",
        )
    })
}
