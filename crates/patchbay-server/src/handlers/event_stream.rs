//! Stored events as Server-Sent Events (docs/api.md): `GET /sdk/events/stream`,
//! the caller's user-object changes as the SDK hears them, and
//! `GET /api/v1/projects/{projectId}/events/stream`, every event of the
//! project, of every user, as webhooks carry them.
//!
//! The store is the only source: a stream remembers the `seq` of the last
//! event it sent and reads what follows whenever a notice says there are new
//! events it may carry (from this replica, or from another through
//! PostgreSQL), and every few seconds in case a notice was lost. So a stream
//! never skips nor repeats an event, and `Last-Event-ID` resumes exactly
//! after the last one a client saw.
//!
//! A stream lives no longer than what opened it would be accepted anew: a
//! user token until it expires or the signing key that verified it is
//! revoked, a secret key until it is revoked, a dashboard session until it
//! ends (each seen within [`SAFETY_POLL`]). It then sends a last `streamEnded`
//! event saying why and ends.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use patchbay_api::{ErrorBody, ErrorCode, EventPayload, EventType, StreamEndReason, StreamEnded};
use patchbay_core::user_token::{CLOCK_SKEW_LEEWAY_SECS, ConfigurationRef, VerifiedToken};
use patchbay_engine::events;
use patchbay_store::{EventNotice, EventRecord, Store, StoreResult};
use serde::Deserialize as _;
use serde_json::Value;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::auth::{AdminCredentials, StreamAdmin, StreamUser};
use crate::error::ApiError;
use crate::state::AppState;
use crate::stream_slots::{StreamHolder, StreamSlot};

/// Events read from the store at once.
const PAGE: i64 = 100;
/// How often a stream looks at the store without a notice, and at most how
/// long a revoked key or an ended session goes unnoticed.
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
    let holder = StreamHolder::User {
        project_id: user.project.id,
        user_id: user.user.user_id.clone(),
    };
    let audience = UserAudience {
        project_id: user.project.id,
        user_id: user.0.user.user_id,
        token: user.0.token,
    };
    open(state, audience, holder, &headers).await
}

/// Streams every event of the project, of every user: `id` (resume point)
/// and `data` (the body a webhook of the event carries, its `type` the event
/// type). The messages have no `event` name, so `EventSource.onmessage`
/// receives them all. Without `Last-Event-ID`, starts with the next event.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/events/stream", operation_id = "streamProjectEvents", tag = "admin",
    params(("projectId" = Uuid, Path),
           ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event")),
    responses((status = 200, content_type = "text/event-stream", body = String,
               description = "Server-Sent Events without an `event` name: `data` is a `WebhookEvent`, whose `type` is the event type; the last message may be `streamEnded` with a `StreamEnded`"),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn project_stream(
    State(state): State<AppState>,
    StreamAdmin { admin, credentials }: StreamAdmin,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let audience = ProjectAudience {
        project_id: admin.project.id,
        credentials,
        checked: Instant::now(),
    };
    open(
        state,
        audience,
        StreamHolder::Project(admin.project.id),
        &headers,
    )
    .await
}

/// Whose events a stream carries and how, and how long it may go on: what a
/// user's stream and a project's differ in.
trait Audience: Send + Sync + 'static {
    /// Where a stream that does not resume starts: the latest event's `seq`.
    fn last(&self, store: &dyn Store) -> impl Future<Output = StoreResult<i64>> + Send;

    /// The audience's events after `after`, oldest first, at most [`PAGE`].
    fn read(
        &self,
        store: &dyn Store,
        after: i64,
    ) -> impl Future<Output = StoreResult<Vec<EventRecord>>> + Send;

    /// Whether a notice may announce events of this audience.
    fn concerns(&self, notice: &EventNotice) -> bool;

    /// Why the stream must end now, if it must.
    fn ended(&mut self, state: &AppState) -> impl Future<Output = Option<StreamEndReason>> + Send;

    /// How long the stream may wait before [`Self::ended`] could say otherwise.
    fn patience(&self) -> Duration;

    /// The message for a stored event, or `None` when the audience does not
    /// receive it.
    fn message(
        &self,
        state: &AppState,
        record: &EventRecord,
    ) -> impl Future<Output = Option<Event>> + Send;
}

/// Opens a stream for `audience`, held by `holder`: from `Last-Event-ID`
/// when the client sent one, else from the next event.
async fn open<A: Audience>(
    state: AppState,
    audience: A,
    holder: StreamHolder,
    headers: &HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<A>>, ApiError> {
    let max = state.config.connections.max_streams_per_user;
    let slot = state.streams.take(holder, max).ok_or_else(|| {
        ApiError::new(
            ErrorCode::TooManyStreams,
            "As many event streams are open here as one user, or one project's admin API, may \
             hold; close one first.",
        )
    })?;
    // Subscribe before reading where to start: an event committed in between
    // is then announced, and read because it follows the start.
    let notices = state.store().events().event_notices();
    let after = match resume_point(headers)? {
        Some(seq) => seq,
        None => audience.last(state.store()).await?,
    };
    let follower = Follower {
        state,
        audience,
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

/// The `Last-Event-ID` a reconnecting client sends, if it sent one.
fn resume_point(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    headers
        .get("last-event-id")
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|value| value.trim().parse::<i64>().ok())
                .filter(|seq| *seq >= 0)
                .ok_or_else(|| {
                    ApiError::validation("Last-Event-ID", "Must be an event id from this stream.")
                })
        })
        .transpose()
}

/// An audience's events, read from the store in order.
struct Follower<A> {
    state: AppState,
    audience: A,
    /// The last event read.
    after: i64,
    pending: VecDeque<EventRecord>,
    notices: broadcast::Receiver<EventNotice>,
    /// The last event, `streamEnded`, has been sent.
    ended: bool,
    /// Held while the stream is open.
    _slot: StreamSlot,
}

impl<A: Audience> Follower<A> {
    /// The next event to send; `None` ends the stream (server shutdown).
    async fn next(&mut self) -> Option<Event> {
        loop {
            while let Some(record) = self.pending.pop_front() {
                if let Some(event) = self.audience.message(&self.state, &record).await {
                    return Some(event);
                }
            }
            // Asked before every read: nothing committed after the stream
            // stopped being allowed is sent (once the audience has noticed).
            if let Some(reason) = self.audience.ended(&self.state).await {
                self.ended = true;
                // The id of the last event read keeps `Last-Event-ID` right.
                return Event::default()
                    .id(self.after.to_string())
                    .event("streamEnded")
                    .json_data(StreamEnded { reason })
                    .ok();
            }
            match self.audience.read(self.state.store(), self.after).await {
                Ok(records) if !records.is_empty() => {
                    self.after = records.last().map_or(self.after, |last| last.seq);
                    self.pending.extend(records);
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "event stream cannot read events"),
            }
            let audience = &self.audience;
            tokio::select! {
                () = self.state.engine.shutdown().cancelled() => return None,
                () = wait_for_notice(&mut self.notices, |notice| audience.concerns(notice)) => {}
                () = tokio::time::sleep(SAFETY_POLL.min(audience.patience())) => {}
            }
        }
    }
}

/// Resolves when a notice may concern the stream (or notices were dropped).
async fn wait_for_notice(
    notices: &mut broadcast::Receiver<EventNotice>,
    concerns: impl Fn(&EventNotice) -> bool,
) {
    loop {
        match notices.recv().await {
            Ok(notice) if concerns(&notice) => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            // Nothing will be announced any more; the safety poll goes on.
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// One user's changes, as the SDK's `subscribe` hears them, for as long as
/// the user token that opened the stream would be accepted.
struct UserAudience {
    project_id: Uuid,
    user_id: String,
    token: VerifiedToken,
}

impl Audience for UserAudience {
    async fn last(&self, store: &dyn Store) -> StoreResult<i64> {
        store
            .events()
            .last_user_event_seq(self.project_id, &self.user_id)
            .await
    }

    async fn read(&self, store: &dyn Store, after: i64) -> StoreResult<Vec<EventRecord>> {
        store
            .events()
            .list_user_events(self.project_id, &self.user_id, after, PAGE)
            .await
    }

    fn concerns(&self, notice: &EventNotice) -> bool {
        notice.concerns(self.project_id, &self.user_id)
    }

    /// Why the stream's token would no longer be accepted, if it would not:
    /// it expired, or the key that verified it is no longer active (read
    /// through the store's cache, which forgets a revoked key at once on
    /// this replica and on a change notice elsewhere).
    async fn ended(&mut self, state: &AppState) -> Option<StreamEndReason> {
        if now_secs() > self.token_deadline() {
            return Some(StreamEndReason::TokenExpired);
        }
        match state
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

    /// Until the token expires.
    fn patience(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.token_deadline() - now_secs()).unwrap_or(0))
    }

    /// The SDK's event name and the payload, unless the SDK does not receive
    /// the event or the token may not see its account.
    async fn message(&self, state: &AppState, record: &EventRecord) -> Option<Event> {
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
        if self.token.permissions.is_some() && !self.token_allows(state, record).await {
            return None;
        }
        Event::default()
            .id(record.seq.to_string())
            .event(name)
            .json_data(payload)
            .ok()
    }
}

impl UserAudience {
    /// The last second at which the token would still be accepted anew.
    fn token_deadline(&self) -> i64 {
        self.token.expires_at.saturating_add(CLOCK_SKEW_LEEWAY_SECS)
    }

    /// Whether a token limited by a permissions claim may see the account
    /// (and the configuration, when it names one) an event is about.
    async fn token_allows(&self, state: &AppState, record: &EventRecord) -> bool {
        let (Some(integration_id), Some(credential_id)) =
            (record.integration_id, record.credential_id)
        else {
            return false;
        };
        let Ok(Some(project)) = state.store().projects().get_project(self.project_id).await else {
            return false;
        };
        let Ok(runtime) = state.engine.runtimes().load(&project).await else {
            return false;
        };
        let Some(integration) = runtime.integration_by_id(integration_id) else {
            return false;
        };
        let type_name = &integration.config.type_name;
        let named = (record.payload.get("configurationId"))
            .and_then(Value::as_str)
            .and_then(|id| Uuid::parse_str(id).ok());
        if named.is_none() && self.token.allows_credential(type_name, credential_id) {
            return true;
        }
        // A token limited to some configurations hears of the ones it may see.
        let Ok(Some(credential)) = (state.store().credentials())
            .get_credential(self.project_id, credential_id)
            .await
        else {
            return self.token.allows_credential(type_name, credential_id);
        };
        credential
            .configurations
            .iter()
            .filter(|c| named.is_none_or(|id| id == c.id))
            .any(|c| {
                let external_id = credential.configuration_external_id(c);
                self.token.allows_configuration(
                    type_name,
                    credential_id,
                    ConfigurationRef {
                        id: c.id,
                        external_id,
                    },
                )
            })
    }
}

/// Every event of a project, as a webhook delivers it, for as long as the
/// secret key or dashboard session that opened the stream would be accepted.
struct ProjectAudience {
    project_id: Uuid,
    credentials: AdminCredentials,
    /// When the credentials were last found accepted.
    checked: Instant,
}

impl Audience for ProjectAudience {
    async fn last(&self, store: &dyn Store) -> StoreResult<i64> {
        store.events().last_project_event_seq(self.project_id).await
    }

    async fn read(&self, store: &dyn Store, after: i64) -> StoreResult<Vec<EventRecord>> {
        store
            .events()
            .list_project_events(self.project_id, after, PAGE)
            .await
    }

    fn concerns(&self, notice: &EventNotice) -> bool {
        notice.project_id == self.project_id
    }

    /// Why the key or session would no longer be accepted, if it would not. It
    /// is authenticated again at most every [`SAFETY_POLL`]: each time costs a
    /// store read, and a busy project wakes its streams far more often.
    async fn ended(&mut self, state: &AppState) -> Option<StreamEndReason> {
        if self.checked.elapsed() < SAFETY_POLL {
            return None;
        }
        let refused = match self.credentials.authenticate(state).await {
            Ok(_) => {
                self.checked = Instant::now();
                return None;
            }
            Err(refused) => refused,
        };
        match refused.code {
            ErrorCode::ProjectNotFound => Some(StreamEndReason::ProjectGone),
            ErrorCode::UnauthorizedSecretKey => Some(StreamEndReason::SecretKeyRevoked),
            ErrorCode::UnauthorizedSession => Some(StreamEndReason::SessionEnded),
            // An unreachable store says nothing about the key; look again later.
            _ => {
                tracing::warn!(
                    code = refused.code.as_str(),
                    "event stream cannot check its key"
                );
                None
            }
        }
    }

    /// A key or session has no deadline the stream could wait for.
    fn patience(&self) -> Duration {
        SAFETY_POLL
    }

    /// The body a webhook of the event carries, which names its type; no SSE
    /// `event` name, so a browser's `onmessage` hears every event.
    async fn message(&self, _: &AppState, record: &EventRecord) -> Option<Event> {
        let event = match events::webhook_event(record) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, seq = record.seq, "event stream skips an unreadable event");
                return None;
            }
        };
        Event::default()
            .id(record.seq.to_string())
            .json_data(event)
            .ok()
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}
