//! `/projects/{projectId}/mcp`: the MCP server (`crate::mcp`) behind the user token.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use tower::ServiceExt as _;

use crate::auth::ConnectUser;
use crate::state::AppState;

/// `/projects/{projectId}/mcp`: authenticates the user token as every end-user route does,
/// then hands the request, with its caller, to the MCP service.
pub async fn endpoint(
    user: ConnectUser,
    State(state): State<AppState>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(user.0);
    match state
        .mcp
        .0
        .clone()
        .oneshot(Request::from_parts(parts, body))
        .await
    {
        Ok(response) => response.map(Body::new),
        Err(infallible) => match infallible {},
    }
}
