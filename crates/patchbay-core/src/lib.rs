//! Patchbay's domain: the types and rules every other crate shares.
//!
//! This crate performs no IO: no network, no database, no files.

pub mod crypto;
pub mod nul;
pub mod secret_key;
pub mod selection;
pub mod user_token;
