//! The store contract: every test here runs unchanged against SQLite and
//! PostgreSQL (see `patchbay_test_support::backend_tests!`).

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod cache;
mod configuration;
mod connecting;
mod contract;
mod credentials;
mod data_keys;
mod delivery;
mod fixtures;
mod growth;
mod inbound;
mod migrations;
mod plans;
mod project_events;
mod refresh;
mod runs;
mod usage;
