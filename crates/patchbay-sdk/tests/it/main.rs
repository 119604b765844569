//! The SDK against a real Patchbay server, as an application uses it.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod config;
mod debug;
mod proxy;
