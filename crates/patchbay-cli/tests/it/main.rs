//! The `patchbay` binary as an operator runs it.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod binary;
mod config_docs;
mod config_validate;
mod crash;
mod demo;
mod keys;
mod project_commands;
mod providers;
mod replicas;
mod serve;
mod settings;
mod webhooks;
mod workflow_policy;
mod workflow_queue;
