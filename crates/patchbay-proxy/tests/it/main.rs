//! `patchbay-proxy` through its public API: a hostile corpus of proxy targets that must all be
//! refused for the right reason, legitimate ones that must resolve to exact URLs, and the
//! header, redirect and retry policies as tables.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod addresses;
mod bases;
mod headers;
mod redirect;
mod retry;
mod url_hostile;
mod url_legit;
