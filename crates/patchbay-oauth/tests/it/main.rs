//! `patchbay-oauth` through its public API, against a fake provider on a real socket and the
//! real catalogue definitions.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod account;
mod authorize;
mod errors;
mod inject;
mod jwt_bearer;
mod samples;
mod support;
mod template;
mod token;
mod verify;
