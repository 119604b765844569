//! `GET /sdk/events/stream`: the caller's user-object changes as
//! Server-Sent Events (docs/api.md).
//!
//! The store is the only source: a stream remembers the `seq` of the last
//! event it sent and reads what follows whenever a notice says the user has
//! new events (from this replica, or from another through PostgreSQL), and
//! every few seconds in case a notice was lost. So a stream never skips nor
//! repeats an event, and `Last-Event-ID` resumes exactly after the last one
//! a client saw.
//!
//! A stream lives no longer than its token would be accepted anew: when the
//! token expires, or the signing key that verified it is revoked (seen within
//! [`SAFETY_POLL`]), it sends a last `streamEnded` event saying why and ends.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use patchbay_api::{ErrorBody, ErrorCode, EventPayload, EventType, StreamEndReason, StreamEnded};
use patchbay_core::user_token::{CLOCK_SKEW_LEEWAY_SECS, VerifiedToken};
use patchbay_store::{EventNotice, EventRecord};
use serde::Deserialize as _;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::auth::StreamUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::stream_slots::StreamSlot;

/// Events read from the store at once.
const PAGE: i64 = 100;
/// How often a stream looks at the store without a notice.
const SAFETY_POLL: Duration = Duration::from_secs(5);
/// Comment lines that keep proxies from closing an idle stream.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// Streams this user's events: `id` (resume point), `event` (the SDK's
/// event name) and `data` (the payload). Without `Last-Event-ID`, starts
/// with the next change.
#[utoipa::path(get, path = "/projects/{projectId}/sdk/events/stream", operation_id = "streamEvents", tag = "sdk",
    params(("projectId" = Uuid, Path),
           ("token" = Option<String>, Query, description = "The user token, for `EventSource`, which cannot send headers"),
           ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event")),
    responses((status = 200, content_type = "text/event-stream", body = String,
               description = "Server-Sent Events: `event` is the SDK's event name, `data` an `EventPayload`; the last message may be `streamEnded` with a `StreamEnded`"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    StreamUser(user): StreamUser,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let slot = state
        .streams
        .take(
            user.project.id,
            &user.user.user_id,
            state.config.connections.max_streams_per_user,
        )
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::TooManyStreams,
                "This user has as many event streams open as one user may; close one first.",
            )
        })?;
    // Subscribe before reading where to start: an event committed in between
    // is then announced, and read because it follows the start.
    let notices = state.store().events().event_notices();
    let after = match headers.get("last-event-id") {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|value| value.trim().parse::<i64>().ok())
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| {
                ApiError::validation("Last-Event-ID", "Must be an event id from this stream.")
            })?,
        None => {
            state
                .store()
                .events()
                .last_user_event_seq(user.project.id, &user.user.user_id)
                .await?
        }
    };
    let follower = Follower {
        state,
        project_id: user.project.id,
        user_id: user.0.user.user_id,
        token: user.0.token,
        after,
        pending: VecDeque::new(),
        notices,
        ended: false,
        _slot: slot,
    };
    let events = futures_util::stream::unfold(follower, |mut follower| async move {
        if follower.ended {
            return None;
        }
        let event = follower.next().await?;
        Some((Ok(event), follower))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT)))
}

/// One user's events, read from the store in order.
struct Follower {
    state: AppState,
    project_id: Uuid,
    user_id: String,
    token: VerifiedToken,
    /// The last event read.
    after: i64,
    pending: VecDeque<EventRecord>,
    notices: broadcast::Receiver<EventNotice>,
    /// The last event, `streamEnded`, has been sent.
    ended: bool,
    /// Held while the stream is open.
    _slot: StreamSlot,
}

impl Follower {
    /// The next event to send; `None` ends the stream (server shutdown).
    async fn next(&mut self) -> Option<Event> {
        loop {
            while let Some(record) = self.pending.pop_front() {
                if let Some(event) = self.to_sse(&record).await {
                    return Some(event);
                }
            }
            // Checked before every read: nothing committed after the token
            // stopped being valid is sent.
            if let Some(reason) = self.token_ended().await {
                self.ended = true;
                // The id of the last event read keeps `Last-Event-ID` right.
                return Event::default()
                    .id(self.after.to_string())
                    .event("streamEnded")
                    .json_data(StreamEnded { reason })
                    .ok();
            }
            match self
                .state
                .store()
                .events()
                .list_user_events(self.project_id, &self.user_id, self.after, PAGE)
                .await
            {
                Ok(records) if !records.is_empty() => {
                    self.after = records.last().map_or(self.after, |last| last.seq);
                    self.pending.extend(records);
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "event stream cannot read events"),
            }
            let until_expiry =
                Duration::from_secs(u64::try_from(self.token_deadline() - now_secs()).unwrap_or(0));
            tokio::select! {
                () = self.state.engine.shutdown().cancelled() => return None,
                () = wait_for_notice(&mut self.notices, self.project_id, &self.user_id) => {}
                () = tokio::time::sleep(SAFETY_POLL.min(until_expiry)) => {}
            }
        }
    }

    /// The SSE message for a stored event, or `None` when the SDK does not
    /// receive it or the token may not see its account.
    async fn to_sse(&self, record: &EventRecord) -> Option<Event> {
        let name = EventType::parse(&record.name)?.sdk_name()?;
        // Every stored event was written from its wire type; a row that does
        // not read back is damaged, and skipped rather than sent half-formed.
        let payload = match EventPayload::deserialize(&record.payload) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::warn!(%error, seq = record.seq, "event stream skips an unreadable event");
                return None;
            }
        };
        if self.token.permissions.is_some() && !self.token_allows(record).await {
            return None;
        }
        Event::default()
            .id(record.seq.to_string())
            .event(name)
            .json_data(payload)
            .ok()
    }

    /// The last second at which the token would still be accepted anew.
    fn token_deadline(&self) -> i64 {
        self.token.expires_at.saturating_add(CLOCK_SKEW_LEEWAY_SECS)
    }

    /// Why the stream's token would no longer be accepted, if it would not:
    /// it expired, or the key that verified it is no longer active (read
    /// through the store's cache, which forgets a revoked key at once on
    /// this replica and on a change notice elsewhere).
    async fn token_ended(&self) -> Option<StreamEndReason> {
        if now_secs() > self.token_deadline() {
            return Some(StreamEndReason::TokenExpired);
        }
        match self
            .state
            .store()
            .projects()
            .get_project_with_active_keys(self.project_id)
            .await
        {
            Ok(Some((_, keys))) if keys.iter().any(|key| key.kid == self.token.key_id) => None,
            Ok(Some(_)) => Some(StreamEndReason::SigningKeyRevoked),
            Ok(None) => Some(StreamEndReason::ProjectGone),
            // An unreachable store says nothing about the token; look again later.
            Err(error) => {
                tracing::warn!(%error, "event stream cannot check its token");
                None
            }
        }
    }

    /// Whether a token limited by a permissions claim may see the account
    /// an event is about.
    async fn token_allows(&self, record: &EventRecord) -> bool {
        let (Some(integration_id), Some(credential_id)) =
            (record.integration_id, record.credential_id)
        else {
            return false;
        };
        let Ok(Some(project)) = self
            .state
            .store()
            .projects()
            .get_project(self.project_id)
            .await
        else {
            return false;
        };
        let Ok(runtime) = self.state.engine.runtimes().load(&project).await else {
            return false;
        };
        runtime
            .integration_by_id(integration_id)
            .is_some_and(|integration| {
                self.token
                    .allows_credential(&integration.config.type_name, credential_id)
            })
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Resolves when a notice may concern this user (or notices were dropped).
async fn wait_for_notice(
    notices: &mut broadcast::Receiver<EventNotice>,
    project_id: Uuid,
    user_id: &str,
) {
    loop {
        match notices.recv().await {
            Ok(notice) if notice.concerns(project_id, user_id) => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            // Nothing will be announced any more; the safety poll goes on.
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}
