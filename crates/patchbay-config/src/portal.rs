//! How the Connect Portal presents a project's integrations and workflows: an accent colour, an
//! integration's overview (Markdown, rendered here to sanitised HTML), the order its workflows
//! are listed in, and which workflows a user is shown.

use std::collections::HashSet;

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::errors::{Report, field, index};

/// The project's `settings.portal`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "the portal's settings (a mapping)"
)]
pub struct ProjectPortal {
    /// The colour of the portal's buttons and switches, `#RRGGBB`; an integration may give
    /// its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(ACCENT_COLOR_PATTERN))]
    pub accent_color: Option<String>,
}

/// An integration's `portal`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "the integration's portal settings (a mapping)"
)]
pub struct IntegrationPortal {
    /// This integration's accent colour, `#RRGGBB`, over the project's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(ACCENT_COLOR_PATTERN))]
    pub accent_color: Option<String>,
    /// Markdown shown above the integration's settings. Raw HTML shows as text, and only
    /// `http`, `https` and `mailto` links and images are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overview: Option<String>,
    /// Ids of this integration's workflows, listed first and in this order; the others follow
    /// in document order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workflow_order: Vec<String>,
}

/// A workflow's `portal`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "the workflow's portal settings (a mapping)"
)]
pub struct WorkflowPortal {
    /// Not listed in the portal (the API can still enable it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    /// A line of help under the workflow's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Conditions on the user's metadata, all of which must hold for the user to see (and
    /// enable) the workflow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub show_when: Vec<MetaCondition>,
}

/// One condition of `showWhen`: on the user's metadata key `meta`, exactly one of `equals`,
/// `in` and `exists`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(transform = exactly_one_test)]
pub struct MetaCondition {
    /// A key of the user's metadata (`meta` of their token or of `PATCH /sdk/me`).
    #[schemars(length(min = 1))]
    pub meta: String,
    /// Holds when the value is exactly this one (compared as JSON).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub equals: Option<Value>,
    /// Holds when the value is one of these.
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    /// `true`: holds when the key has a value (not `null`); `false`: when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
}

/// An optional member that may be `null`: given (even as `null`) is `Some`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// `showWhen` conditions name one test each.
fn exactly_one_test(schema: &mut schemars::Schema) {
    schema.insert(
        "oneOf".to_owned(),
        serde_json::json!([
            {"required": ["equals"]},
            {"required": ["in"]},
            {"required": ["exists"]},
        ]),
    );
}

impl MetaCondition {
    /// Whether `meta` (the user's metadata object) satisfies this condition.
    pub fn holds(&self, meta: &Value) -> bool {
        let value = meta.get(&self.meta).filter(|value| !value.is_null());
        if let Some(expected) = &self.equals {
            return value.unwrap_or(&Value::Null) == expected;
        }
        if let Some(allowed) = &self.one_of {
            return allowed.contains(value.unwrap_or(&Value::Null));
        }
        match self.exists {
            Some(exists) => value.is_some() == exists,
            None => false,
        }
    }
}

/// Renders Markdown (CommonMark with tables and strikethrough) to HTML that is safe to insert
/// into a page: raw HTML, block or inline, becomes text (escaped, so it shows as written), and
/// a link or image whose URL is not an absolute `http`, `https` or `mailto` URL is dropped,
/// keeping its text. Titles, text and kept URLs are escaped by the HTML writer.
pub fn markdown_to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // Whether each open link or image was kept, innermost last, to match its end.
    let mut kept: Vec<bool> = Vec::new();
    let events = Parser::new_ext(markdown, options).filter_map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Some(Event::Text(html)),
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),
        Event::Start(tag @ (Tag::Link { .. } | Tag::Image { .. })) => {
            let safe = with_safe_url(tag);
            kept.push(safe.is_some());
            safe.map(Event::Start)
        }
        Event::End(end @ (TagEnd::Link | TagEnd::Image)) => {
            kept.pop().unwrap_or(false).then_some(Event::End(end))
        }
        other => Some(other),
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// A link or image with its URL as [`safe_url`] writes it; `None` when it has none to keep.
fn with_safe_url(tag: Tag<'_>) -> Option<Tag<'_>> {
    match tag {
        Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        } => safe_url(link_type, &dest_url).map(|dest_url| Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }),
        Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        } => safe_url(link_type, &dest_url).map(|dest_url| Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }),
        other => Some(other),
    }
}

/// The URL to keep for a link or image: an absolute `http`, `https` or `mailto` URL, as the
/// URL parser writes it (so what a browser reads is what was checked); `None` for anything
/// else, relative URLs included.
fn safe_url(link_type: LinkType, dest: &str) -> Option<CowStr<'static>> {
    // An email autolink (`<ada@example.com>`) is written with `mailto:` by the HTML writer.
    let candidate = if link_type == LinkType::Email {
        format!("mailto:{dest}")
    } else {
        dest.to_owned()
    };
    let url = url::Url::parse(candidate.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https" | "mailto") {
        return None;
    }
    let written = url.as_str();
    let written = if link_type == LinkType::Email {
        written.strip_prefix("mailto:").unwrap_or(written)
    } else {
        written
    };
    Some(CowStr::from(written.to_owned()))
}

/// [`is_accent_color`] as a regular expression, for the JSON Schema.
const ACCENT_COLOR_PATTERN: &str = "^#[0-9A-Fa-f]{6}$";

/// `#RRGGBB` in hex, either case.
fn is_accent_color(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].chars().all(|c| c.is_ascii_hexdigit())
}

fn check_accent_color(color: &str, path: &str, report: &mut Report) {
    if !is_accent_color(color) {
        report.error(
            path,
            format!("`{color}` must be a colour as `#RRGGBB` in hex, such as `#3B5BDB`"),
        );
    }
}

/// The project's `settings.portal`.
pub(crate) fn check_project_portal(portal: &ProjectPortal, path: &str, report: &mut Report) {
    if let Some(color) = &portal.accent_color {
        check_accent_color(color, &field(path, "accentColor"), report);
    }
}

/// An integration's `portal`, on its own: what `workflowOrder` names is checked once the
/// workflows are known ([`check_workflow_order`]).
pub(crate) fn check_integration_portal(
    portal: &IntegrationPortal,
    path: &str,
    report: &mut Report,
) {
    if let Some(color) = &portal.accent_color {
        check_accent_color(color, &field(path, "accentColor"), report);
    }
    let order = field(path, "workflowOrder");
    let mut seen = HashSet::new();
    for (i, id) in portal.workflow_order.iter().enumerate() {
        if !seen.insert(id.as_str()) {
            report.error(index(&order, i), format!("`{id}` is listed twice"));
        }
    }
}

/// A workflow's `portal`.
pub(crate) fn check_workflow_portal(portal: &WorkflowPortal, path: &str, report: &mut Report) {
    let conditions = field(path, "showWhen");
    for (i, condition) in portal.show_when.iter().enumerate() {
        let at = index(&conditions, i);
        if condition.meta.trim().is_empty() {
            report.error(
                field(&at, "meta"),
                "must not be empty: a key of the user's metadata",
            );
        }
        let tests = [
            condition.equals.is_some(),
            condition.one_of.is_some(),
            condition.exists.is_some(),
        ];
        match tests.iter().filter(|given| **given).count() {
            1 => {}
            0 => report.error(
                &at,
                "needs one test of the metadata value: `equals`, `in` or `exists`",
            ),
            _ => report.error(
                &at,
                "give one test only: `equals`, `in` or `exists` (list several conditions to \
                 require them all)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accent_colours_are_six_hex_digits() {
        for good in ["#3B5BDB", "#3b5bdb", "#000000"] {
            assert!(is_accent_color(good), "{good}");
        }
        for bad in [
            "3B5BDB",
            "#3B5BD",
            "#3B5BDBA",
            "#GGGGGG",
            "red",
            "#3B5BD\u{e9}",
        ] {
            assert!(!is_accent_color(bad), "{bad}");
        }
    }
}
