//! The security-critical rules of the Proxy API (docs/api.md), kept free of IO so that every one of
//! them is tested exhaustively and fast. The server wires them to axum and reqwest:
//!
//! - [`resolve`]: where `/sdk/proxy/{type}/{*path}` may go — below the integration's base URL,
//!   or a full URL on the base's registrable domain — and nowhere else;
//! - [`request_headers`], [`response_headers`]: which headers cross the proxy in each direction;
//!   [`wrapping`], [`wrapped_response_headers`]: whether an answer is wrapped as Paragon's are
//!   (`{"output": …}`) or passed on raw;
//!   [`redirect_allowed`]: where the account's credentials may follow a redirect;
//! - [`retry_decision`]: whether and when a failed attempt is tried again;
//! - [`is_public_address`]: which addresses a workflow `http` step may connect to.

mod address_policy;
mod answer;
mod headers;
mod retry;
mod url_policy;

pub use address_policy::is_public_address;
pub use answer::{
    PROXY_URL_HEADER, RAW_RESPONSE_HEADER, Wrapping, wants_raw_response, wrapped_response_headers,
    wrapping,
};
pub use headers::{redirect_allowed, request_headers, response_headers};
pub use retry::{
    Attempt, MAX_ATTEMPTS, RETRY_AFTER_CAP, backoff, has_idempotency_key, is_idempotent,
    retry_after, retry_decision,
};
pub use url_policy::{Reason, UrlRejected, resolve};
