//! The HTTP API, driven over a real socket, on both storage backends.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod account_configurations;
mod account_types;
mod accounts;
mod actions;
mod admin;
mod admin_actions;
mod browser_assets;
mod client_credentials;
mod config_schema;
mod configuration;
mod connect_failures;
mod connecting;
mod connection_limits;
mod cors;
mod dashboard;
mod errors;
mod event_stream;
mod field_options;
mod fixtures;
mod http;
mod integration_webhooks;
mod jwt_bearer;
mod mcp;
mod names;
mod openapi;
mod ops;
mod portal_customisation;
mod providers;
mod proxy;
mod proxy_connections;
mod proxy_hostile;
mod proxy_httpbin;
mod proxy_paragon;
mod proxy_streaming;
mod python;
mod sandbox;
mod secrets_at_rest;
mod stored_text;
mod token_lifecycle;
mod user_object;
mod user_tokens;
mod webhooks;
mod workflow_triggers;
mod workflows;
