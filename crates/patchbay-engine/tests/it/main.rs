//! Checks of the workspace's shape that no compiler makes.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod architecture;
