//! Operations endpoints: liveness, readiness, metrics.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use patchbay_api::{ErrorBody, ErrorCode, Health, Ready};

use crate::error::ApiError;
use crate::state::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "getHealth", tag = "operations",
    responses((status = 200, body = Health)))]
pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok".to_owned(),
    })
}

/// The store is reachable and every migration is applied.
#[utoipa::path(get, path = "/readyz", operation_id = "getReadiness", tag = "operations",
    responses((status = 200, body = Ready), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<axum::Json<Ready>, ApiError> {
    let readiness = state.store().readiness().await?;
    if !readiness.is_ready() {
        return Err(ApiError::new(
            ErrorCode::NotReady,
            format!(
                "{} migration(s) are not applied; run `patchbay migrate`.",
                readiness.pending_migrations
            ),
        ));
    }
    Ok(axum::Json(Ready {
        status: "ok".to_owned(),
        backend: state.store().backend().as_str().to_owned(),
    }))
}

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "operations",
    responses((status = 200, content_type = "application/openmetrics-text", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    match state
        .store()
        .workflows()
        .count_pending_jobs(patchbay_engine::workflows::runs::RUN_JOB)
        .await
    {
        Ok(depth) => state.engine.metrics().set_queue_depth(depth),
        Err(err) => tracing::warn!(error = %err, "the queue depth could not be read"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.engine.metrics().render(),
    )
}
