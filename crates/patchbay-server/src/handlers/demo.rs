//! The demo host page: a stand-in for a developer's front end, driving the
//! end-user API against the sandbox provider. It is static; the project id
//! and user token come in the URL fragment, which browsers never send to a
//! server.

use axum::http::header;
use axum::response::{Html, IntoResponse};

const DEMO_PAGE: &str = include_str!("../../assets/demo.html");

/// The demo page `patchbay serve --demo` links to.
#[utoipa::path(get, path = "/demo", operation_id = "getDemoPage", tag = "operations",
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn page() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Html(DEMO_PAGE))
}
