//! HTTP vocabulary shared by provider definitions and workflow steps.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// A request method. Written in upper case (`POST`); lower case is accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HttpMethod {
    #[serde(rename = "GET", alias = "get")]
    Get,
    #[serde(rename = "POST", alias = "post")]
    Post,
    #[serde(rename = "PUT", alias = "put")]
    Put,
    #[serde(rename = "PATCH", alias = "patch")]
    Patch,
    #[serde(rename = "DELETE", alias = "delete")]
    Delete,
    #[serde(rename = "HEAD", alias = "head")]
    Head,
    #[serde(rename = "OPTIONS", alias = "options")]
    Options,
}

impl HttpMethod {
    pub const ALL: [Self; 7] = [
        Self::Get,
        Self::Post,
        Self::Put,
        Self::Patch,
        Self::Delete,
        Self::Head,
        Self::Options,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Head => "HEAD",
            Self::Options => "OPTIONS",
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// By hand: schemars leaves serde's `alias` out, and the lower-case spellings are accepted too.
impl JsonSchema for HttpMethod {
    fn schema_name() -> Cow<'static, str> {
        "HttpMethod".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let spellings: Vec<String> = Self::ALL
            .iter()
            .flat_map(|method| [method.as_str().to_owned(), method.as_str().to_lowercase()])
            .collect();
        json_schema!({
            "description": "A request method, in upper case (lower case is accepted too).",
            "type": "string",
            "enum": spellings,
        })
    }
}

/// Checks header names and their (templated) values, keyed `{path}.{name}`.
pub(crate) fn check_headers(
    headers: &std::collections::BTreeMap<String, String>,
    path: &str,
    report: &mut crate::errors::Report,
    found: &mut crate::template::Found,
) {
    for name in headers.keys() {
        if !crate::names::is_header_name(name) {
            report.error(
                crate::errors::field(path, name),
                "is not a valid HTTP header name",
            );
        }
    }
    crate::template::check_template_map(headers, path, report, found);
}
