//! Thin handlers grouped by resource. Each one authenticates through an
//! extractor, calls the store or the domain, and maps the result onto wire
//! types from `patchbay-api`.

pub mod ops;
pub mod projects;
