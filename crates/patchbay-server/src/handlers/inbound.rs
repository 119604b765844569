//! Providers' webhooks: the URL each integration receives them at, and the admin view of
//! what was received.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use patchbay_api::{
    ErrorBody, ErrorCode, InboundDelivery, InboundDeliveryPage, InboundDeliveryStatus,
    InboundReceipt, InboundReceiptStatus,
};
use patchbay_engine::inbound::{IncomingDelivery, Received};
use patchbay_engine::runtime::ProjectRuntime;
use patchbay_store::{InboundFilter, InboundStatus};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::ProjectAdmin;
use crate::error::ApiError;
use crate::extract::{BodyBytes, PathParams, QueryParams};
use crate::handlers::page_cursor;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct DeliveryPath {
    #[serde(rename = "projectId")]
    project_id: String,
    integration: String,
}

/// A delivery from the integration's provider. It is verified with the integration's
/// `webhookSecret`; a handshake is answered with the text the definition says; anything else
/// is stored, with the workflow runs it starts, before this answers `200`. An event id
/// received before answers `200` with `duplicate` and starts nothing.
#[utoipa::path(post, path = "/webhooks/{projectId}/{integration}", operation_id = "receiveWebhook", tag = "webhooks",
    params(("projectId" = Uuid, Path), ("integration" = String, Path, description = "The integration's type")),
    request_body(content = String, description = "The provider's delivery, as it sends it"),
    responses((status = 200, body = InboundReceipt, description = "Received (or a duplicate); a handshake answers as the definition says"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn receive(
    State(state): State<AppState>,
    PathParams(path): PathParams<DeliveryPath>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    BodyBytes(body): BodyBytes,
) -> Result<Response, ApiError> {
    let project_id =
        Uuid::parse_str(&path.project_id).map_err(|_| ApiError::project_not_found())?;
    let project = state
        .store()
        .projects()
        .get_project(project_id)
        .await?
        .ok_or_else(ApiError::project_not_found)?;
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    let delivery = IncomingDelivery {
        method: method.to_string(),
        url: format!(
            "{}{path_and_query}",
            state.config.public_url.trim_end_matches('/')
        ),
        headers,
        body,
    };
    let received = state
        .engine
        .inbound()
        .receive(&project, &path.integration, &delivery)
        .await?;
    Ok(match received {
        Received::Handshake(text) => {
            ([(CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
        }
        Received::Stored(stored) => axum::Json(InboundReceipt {
            status: InboundReceiptStatus::Received,
            id: Some(stored.id),
        })
        .into_response(),
        Received::Duplicate => axum::Json(InboundReceipt {
            status: InboundReceiptStatus::Duplicate,
            id: None,
        })
        .into_response(),
    })
}

#[derive(Debug, Deserialize)]
pub struct DeliveryQuery {
    integration: Option<String>,
    status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// Deliveries per page unless `limit` says otherwise, and the most it may say.
const PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;

/// What providers sent to the project's integrations, newest first, a page at a time:
/// deliveries that concerned no account (`unmatched`) are kept here too.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/inbound-deliveries", operation_id = "listInboundDeliveries", tag = "admin",
    params(("projectId" = Uuid, Path), ("integration" = Option<String>, Query),
           ("status" = Option<String>, Query, description = "routed, unmatched or unhandled"),
           ("limit" = Option<i64>, Query, description = "Deliveries per page, 1 to 500 (default 50)"),
           ("cursor" = Option<String>, Query, description = "A page's `nextCursor`, for the page after it")),
    responses((status = 200, body = InboundDeliveryPage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn deliveries(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<DeliveryQuery>,
) -> Result<axum::Json<InboundDeliveryPage>, ApiError> {
    let runtime = state.engine.runtimes().load(&admin.project).await?;
    let integration_id = match &query.integration {
        Some(type_or_id) => Some(runtime.require_integration(type_or_id)?.id),
        None => None,
    };
    let status = match &query.status {
        Some(text) => Some(InboundStatus::parse(text).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                "status must be routed, unmatched or unhandled.",
            )
        })?),
        None => None,
    };
    let limit = page_cursor::limit(query.limit.as_deref(), PAGE, MAX_PAGE)?;
    let filter = InboundFilter {
        integration_id,
        status,
        before: query
            .cursor
            .as_deref()
            .map(page_cursor::decode)
            .transpose()?,
        // One more than the page: whether another page follows.
        limit: limit + 1,
    };
    let mut deliveries = state
        .store()
        .workflows()
        .list_inbound_deliveries(admin.project.id, &filter)
        .await?;
    let next_cursor =
        page_cursor::next_page(&mut deliveries, limit, |last| (last.received_at, last.id));
    Ok(axum::Json(InboundDeliveryPage {
        data: deliveries
            .into_iter()
            .map(|delivery| view(delivery, &runtime))
            .collect(),
        next_cursor,
    }))
}

fn view(delivery: patchbay_store::InboundDelivery, runtime: &ProjectRuntime) -> InboundDelivery {
    InboundDelivery {
        id: delivery.id,
        integration: runtime
            .integration_by_id(delivery.integration_id)
            .map_or_else(
                || delivery.integration_id.to_string(),
                |i| i.config.type_name.clone(),
            ),
        event_type: delivery.event_type,
        event_id: delivery.event_id,
        account_key: delivery.account_key,
        status: match delivery.status {
            InboundStatus::Routed => InboundDeliveryStatus::Routed,
            InboundStatus::Unmatched => InboundDeliveryStatus::Unmatched,
            InboundStatus::Unhandled => InboundDeliveryStatus::Unhandled,
        },
        credential_ids: delivery.credential_ids,
        execution_ids: delivery.execution_ids,
        payload: delivery.payload,
        date_received: delivery.received_at,
    }
}
