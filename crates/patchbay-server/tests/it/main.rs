//! The HTTP API, driven over a real socket, on both storage backends.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod admin;
mod errors;
mod http;
mod ops;
