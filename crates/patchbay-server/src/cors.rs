//! CORS for the end-user API, so the JavaScript SDK works from the
//! developer's own site: a browser page on one of a project's
//! `settings.allowedOrigins` may call `/projects/{id}/sdk/...`, ActionKit's
//! `/projects/{id}/tools` and the MCP server. Requests
//! authenticate with a bearer token, never a cookie, so no credentials mode
//! is granted. Other paths (the admin API above all) get no CORS headers.

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::state::AppState;

/// How long a browser may reuse a preflight answer.
const PREFLIGHT_MAX_AGE_SECONDS: &str = "600";

pub async fn end_user_api(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let cors = Cors::of(&state, &request).await;
    if let Some(preflight) = cors.preflight() {
        return preflight;
    }
    let mut response = next.run(request).await;
    cors.finish(&mut response);
    response
}

/// What CORS asks of one request: nothing (no `Origin`, or not the end-user
/// API), or an answer to give to its origin, allowed or not.
pub enum Cors {
    NotAsked,
    Asked {
        origin: HeaderValue,
        allowed: bool,
        /// The preflight's headers, when this is one.
        preflight: Option<(Option<HeaderValue>, Option<HeaderValue>)>,
    },
}

impl Cors {
    /// Reads what the request asks before the future starts, so that the
    /// future holds no borrow of it (a request body is not `Sync`).
    pub fn of<'a>(
        state: &'a AppState,
        request: &Request,
    ) -> impl Future<Output = Self> + Send + 'a {
        let headers = request.headers();
        let asked = headers
            .get(ORIGIN)
            .zip(sdk_project(request.uri().path()))
            .map(|(origin, project_id)| {
                let preflight = (request.method() == Method::OPTIONS)
                    .then(|| headers.get(ACCESS_CONTROL_REQUEST_METHOD))
                    .flatten()
                    .map(|method| {
                        (
                            Some(method.clone()),
                            headers.get(ACCESS_CONTROL_REQUEST_HEADERS).cloned(),
                        )
                    });
                (origin.clone(), project_id, preflight)
            });
        async move {
            let Some((origin, project_id, preflight)) = asked else {
                return Self::NotAsked;
            };
            Self::Asked {
                allowed: is_allowed(state, project_id, &origin).await,
                origin,
                preflight,
            }
        }
    }

    /// The whole answer to a preflight, which goes no further.
    pub fn preflight(&self) -> Option<Response> {
        let Self::Asked {
            origin,
            allowed,
            preflight: Some((method, headers)),
        } = self
        else {
            return None;
        };
        let mut response = StatusCode::NO_CONTENT.into_response();
        if *allowed {
            let granted = response.headers_mut();
            if let Some(method) = method {
                granted.insert(ACCESS_CONTROL_ALLOW_METHODS, method.clone());
            }
            // Whatever headers the page asked for: the proxy forwards the
            // caller's own headers, and `*` would not cover `Authorization`.
            if let Some(headers) = headers {
                granted.insert(ACCESS_CONTROL_ALLOW_HEADERS, headers.clone());
            }
            granted.insert(
                ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(PREFLIGHT_MAX_AGE_SECONDS),
            );
            grant(granted, origin.clone());
        }
        response
            .headers_mut()
            .insert(VARY, HeaderValue::from_static("origin"));
        Some(response)
    }

    /// Grants an allowed origin the answer.
    pub fn finish(self, response: &mut Response) {
        let Self::Asked {
            origin, allowed, ..
        } = self
        else {
            return;
        };
        if allowed {
            grant(response.headers_mut(), origin);
        }
        response
            .headers_mut()
            .append(VARY, HeaderValue::from_static("origin"));
    }
}

/// The roots of the end-user API under `/projects/{id}/`: the SDK's routes, ActionKit's and
/// the MCP server, all authenticated with a user token.
const END_USER_ROOTS: [&str; 4] = ["sdk", "tools", "actions", "mcp"];

/// The project id of an end-user API path, `/projects/{id}/sdk/...` (or
/// Paragon's versioned spelling, `/v2/projects/{id}/sdk/...`), `/projects/{id}/tools`,
/// `/projects/{id}/actions` or `/projects/{id}/mcp`.
fn sdk_project(path: &str) -> Option<Uuid> {
    let path = path.strip_prefix("/v2").unwrap_or(path);
    let rest = path.strip_prefix("/projects/")?;
    let (id, rest) = rest.split_once('/')?;
    let root = rest.split('/').next().unwrap_or(rest);
    END_USER_ROOTS
        .contains(&root)
        .then(|| Uuid::parse_str(id).ok())
        .flatten()
}

/// Whether `origin` is one of the project's allowed origins. An unknown
/// project or an unreadable store allows nothing; the request itself then
/// gets its usual answer.
async fn is_allowed(state: &AppState, project_id: Uuid, origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Ok(Some(project)) = state.store().projects().get_project(project_id).await else {
        return false;
    };
    match state.engine.runtimes().load(&project).await {
        Ok(runtime) => runtime.settings.allowed_origins.iter().any(|o| o == origin),
        Err(_) => false,
    }
}

fn grant(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    // Proxy responses carry the provider's headers; let the page read them.
    headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("*"));
}

#[cfg(test)]
mod tests {
    use super::sdk_project;

    #[test]
    fn only_end_user_api_paths_name_a_project() {
        let id = "5a7c6b00-de30-4000-8000-000000000001";
        assert!(sdk_project(&format!("/projects/{id}/sdk/me")).is_some());
        assert!(sdk_project(&format!("/projects/{id}/sdk")).is_some());
        assert!(sdk_project(&format!("/v2/projects/{id}/sdk/events/trigger")).is_some());
        assert!(sdk_project(&format!("/v3/projects/{id}/sdk/me")).is_none());
        assert!(sdk_project(&format!("/projects/{id}/sdkx/me")).is_none());
        assert!(sdk_project(&format!("/api/v1/projects/{id}/config")).is_none());
        assert!(sdk_project("/projects/not-a-uuid/sdk/me").is_none());
    }
}
