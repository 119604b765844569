//! The audit log: every change made through the admin API (any method but GET and HEAD)
//! that succeeded is recorded with who made it, whether with a key or from the dashboard.
//!
//! The middleware cannot know who is calling before the handler's extractor has
//! authenticated the request, so it leaves an empty [`ActorSlot`] in the request; the
//! admin extractors fill it in, and the middleware reads it once the response is ready.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use patchbay_store::AuditEntry;
use uuid::Uuid;

use crate::state::AppState;

/// Who the admin extractor found the caller to be, and the project they acted on (`None`
/// for instance-wide calls such as creating a project, which the created project's own
/// log does not show).
#[derive(Debug, Clone, Default)]
pub struct ActorSlot(Arc<Mutex<Option<Actor>>>);

/// The project acted on, and who acted.
type Actor = (Option<Uuid>, String);

impl ActorSlot {
    /// Called by the admin extractors; a no-op outside the audited routes.
    pub fn fill(parts: &Parts, project_id: Option<Uuid>, actor: String) {
        if let Some(slot) = parts.extensions.get::<Self>() {
            *slot.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((project_id, actor));
        }
    }

    fn take(&self) -> Option<Actor> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Put in a response's extensions by a handler that answered a change-shaped request without
/// changing anything (a configuration dry run), so that it is not recorded.
#[derive(Debug, Clone, Copy)]
pub struct NothingChanged;

/// Records the admin API's successful changes.
pub async fn record(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let audited = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) && request.uri().path().starts_with("/api/v1/");
    if !audited {
        return next.run(request).await;
    }
    let action = format!("{} {}", request.method(), request.uri().path());
    let slot = ActorSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    if let Some((Some(project_id), actor)) = slot.take()
        && response.status().is_success()
        && response.extensions().get::<NothingChanged>().is_none()
    {
        let entry = AuditEntry {
            id: Uuid::now_v7(),
            project_id,
            actor,
            action,
            status: response.status().as_u16(),
            at: chrono::Utc::now(),
        };
        // The change has happened; failing to note it must not turn it into an error.
        if let Err(err) = state.store().dashboard().record_audit(&entry).await {
            tracing::error!(%err, action = %entry.action, "could not record an audit entry");
        }
    }
    response
}
