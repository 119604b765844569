//! `POST /projects/{projectId}/mcp`: the MCP server (`crate::mcp`) behind the user token. The
//! protocol's own transport answers a request it refuses with a line of text; here such an
//! answer becomes the API's JSON error, as every other refusal is.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use patchbay_api::ErrorCode;
use tower::ServiceExt as _;

use crate::auth::ConnectUser;
use crate::error::ApiError;
use crate::extract::BodyBytes;
use crate::state::AppState;

/// The most of a refusal's text that is kept for the error's message.
const REFUSAL_TEXT_LIMIT: usize = 1024;

/// Authenticates the user token as every end-user route does, checks that the body is JSON,
/// then hands the request, with its caller, to the MCP service.
pub async fn endpoint(
    user: ConnectUser,
    State(state): State<AppState>,
    mut parts: Parts,
    BodyBytes(body): BodyBytes,
) -> Response {
    // The transport would call a body that is not JSON an unsupported media type.
    if parts.headers.get(CONTENT_TYPE).is_some_and(is_json)
        && serde_json::from_slice::<serde_json::Value>(&body).is_err()
    {
        return ApiError::new(
            ErrorCode::InvalidJson,
            "The body is not JSON-RPC: not JSON.",
        )
        .into_response();
    }
    parts.extensions.insert(user.0);
    let answer = match state
        .mcp
        .0
        .clone()
        .oneshot(Request::from_parts(parts, Body::from(body)))
        .await
    {
        Ok(response) => response.map(Body::new),
        Err(infallible) => match infallible {},
    };
    as_api_error(answer).await
}

fn is_json(value: &HeaderValue) -> bool {
    value
        .to_str()
        .is_ok_and(|text| text.trim_start().starts_with("application/json"))
}

/// The transport's refusals (a status of 400 or more without a JSON body) as `ApiError`s with
/// the transport's own words; everything else as it is.
async fn as_api_error(response: Response) -> Response {
    let status = response.status();
    let json = response.headers().get(CONTENT_TYPE).is_some_and(is_json);
    if status.as_u16() < 400 || json {
        return response;
    }
    let code = match status {
        StatusCode::NOT_ACCEPTABLE => ErrorCode::NotAcceptable,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        status if status.is_server_error() => return ApiError::internal().into_response(),
        _ => ErrorCode::InvalidParameter,
    };
    let text = match response.into_body().collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let end = bytes.len().min(REFUSAL_TEXT_LIMIT);
            String::from_utf8_lossy(&bytes[..end]).trim().to_owned()
        }
        Err(_) => String::new(),
    };
    ApiError::new(code, format!("The MCP request was refused: {text}")).into_response()
}
