//! The live event stream of one user (`GET /sdk/events/stream`), as a
//! `Stream` of typed events.

use eventsource_stream::Eventsource as _;
use futures_util::{Stream, StreamExt as _};
use serde_json::Value;

use crate::Error;

/// One change to the user's object.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEvent {
    /// Resume after this event with `UserClient::events(Some(id))`.
    pub id: i64,
    /// The SDK event name: `onIntegrationInstall`, `onIntegrationUninstall`,
    /// `onCredentialChange` or `onWorkflowChange`.
    pub name: String,
    /// `{integrationId, credentialId, ...}`, as docs/api.md lists per event.
    pub data: Value,
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
            data: serde_json::from_str(&message.data)
                .map_err(|err| unexpected(format!("event data: {err}")))?,
            name: message.event,
        })
    })
}
