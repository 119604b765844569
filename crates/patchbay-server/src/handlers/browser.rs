//! What Patchbay serves to browsers besides the API: the JavaScript SDK
//! (`/sdk.js`, `/sdk.global.js`, `/sdk.d.ts`) and the Connect Portal
//! (`/portal/`, from `assets/portal`). All of it is compiled into the
//! binary; nothing comes from a CDN. The portal receives the user token from the SDK by `postMessage`,
//! never in its URL (see `sdk/js/README.md`).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The SDK as an ES module, exactly as `sdk/js/paragon.js`.
const SDK_MODULE: &str = include_str!("../../../../sdk/js/paragon.js");
const SDK_TYPES: &str = include_str!("../../../../sdk/js/paragon.d.ts");
/// Where the module's `export` block starts; the classic script stops there.
const MODULE_EXPORTS_MARKER: &str = "// ---- module exports";

const PORTAL_PAGE: &str = include_str!("../../assets/portal/index.html");
const PORTAL_SCRIPT: &str = include_str!("../../assets/portal/portal.js");
const PORTAL_STYLES: &str = include_str!("../../assets/portal/portal.css");

/// The portal loads only its own files and talks only to this server.
const PORTAL_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

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

#[utoipa::path(get, path = "/portal/portal.js", operation_id = "getPortalScript", tag = "browser",
    responses((status = 200, content_type = "text/javascript", body = String)))]
pub async fn portal_script() -> Response {
    portal_file(JAVASCRIPT, PORTAL_SCRIPT)
}

#[utoipa::path(get, path = "/portal/portal.css", operation_id = "getPortalStyles", tag = "browser",
    responses((status = 200, content_type = "text/css", body = String)))]
pub async fn portal_styles() -> Response {
    portal_file("text/css; charset=utf-8", PORTAL_STYLES)
}
