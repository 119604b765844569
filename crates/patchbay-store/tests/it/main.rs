//! The store contract: every test here runs unchanged against SQLite and
//! PostgreSQL (see `patchbay_test_support::backend_tests!`).

mod contract;
mod migrations;
