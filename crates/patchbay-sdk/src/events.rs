//! The live event stream of one user (`GET /sdk/events/stream`), as a
//! `Stream` of typed events.

use eventsource_stream::Eventsource as _;
use futures_util::{Stream, StreamExt as _};
use patchbay_api::{EventPayload, StreamEndReason, StreamEnded};

use crate::Error;

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

impl UserEventData {
    fn decode(name: &str, data: &str) -> serde_json::Result<Self> {
        Ok(if name == "streamEnded" {
            Self::StreamEnded(serde_json::from_str::<StreamEnded>(data)?.reason)
        } else {
            Self::Changed(serde_json::from_str(data)?)
        })
    }
}

/// Decodes a `text/event-stream` response; heartbeats are skipped.
pub(crate) fn decode(response: reqwest::Response) -> impl Stream<Item = Result<UserEvent, Error>> {
    response.bytes_stream().eventsource().map(|message| {
        let message = message.map_err(|err| Error::Unexpected {
            status: 200,
            detail: err.to_string(),
        })?;
        let unexpected = |detail: String| Error::Unexpected {
            status: 200,
            detail,
        };
        Ok(UserEvent {
            id: message
                .id
                .parse()
                .map_err(|_| unexpected(format!("event id {:?}", message.id)))?,
            data: UserEventData::decode(&message.event, &message.data)
                .map_err(|err| unexpected(format!("event data: {err}")))?,
            name: message.event,
        })
    })
}
