//! patchbay-core's public surface.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod user_token;
