//! Thin handlers grouped by resource. Each one authenticates through an
//! extractor, calls the store or the domain, and maps the result onto wire
//! types from `patchbay-api`.

pub mod actionkit;
pub mod browser;
pub mod config;
pub mod config_schema;
pub mod configurations;
pub mod dashboard;
pub mod demo;
pub mod event_stream;
pub mod field_options;
pub mod inbound;
pub mod install;
pub mod mcp;
pub mod oauth_callback;
pub mod ops;
pub mod overview;
pub mod page_cursor;
pub mod projects;
pub mod providers;
pub mod proxy;
pub mod sdk;
pub mod signing_keys;
pub mod task_history;
pub mod users;
pub mod webhooks;
pub mod workflows;
