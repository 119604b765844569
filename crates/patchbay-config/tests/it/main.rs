//! `patchbay-config` through its public API: the catalogue, whole documents (valid and broken),
//! settings values, and the masked document.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod broken;
mod catalogue;
mod catalogue_page;
mod documents;
mod masked;
mod portal;
mod schema;
mod settings;
mod support;
