//! What Patchbay serves to browsers besides the API: the JavaScript SDK
//! (`/sdk.js`, `/sdk.global.js`, `/sdk.d.ts`) and the Connect Portal
//! (`/portal/` and `/portal/{file}`, from `assets/portal`). All of it is compiled into the
//! binary; nothing comes from a CDN. The portal receives the user token from the SDK by `postMessage`,
//! never in its URL (see `sdk/js/README.md`).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use patchbay_api::{ErrorBody, ErrorCode};

use crate::error::ApiError;
use crate::extract::PathParams;

/// The SDK as an ES module, exactly as `sdk/js/paragon.js`.
const SDK_MODULE: &str = include_str!("../../../../sdk/js/paragon.js");
const SDK_TYPES: &str = include_str!("../../../../sdk/js/paragon.d.ts");
/// Where the module's `export` block starts; the classic script stops there.
const MODULE_EXPORTS_MARKER: &str = "// ---- module exports";

const PORTAL_PAGE: &str = include_str!("../../assets/portal/index.html");

/// The portal's files by name: its stylesheet, and its script as ES modules (`portal.js`
/// imports the others).
const PORTAL_FILES: &PageFiles = &[
    (
        "portal.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/portal/portal.css"),
    ),
    (
        "portal.js",
        JAVASCRIPT,
        include_str!("../../assets/portal/portal.js"),
    ),
    (
        "accounts.js",
        JAVASCRIPT,
        include_str!("../../assets/portal/accounts.js"),
    ),
    (
        "configurations.js",
        JAVASCRIPT,
        include_str!("../../assets/portal/configurations.js"),
    ),
    (
        "connect.js",
        JAVASCRIPT,
        include_str!("../../assets/portal/connect.js"),
    ),
    (
        "customise.js",
        JAVASCRIPT,
        include_str!("../../assets/portal/customise.js"),
    ),
    (
        "dom.js",
        JAVASCRIPT,
        include_str!("../../assets/portal/dom.js"),
    ),
    (
        "fields.js",
        JAVASCRIPT,
        include_str!("../../assets/portal/fields.js"),
    ),
    (
        "host.js",
        JAVASCRIPT,
        include_str!("../../assets/portal/host.js"),
    ),
    (
        "options.js",
        JAVASCRIPT,
        include_str!("../../assets/portal/options.js"),
    ),
    (
        "settings.js",
        JAVASCRIPT,
        include_str!("../../assets/portal/settings.js"),
    ),
    (
        "state.js",
        JAVASCRIPT,
        include_str!("../../assets/portal/state.js"),
    ),
    (
        "workflows.js",
        JAVASCRIPT,
        include_str!("../../assets/portal/workflows.js"),
    ),
];

/// The portal loads only its own files and talks only to this server.
const PORTAL_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

pub(crate) const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// A file every page may load, cross-origin included (module scripts are
/// fetched with CORS). Revalidated on each use so an upgrade shows at once.
pub(crate) fn public_file(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

fn portal_file(content_type: &'static str, body: &'static str) -> Response {
    page_file(content_type, PORTAL_CSP, body)
}

/// A page's files, compiled in: `(name, content type, contents)`.
pub(crate) type PageFiles = [(&'static str, &'static str, &'static str)];

/// The `{file}` of a page's file route (`/portal/{file}`, `/dashboard/{file}`).
#[derive(Debug, serde::Deserialize)]
pub struct FilePath {
    pub file: String,
}

/// The file `name` of a page's table (`page` names the page), as its content type and contents.
/// Only the listed names are served, so no request reaches the disk or another page's files;
/// any other name is a 404.
pub(crate) fn listed_file(
    page: &str,
    files: &'static PageFiles,
    name: &str,
) -> Result<(&'static str, &'static str), ApiError> {
    files
        .iter()
        .find(|(listed, _, _)| *listed == name)
        .map(|(_, content_type, body)| (*content_type, *body))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::RouteNotFound,
                format!("The {page} has no file {name:?}."),
            )
        })
}

/// A file of a page Patchbay serves (the portal, the dashboard): its own Content-Security-Policy,
/// revalidated on each use, never sniffed as another type.
pub(crate) fn page_file(
    content_type: &'static str,
    csp: &'static str,
    body: &'static str,
) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(csp),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

/// The SDK as a classic script: the module's code without its `export`
/// block, in a function scope, publishing `window.paragon`.
fn classic_sdk() -> String {
    let core = SDK_MODULE
        .split_once(MODULE_EXPORTS_MARKER)
        .map_or(SDK_MODULE, |(core, _)| core);
    format!(
        "(function () {{\n{core}\n\
         var script = document.currentScript;\n\
         var paragon = createParagon({{ host: script ? hostOf(script.src) : undefined }});\n\
         window.paragon = paragon;\n\
         window.Patchbay = Object.assign({{ createParagon: createParagon }}, ERROR_CLASSES);\n\
         }})();\n"
    )
}

/// The JavaScript SDK as an ES module: `import { paragon } from ".../sdk.js"`.
#[utoipa::path(get, path = "/sdk.js", operation_id = "getSdkModule", tag = "browser",
    responses((status = 200, content_type = "text/javascript", body = String)))]
pub async fn sdk_module() -> Response {
    public_file(JAVASCRIPT, SDK_MODULE.to_owned())
}

/// The JavaScript SDK as a classic script that sets `window.paragon`.
#[utoipa::path(get, path = "/sdk.global.js", operation_id = "getSdkClassicScript", tag = "browser",
    responses((status = 200, content_type = "text/javascript", body = String)))]
pub async fn sdk_classic() -> Response {
    public_file(JAVASCRIPT, classic_sdk())
}

/// The SDK's TypeScript declarations.
#[utoipa::path(get, path = "/sdk.d.ts", operation_id = "getSdkTypes", tag = "browser",
    responses((status = 200, content_type = "application/typescript", body = String)))]
pub async fn sdk_types() -> Response {
    public_file(
        "application/typescript; charset=utf-8",
        SDK_TYPES.to_owned(),
    )
}

/// The Connect Portal, opened by `paragon.connect()` in an iframe.
#[utoipa::path(get, path = "/portal/", operation_id = "getPortalPage", tag = "browser",
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn portal_page() -> Response {
    portal_file("text/html; charset=utf-8", PORTAL_PAGE)
}

/// One of the portal's files: `portal.css`, `portal.js` and the modules it imports.
#[utoipa::path(get, path = "/portal/{file}", operation_id = "getPortalFile", tag = "browser",
    params(("file" = String, Path)),
    responses((status = 200, content((String = "text/javascript"), (String = "text/css"))),
              (status = 404, body = ErrorBody)))]
pub async fn portal_asset(PathParams(path): PathParams<FilePath>) -> Result<Response, ApiError> {
    let (content_type, body) = listed_file("Connect Portal", PORTAL_FILES, &path.file)?;
    Ok(portal_file(content_type, body))
}
