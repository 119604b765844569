//! The built-in provider catalogue, as `GET /api/v1/providers` describes it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One provider of the catalogue, in brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSummary {
    /// The provider's id: the file name, and what `provider:` names in a configuration document.
    pub id: String,
    pub name: String,
    /// `oauth2`, `api_key`, `basic`, `oauth2_client_credentials` or `jwt_bearer`.
    pub auth_type: String,
    pub categories: Vec<String>,
    /// `#RRGGBB`.
    pub brand_color: Option<String>,
    /// The integration type Paragon gives the same service, which also finds this provider.
    pub paragon_type: Option<String>,
    /// The provider's own documentation of the API or its OAuth flow.
    pub docs_url: Option<String>,
}

/// `GET /api/v1/providers`: the providers that match, sorted by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProviderList {
    pub data: Vec<ProviderSummary>,
}

/// `GET /api/v1/providers/{name}`: the provider's whole definition, with the fields of its
/// catalogue file (docs `providers/README.md`) as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct ProviderDefinitionDocument(pub serde_json::Value);
