//! A request a provider definition makes on its own (the account step, a verification, an
//! action): its shape, and the rules its templates follow.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::errors::{Report, field};
use crate::http::{HttpMethod, check_headers};
use crate::template::{
    Found, Variables, check_expression, check_json_templates, check_template, check_template_map,
    keep,
};
use crate::urls::check_url_template;

/// A request the platform makes on its own: relative to the API base URL (`path`) or absolute
/// (`url`), exactly one of the two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderRequest {
    pub method: HttpMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

pub(crate) fn check_request(
    request: &ProviderRequest,
    path: &str,
    report: &mut Report,
    found: &mut Found,
) {
    match (&request.path, &request.url) {
        (Some(_), Some(_)) => report.error(path, "give either `path` or `url`, not both"),
        (None, None) => report.error(
            path,
            "needs `path` (under the API base URL) or `url` (absolute)",
        ),
        (Some(relative), None) => keep(
            check_api_path,
            relative,
            &field(path, "path"),
            report,
            found,
        ),
        (None, Some(url)) => keep(check_url_template, url, &field(path, "url"), report, found),
    }
    check_template_map(&request.query, &field(path, "query"), report, found);
    check_headers(&request.headers, &field(path, "headers"), report, found);
    if let Some(body) = &request.body {
        check_json_templates(body, &field(path, "body"), report, found);
    }
}

/// A path under an API base URL: starts with `/` (or with a template that renders one).
pub(crate) fn check_api_path(value: &str, path: &str, report: &mut Report) -> Option<Variables> {
    let variables = check_template(value, path, report)?;
    if !(value.starts_with('/') || value.starts_with("{{")) {
        report.error(
            path,
            "must start with `/`: a path under the integration's API base URL",
        );
    }
    Some(variables)
}

/// The variables read by a listing's expression and templates, for those that compile.
pub(crate) struct Listed {
    pub items: Option<Variables>,
    pub value: Option<Variables>,
    pub label: Option<Variables>,
}

impl Listed {
    /// Each part that compiled, with its path under `path`.
    pub(crate) fn found(self, path: &str) -> Found {
        [
            ("items", self.items),
            ("value", self.value),
            ("label", self.label),
        ]
        .into_iter()
        .filter_map(|(key, variables)| Some((field(path, key), variables?)))
        .collect()
    }
}

/// A list read from a response: the expression giving its items (`items`), and the templates
/// of each item's stored value and label, as `account.choose` and a setting's `source` both
/// write them. Their keys are under `path`.
pub(crate) fn check_listing(
    items: &str,
    value: &str,
    label: &str,
    path: &str,
    report: &mut Report,
) -> Listed {
    Listed {
        items: check_expression(items, &field(path, "items"), report),
        value: check_template(value, &field(path, "value"), report),
        label: check_template(label, &field(path, "label"), report),
    }
}
