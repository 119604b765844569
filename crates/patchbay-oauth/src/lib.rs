//! Everything Patchbay says to a provider while connecting and refreshing an account (docs/api.md):
//! the authorization URL, the code exchange, refresh, client-credentials and JWT-bearer token
//! requests with each provider's quirks, the `account` step that tells which external account was connected, the `verify`
//! request for API keys and basic credentials, and how a request is authenticated for an
//! account (for the proxy, docs/api.md).
//!
//! No storage and no HTTP handlers: callers hand in a provider definition and the values its
//! templates read ([`TemplateContext`]), and get back tokens, identities or an [`OAuthError`]
//! that says whether retrying can help. Provider responses contain tokens, so they are never
//! logged, and no error carries a token or a secret.

mod account;
mod authorize;
mod client;
mod error;
mod inject;
mod jwt_bearer;
mod pkce;
mod template;
mod token;

pub use account::AccountIdentity;
pub use authorize::authorization_url;
pub use client::{BuildError, Client, MAX_RESPONSE_BYTES, Timeouts};
pub use error::{ChoiceOption, Choices, KeyFileError, OAuthError};
pub use inject::{AccountAuth, Injection, api_base_url, auth_injection};
pub use jwt_bearer::ServiceAccountKey;
pub use pkce::Pkce;
pub use template::{TemplateContext, TemplateError, evaluate, render};
pub use token::{ClientCredentials, TokenSet};
