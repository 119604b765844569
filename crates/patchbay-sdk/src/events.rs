//! The live event streams, as `Stream`s of typed events: one user's
//! (`GET /sdk/events/stream`) and a whole project's
//! (`GET /api/v1/projects/{projectId}/events/stream`).

use eventsource_stream::Eventsource as _;
use futures_util::{Stream, StreamExt as _};
use patchbay_api::{EventPayload, StreamEndReason, StreamEnded, WebhookEvent};

use crate::Error;
use crate::http::Http;

/// The name of a stream's last message.
const STREAM_ENDED: &str = "streamEnded";

/// One change to the user's object.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEvent {
    /// Resume after this event with `UserClient::events(Some(id))`.
    pub id: i64,
    /// The SDK event name: `onIntegrationInstall`, `onIntegrationUninstall`,
    /// `onCredentialChange`, `onWorkflowChange`, or `streamEnded` last.
    pub name: String,
    pub data: UserEventData,
}

/// What an event says.
#[derive(Debug, Clone, PartialEq)]
pub enum UserEventData {
    /// A change to the user's accounts or workflows.
    Changed(EventPayload),
    /// The stream's last message: its token is no longer accepted.
    StreamEnded(StreamEndReason),
}

/// One event of the project, of any of its users.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectEvent {
    /// Resume after this event with `AdminClient::events(Some(id))`.
    pub id: i64,
    pub data: ProjectEventData,
}

/// What a project's event says.
#[derive(Debug, Clone, PartialEq)]
pub enum ProjectEventData {
    /// The event, as a webhook delivers it: its type, time, user and payload (boxed: it is
    /// much larger than the other variant).
    Recorded(Box<WebhookEvent>),
    /// The stream's last message: its secret key was revoked (or its project
    /// is gone).
    StreamEnded(StreamEndReason),
}

/// An event as a stream's message carries it.
pub(crate) trait Message: Sized {
    fn decode(id: i64, name: String, data: &str) -> serde_json::Result<Self>;
}

fn stream_ended(data: &str) -> serde_json::Result<StreamEndReason> {
    Ok(serde_json::from_str::<StreamEnded>(data)?.reason)
}

impl Message for UserEvent {
    fn decode(id: i64, name: String, data: &str) -> serde_json::Result<Self> {
        let data = if name == STREAM_ENDED {
            UserEventData::StreamEnded(stream_ended(data)?)
        } else {
            UserEventData::Changed(serde_json::from_str(data)?)
        };
        Ok(Self { id, name, data })
    }
}

impl Message for ProjectEvent {
    fn decode(id: i64, name: String, data: &str) -> serde_json::Result<Self> {
        // The events themselves come unnamed; their `type` says what they are.
        let data = if name == STREAM_ENDED {
            ProjectEventData::StreamEnded(stream_ended(data)?)
        } else {
            ProjectEventData::Recorded(Box::new(serde_json::from_str(data)?))
        };
        Ok(Self { id, data })
    }
}

/// Opens the stream `request` asks for, resuming after event `after` when given.
pub(crate) async fn open<M: Message>(
    http: &Http,
    request: reqwest::RequestBuilder,
    after: Option<i64>,
) -> Result<impl Stream<Item = Result<M, Error>> + use<M>, Error> {
    let mut request = request.header("accept", "text/event-stream");
    if let Some(after) = after {
        request = request.header("last-event-id", after.to_string());
    }
    let response = http.checked(request).await?;
    Ok(decode(response))
}

/// Decodes a `text/event-stream` response; heartbeats are skipped.
fn decode<M: Message>(response: reqwest::Response) -> impl Stream<Item = Result<M, Error>> {
    response.bytes_stream().eventsource().map(|message| {
        let message = message.map_err(|err| Error::Unexpected {
            status: 200,
            detail: err.to_string(),
        })?;
        let unexpected = |detail: String| Error::Unexpected {
            status: 200,
            detail,
        };
        let id = message
            .id
            .parse()
            .map_err(|_| unexpected(format!("event id {:?}", message.id)))?;
        M::decode(id, message.event, &message.data)
            .map_err(|err| unexpected(format!("event data: {err}")))
    })
}
