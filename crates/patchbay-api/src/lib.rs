//! The JSON Patchbay speaks on the wire.
//!
//! Only types from this crate are serialized onto the wire, so the server and
//! the SDKs cannot drift apart. Field names are camelCase, as in Paragon's API.

mod actions;
mod admin;
mod catalogue;
mod dashboard;
mod error;
mod events;
mod ops;
mod sdk;
mod timestamp;
mod webhooks;
mod workflows;

pub use actions::*;
pub use admin::*;
pub use catalogue::*;
pub use dashboard::*;
pub use error::{ErrorBody, ErrorCode};
pub use events::*;
pub use ops::*;
pub use sdk::*;
pub use webhooks::*;
pub use workflows::*;
