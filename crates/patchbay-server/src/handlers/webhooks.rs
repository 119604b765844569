//! Webhook endpoints and their delivery log (admin API, docs/api.md).

use axum::extract::State;
use axum::http::StatusCode;
use patchbay_api::{
    CreateWebhookEndpointRequest, CreatedWebhookEndpoint, ErrorBody, ErrorCode,
    UpdateWebhookEndpointRequest, WEBHOOK_EVENT_TYPES, WebhookDelivery, WebhookDeliveryPage,
    WebhookDeliveryStatus, WebhookEndpoint, WebhookEndpointList, WebhookSecret,
};
use patchbay_store::{
    DeliveryFilter, DeliveryStatus, NewWebhookEndpoint, StoreError, WebhookDeliveryRecord,
    WebhookEndpointRecord,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::ProjectAdmin;
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::state::AppState;
use patchbay_engine::webhooks;

/// Deliveries per page of the log.
const PAGE: i64 = 100;

fn endpoint_not_found() -> ApiError {
    ApiError::new(
        ErrorCode::WebhookEndpointNotFound,
        "Webhook endpoint not found.",
    )
}

fn delivery_not_found() -> ApiError {
    ApiError::new(
        ErrorCode::WebhookDeliveryNotFound,
        "Webhook delivery not found.",
    )
}

fn view(record: WebhookEndpointRecord) -> WebhookEndpoint {
    WebhookEndpoint {
        id: record.id,
        url: record.url,
        event_types: record.event_types,
        disabled: record.disabled_at.is_some(),
        date_created: record.created_at,
        date_updated: record.updated_at,
    }
}

fn delivery_view(record: WebhookDeliveryRecord) -> WebhookDelivery {
    let status = match record.status {
        DeliveryStatus::Pending => WebhookDeliveryStatus::Pending,
        DeliveryStatus::Delivered => WebhookDeliveryStatus::Delivered,
        DeliveryStatus::Dead => WebhookDeliveryStatus::Dead,
    };
    WebhookDelivery {
        id: record.id,
        endpoint_id: record.endpoint_id,
        event_id: record.event_id,
        event_type: record.event_name,
        status,
        attempts: record.attempts,
        next_attempt_at: (record.status == DeliveryStatus::Pending)
            .then_some(record.next_attempt_at),
        last_status_code: record.last_status_code,
        last_error: record.last_error,
        date_created: record.created_at,
        date_delivered: record.delivered_at,
    }
}

fn check_url(raw: &str) -> Result<(), ApiError> {
    let url = url::Url::parse(raw)
        .map_err(|_| ApiError::validation("url", "Must be an absolute http or https URL."))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ApiError::validation(
            "url",
            "Must be an absolute http or https URL.",
        ));
    }
    Ok(())
}

fn check_event_types(names: &[String]) -> Result<(), ApiError> {
    for (index, name) in names.iter().enumerate() {
        if !WEBHOOK_EVENT_TYPES.contains(&name.as_str()) {
            return Err(ApiError::validation(
                &format!("eventTypes[{index}]"),
                format!(
                    "Unknown event type {name:?}; known types are {}.",
                    WEBHOOK_EVENT_TYPES.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Registers an endpoint. Its signing secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/projects/{projectId}/webhook-endpoints", operation_id = "createWebhookEndpoint", tag = "admin",
    params(("projectId" = Uuid, Path)),
    request_body = CreateWebhookEndpointRequest,
    responses((status = 201, body = CreatedWebhookEndpoint), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn create(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    JsonBody(request): JsonBody<CreateWebhookEndpointRequest>,
) -> Result<(StatusCode, axum::Json<CreatedWebhookEndpoint>), ApiError> {
    check_url(&request.url)?;
    check_event_types(&request.event_types)?;
    let mut event_types = request.event_types;
    event_types.sort_unstable();
    event_types.dedup();
    let project_id = admin.project.id;
    let id = Uuid::new_v4();
    let (secret, sealed) = webhooks::new_secret(state.engine.keyring(), project_id, id);
    let endpoint = NewWebhookEndpoint {
        id,
        project_id,
        url: request.url,
        event_types,
        secret: sealed,
    };
    let created = state
        .store()
        .events()
        .create_webhook_endpoint(&endpoint)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedWebhookEndpoint {
            endpoint: view(created),
            secret,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/projects/{projectId}/webhook-endpoints", operation_id = "listWebhookEndpoints", tag = "admin",
    params(("projectId" = Uuid, Path)),
    responses((status = 200, body = WebhookEndpointList), (status = 401, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn list(
    admin: ProjectAdmin,
    State(state): State<AppState>,
) -> Result<axum::Json<WebhookEndpointList>, ApiError> {
    let endpoints = state
        .store()
        .events()
        .list_webhook_endpoints(admin.project.id)
        .await?;
    Ok(axum::Json(WebhookEndpointList {
        data: endpoints.into_iter().map(view).collect(),
    }))
}

#[derive(Debug, Deserialize)]
pub struct EndpointPath {
    #[serde(rename = "endpointId")]
    endpoint_id: String,
}

impl EndpointPath {
    /// A malformed id names no endpoint, like an unknown one.
    fn id(&self) -> Result<Uuid, ApiError> {
        Uuid::parse_str(&self.endpoint_id).map_err(|_| endpoint_not_found())
    }
}

#[utoipa::path(get, path = "/api/v1/projects/{projectId}/webhook-endpoints/{endpointId}", operation_id = "getWebhookEndpoint",
    tag = "admin",
    params(("projectId" = Uuid, Path), ("endpointId" = Uuid, Path)),
    responses((status = 200, body = WebhookEndpoint), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn get(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<EndpointPath>,
) -> Result<axum::Json<WebhookEndpoint>, ApiError> {
    let endpoint = state
        .store()
        .events()
        .get_webhook_endpoint(admin.project.id, path.id()?)
        .await?
        .ok_or_else(endpoint_not_found)?;
    Ok(axum::Json(view(endpoint)))
}

/// Disables or enables an endpoint.
#[utoipa::path(patch, path = "/api/v1/projects/{projectId}/webhook-endpoints/{endpointId}", operation_id = "updateWebhookEndpoint",
    tag = "admin",
    params(("projectId" = Uuid, Path), ("endpointId" = Uuid, Path)),
    request_body = UpdateWebhookEndpointRequest,
    responses((status = 200, body = WebhookEndpoint), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn update(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<EndpointPath>,
    JsonBody(request): JsonBody<UpdateWebhookEndpointRequest>,
) -> Result<axum::Json<WebhookEndpoint>, ApiError> {
    let updated = state
        .store()
        .events()
        .set_webhook_endpoint_disabled(admin.project.id, path.id()?, request.disabled)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => endpoint_not_found(),
            other => other.into(),
        })?;
    Ok(axum::Json(view(updated)))
}

/// Deletes an endpoint and its delivery log.
#[utoipa::path(delete, path = "/api/v1/projects/{projectId}/webhook-endpoints/{endpointId}", operation_id = "deleteWebhookEndpoint",
    tag = "admin",
    params(("projectId" = Uuid, Path), ("endpointId" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn delete(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<EndpointPath>,
) -> Result<StatusCode, ApiError> {
    state
        .store()
        .events()
        .delete_webhook_endpoint(admin.project.id, path.id()?)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => endpoint_not_found(),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives an endpoint a new signing secret, shown in this answer only; the one it replaces
/// signs nothing from now on.
#[utoipa::path(post,
    path = "/api/v1/projects/{projectId}/webhook-endpoints/{endpointId}/rotate-secret", operation_id = "rotateWebhookSecret",
    tag = "admin",
    params(("projectId" = Uuid, Path), ("endpointId" = Uuid, Path)),
    responses((status = 200, body = WebhookSecret), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn rotate_secret(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<EndpointPath>,
) -> Result<axum::Json<WebhookSecret>, ApiError> {
    let secret = webhooks::rotate_secret(
        state.store(),
        state.engine.keyring(),
        admin.project.id,
        path.id()?,
    )
    .await
    .map_err(|err| match err {
        StoreError::NotFound => endpoint_not_found(),
        other => other.into(),
    })?;
    Ok(axum::Json(WebhookSecret { secret }))
}

#[derive(Debug, Deserialize)]
pub struct DeliveryQuery {
    status: Option<String>,
    cursor: Option<String>,
}

/// The delivery log of one endpoint, newest event first, in pages of 100.
#[utoipa::path(get,
    path = "/api/v1/projects/{projectId}/webhook-endpoints/{endpointId}/deliveries", operation_id = "listWebhookDeliveries",
    tag = "admin",
    params(("projectId" = Uuid, Path), ("endpointId" = Uuid, Path),
           ("status" = Option<WebhookDeliveryStatus>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = WebhookDeliveryPage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn deliveries(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<EndpointPath>,
    QueryParams(query): QueryParams<DeliveryQuery>,
) -> Result<axum::Json<WebhookDeliveryPage>, ApiError> {
    let project_id = admin.project.id;
    let endpoint_id = path.id()?;
    if state
        .store()
        .events()
        .get_webhook_endpoint(project_id, endpoint_id)
        .await?
        .is_none()
    {
        return Err(endpoint_not_found());
    }
    // Query parameters of the wrong form, as in every other listing.
    let invalid = |message: &str| ApiError::new(ErrorCode::InvalidParameter, message);
    let status = match query.status.as_deref() {
        None => None,
        Some(value) => Some(
            DeliveryStatus::parse(value)
                .ok_or_else(|| invalid("status must be pending, delivered or dead."))?,
        ),
    };
    let before_seq = match query.cursor.as_deref() {
        None => None,
        Some(cursor) => Some(
            cursor
                .parse::<i64>()
                .map_err(|_| invalid("cursor is not one this API returned."))?,
        ),
    };
    let filter = DeliveryFilter {
        status,
        before_seq,
        // One more than a page tells whether another page follows.
        limit: PAGE + 1,
    };
    let mut records = state
        .store()
        .events()
        .list_webhook_deliveries(project_id, endpoint_id, &filter)
        .await?;
    let more = records.len() > PAGE as usize;
    records.truncate(PAGE as usize);
    let next_cursor = more
        .then(|| records.last().map(|last| last.event_seq.to_string()))
        .flatten();
    Ok(axum::Json(WebhookDeliveryPage {
        data: records.into_iter().map(delivery_view).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize)]
pub struct DeliveryPath {
    #[serde(rename = "deliveryId")]
    delivery_id: String,
}

/// Queues a delivery again, now, with a fresh retry window: for a dead
/// delivery, or to send a delivered one once more.
#[utoipa::path(post,
    path = "/api/v1/projects/{projectId}/webhook-deliveries/{deliveryId}/replay", operation_id = "replayWebhookDelivery",
    tag = "admin",
    params(("projectId" = Uuid, Path), ("deliveryId" = Uuid, Path)),
    responses((status = 202, body = WebhookDelivery), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn replay(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<DeliveryPath>,
) -> Result<(StatusCode, axum::Json<WebhookDelivery>), ApiError> {
    let id = Uuid::parse_str(&path.delivery_id).map_err(|_| delivery_not_found())?;
    let replayed = state
        .store()
        .events()
        .replay_webhook_delivery(admin.project.id, id)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => delivery_not_found(),
            other => other.into(),
        })?;
    Ok((StatusCode::ACCEPTED, axum::Json(delivery_view(replayed))))
}
