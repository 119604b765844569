//! `GET /api/v1/providers`: the built-in provider catalogue. Public, as the
//! catalogue files are: it describes what Patchbay can connect to and holds
//! nothing of any project (no OAuth client, no account).

use axum::Json;
use patchbay_api::{ErrorBody, ProviderDefinitionDocument, ProviderList};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::{PathParams, QueryParams};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderQuery {
    category: Option<String>,
    q: Option<String>,
}

/// The catalogue's providers, sorted by id: those of one category, and those
/// whose id, name or Paragon type contains `q` (without case).
#[utoipa::path(get, path = "/api/v1/providers", operation_id = "listProviders", tag = "catalogue",
    params(("category" = Option<String>, Query, description = "A category id: crm, storage, …"),
           ("q" = Option<String>, Query, description = "Text in the id, name or Paragon type")),
    responses((status = 200, body = ProviderList), (status = 400, body = ErrorBody)))]
pub async fn list(
    QueryParams(query): QueryParams<ProviderQuery>,
) -> Result<Json<ProviderList>, ApiError> {
    let list = patchbay_engine::catalogue::list(query.category.as_deref(), query.q.as_deref())?;
    Ok(Json(list))
}

/// One provider's whole definition, by its id or its Paragon type.
#[utoipa::path(get, path = "/api/v1/providers/{name}", operation_id = "getProvider", tag = "catalogue",
    params(("name" = String, Path, description = "The provider's id (`google-calendar`) or Paragon type (`googleCalendar`)")),
    responses((status = 200, body = ProviderDefinitionDocument), (status = 404, body = ErrorBody)))]
pub async fn get(
    PathParams(name): PathParams<String>,
) -> Result<Json<ProviderDefinitionDocument>, ApiError> {
    Ok(Json(patchbay_engine::catalogue::show(&name)?))
}
