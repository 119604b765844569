//! Axum's extractors with their rejections turned into [`ApiError`], so a
//! malformed body or parameter gets the same JSON error shape as everything
//! else. None of them lets a NUL character (U+0000) through: PostgreSQL
//! cannot store it, and both backends must answer alike.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use patchbay_api::ErrorCode;
use patchbay_core::nul::first_nul;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        // Content type, size and syntax first, as axum judges them.
        let axum::Json(value) =
            axum::Json::<serde_json::Value>::from_request(request, state).await?;
        refuse_nul_in(&value)?;
        serde_path_to_error::deserialize(value)
            .map(Self)
            .map_err(|error| {
                let field = error.path().to_string();
                ApiError::validation(&field, error.into_inner().to_string())
            })
    }
}

/// A JSON value holding a NUL character anywhere is refused, naming where.
pub fn refuse_nul_in(value: &serde_json::Value) -> Result<(), ApiError> {
    match first_nul(value) {
        Some(field) => Err(ApiError::validation(
            &field,
            "must not contain a NUL character (U+0000)",
        )),
        None => Ok(()),
    }
}

/// `%00` in a raw path or query: the only way a NUL reaches a URI.
fn refuse_encoded_nul(raw: &str, what: &str) -> Result<(), ApiError> {
    if raw
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
    {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("The {what} must not contain a NUL character (%00)."),
        ));
    }
    Ok(())
}

/// Path parameters.
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        refuse_encoded_nul(parts.uri.path(), "path")?;
        let axum::extract::Path(params) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(params))
    }
}

/// Query parameters.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        refuse_encoded_nul(parts.uri.query().unwrap_or(""), "query")?;
        let axum::extract::Query(params) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(params))
    }
}

/// A request body read whole (within the server's body limit).
#[derive(Debug)]
pub struct BodyBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for BodyBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Ok(Self(axum::body::Bytes::from_request(request, state).await?))
    }
}
