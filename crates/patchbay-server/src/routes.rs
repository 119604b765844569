//! Every route of the server, in one place, with the layers around them.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use patchbay_api::{ErrorCode, EventPayload, StreamEnded, WebhookEvent};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access_log;
use crate::audit;
use crate::cors;
use crate::error::ApiError;
use crate::handlers::{
    actionkit, browser, config, config_schema, configurations, dashboard, demo, event_stream,
    field_options, inbound, install, mcp, oauth_callback, ops, overview, projects, providers,
    proxy, sdk, signing_keys, task_history, users, webhooks, workflows,
};
use crate::metrics;
use crate::openapi_document;
use crate::request_limits;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Patchbay", description = "Embedded integration platform: connect several accounts per integration and act as exactly one of them."),
    paths(proxy::proxy, proxy::proxy_custom, proxy::proxy_url),
    // Sent rather than answered, so no path names them: an event stream's
    // messages and a webhook delivery's body.
    components(schemas(EventPayload, StreamEnded, WebhookEvent)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "admin", description = "Admin API, authenticated with a project secret key"),
        (name = "sdk", description = "End-user API (Paragon-compatible), authenticated with a user token"),
        (name = "oauth", description = "The OAuth callback providers redirect to"),
        (name = "webhooks", description = "The URL providers send their webhooks to, verified by signature"),
        (name = "actions", description = "ActionKit-compatible: typed actions as tools, run as one account (user token)"),
        (name = "browser", description = "The JavaScript SDK and the Connect Portal"),
        (name = "dashboard", description = "The dashboard's page and its sign-in session (an HttpOnly cookie the admin API accepts in place of a secret key)"),
        (name = "configuration", description = "The JSON Schema of configuration documents, public"),
        (name = "catalogue", description = "The built-in provider catalogue, public"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in ["secretKey", "adminToken", "userToken"] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// The whole application: routes, OpenAPI document, fallbacks and layers.
pub fn router(state: AppState) -> Router {
    let (routes, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(demo::page))
        .routes(routes!(browser::sdk_module))
        .routes(routes!(browser::sdk_classic))
        .routes(routes!(browser::sdk_types))
        .routes(routes!(browser::portal_page))
        .routes(routes!(browser::portal_asset))
        .routes(routes!(dashboard::page))
        .routes(routes!(dashboard::asset))
        .routes(routes!(
            dashboard::sign_in,
            dashboard::current,
            dashboard::sign_out
        ))
        .routes(routes!(projects::create, projects::list))
        .routes(routes!(projects::get))
        .routes(routes!(
            projects::list_secret_keys,
            projects::create_secret_key
        ))
        .routes(routes!(projects::revoke_secret_key))
        .routes(routes!(signing_keys::create, signing_keys::list))
        .routes(routes!(signing_keys::revoke))
        .routes(routes!(config::put, config::get))
        .routes(routes!(config_schema::schema))
        .routes(routes!(overview::overview))
        .routes(routes!(overview::audit_log))
        .routes(routes!(overview::config_versions))
        .routes(routes!(overview::config_version))
        .routes(routes!(providers::list))
        .routes(routes!(providers::get))
        .routes(routes!(users::list))
        .routes(routes!(users::user))
        .routes(routes!(users::credentials))
        .routes(routes!(users::delete_credential))
        .routes(routes!(users::check_credential))
        .routes(routes!(users::enable_workflow))
        .routes(routes!(users::disable_workflow))
        .routes(routes!(sdk::me, sdk::update_me))
        .routes(routes!(sdk::integrations))
        .routes(routes!(sdk::credentials))
        .routes(routes!(sdk::credential, sdk::update_credential))
        .routes(routes!(field_options::field_options))
        .routes(routes!(sdk::enable_workflow, sdk::disable_workflow))
        .routes(routes!(configurations::list, configurations::create))
        .routes(routes!(configurations::update, configurations::destroy))
        .routes(routes!(install::install))
        .routes(routes!(install::uninstall))
        .routes(routes!(install::install_session))
        .routes(routes!(oauth_callback::callback))
        .routes(routes!(oauth_callback::choose))
        .routes(routes!(event_stream::stream))
        .routes(routes!(event_stream::project_stream))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::replay))
        .routes(routes!(inbound::receive))
        .routes(routes!(inbound::deliveries))
        .routes(routes!(actionkit::list_tools, actionkit::run_tool))
        .routes(routes!(actionkit::list_actions, actionkit::run_action))
        .routes(routes!(workflows::trigger))
        .routes(routes!(workflows::app_event))
        .routes(routes!(workflows::app_event_v2))
        .routes(routes!(task_history::list))
        .routes(routes!(task_history::list_paragon))
        .routes(routes!(task_history::get))
        .routes(routes!(task_history::replay))
        .split_for_parts();
    let openapi = Arc::new(openapi_document::finish(&openapi));

    routes
        .route(
            "/openapi.json",
            get(move || async move { axum::Json(openapi.as_ref().clone()) }),
        )
        // Registered by hand: the catch-all `{*path}` has no OpenAPI
        // spelling, so the document describes it as `{path}` (see ApiDoc).
        .route(
            "/projects/{projectId}/sdk/proxy/{integration}/{*path}",
            any(proxy::proxy),
        )
        // An empty path (`{integration}` and `{integration}/`) is the API's
        // base URL, or what `X-Paragon-Proxy-Url` names.
        .route(
            "/projects/{projectId}/sdk/proxy/{integration}",
            any(proxy::proxy_url),
        )
        .route(
            "/projects/{projectId}/sdk/proxy/{integration}/",
            any(proxy::proxy_url),
        )
        // Paragon's form for custom integrations, by id; the type `custom`
        // is reserved, so this static segment shadows no integration.
        .route(
            "/projects/{projectId}/sdk/proxy/custom/{integrationId}/{*path}",
            any(proxy::proxy_custom),
        )
        .route(
            "/projects/{projectId}/sdk/proxy/custom/{integrationId}",
            any(proxy::proxy_custom),
        )
        .route(
            "/projects/{projectId}/sdk/proxy/custom/{integrationId}/",
            any(proxy::proxy_custom),
        )
        .route("/dashboard", get(dashboard::page_without_slash))
        // The MCP server: its own protocol (JSON-RPC over Streamable HTTP), so no OpenAPI path.
        .route("/projects/{projectId}/mcp", post(mcp::endpoint))
        .nest_service("/sandbox", state.sandbox.router())
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cors::end_user_api,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn({
            let idle = state.config.connections.body_idle_timeout;
            move |request, next| request_limits::enforce(idle, request, next)
        }))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal().into_response()
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    access_log::span(
                        request.method(),
                        request.uri().path(),
                        request.headers().get(access_log::REQUEST_ID),
                    )
                })
                .on_response(|response: &Response, latency, _: &tracing::Span| {
                    access_log::finished(response.status(), latency);
                }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn route_not_found(request: Request) -> Response {
    ApiError::new(
        ErrorCode::RouteNotFound,
        format!(
            "No route for {} {}.",
            request.method(),
            request.uri().path()
        ),
    )
    .into_response()
}

async fn method_not_allowed(request: Request) -> Response {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "{} is not allowed on {}.",
            request.method(),
            request.uri().path()
        ),
    )
    .into_response()
}
