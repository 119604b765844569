//! The built-in provider catalogue as every front door shows it: the HTTP API
//! (`GET /api/v1/providers`) and `patchbay providers`.

use patchbay_api::{ProviderDefinitionDocument, ProviderList, ProviderSummary};
use patchbay_config::{CATEGORIES, ProviderDefinition, catalogue};

use crate::error::{EngineError, EngineResult};

/// The providers filed under `category` whose id, name or Paragon type contains `text`
/// (without case), sorted by id. An unknown category is refused rather than answered with
/// nothing, so a misspelt filter does not read as an empty catalogue.
pub fn list(category: Option<&str>, text: Option<&str>) -> EngineResult<ProviderList> {
    if let Some(category) = category
        && !CATEGORIES.iter().any(|known| known.id == category)
    {
        let known: Vec<&str> = CATEGORIES.iter().map(|known| known.id).collect();
        return Err(EngineError::InvalidParameter(format!(
            "category must be one of {}.",
            known.join(", ")
        )));
    }
    let data = catalogue().search(category, text).map(summary).collect();
    Ok(ProviderList { data })
}

/// A provider's whole definition, by id or by its Paragon type.
pub fn show(name: &str) -> EngineResult<ProviderDefinitionDocument> {
    let provider = catalogue()
        .find(name)
        .ok_or_else(|| EngineError::ProviderNotFound(name.to_owned()))?;
    let definition = serde_json::to_value(provider)
        .map_err(|_| EngineError::Internal("a provider definition is JSON"))?;
    Ok(ProviderDefinitionDocument(definition))
}

fn summary(provider: &ProviderDefinition) -> ProviderSummary {
    ProviderSummary {
        id: provider.id.clone(),
        name: provider.name.clone(),
        auth_type: provider.auth_type().as_str().to_owned(),
        categories: provider.categories.clone(),
        brand_color: provider.brand_color.clone(),
        paragon_type: provider.paragon_type.clone(),
        docs_url: provider.docs_url.clone(),
    }
}
