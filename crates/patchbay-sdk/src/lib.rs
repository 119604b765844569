//! A typed client for Patchbay.
//!
//! ```no_run
//! # async fn demo() -> Result<(), patchbay_sdk::Error> {
//! use patchbay_sdk::{Patchbay, SigningAlgorithm, TokenSigner};
//! let patchbay = Patchbay::new("http://127.0.0.1:8080");
//! # let (project_id, private_key_pem) = (uuid::Uuid::nil(), String::new());
//! let signer = TokenSigner::new(project_id, &private_key_pem, SigningAlgorithm::Es256)?;
//! let user = patchbay.user(project_id, signer.mint("user-123")?);
//! let me = user.me().await?;
//! for (integration, state) in &me.integrations {
//!     println!("{integration}: {} account(s)", state.all_credentials.len());
//! }
//! # Ok(()) }
//! ```
//!
//! The client depends on `patchbay-api` (the wire types), never on the server.

pub mod admin;
mod error;
mod events;
mod http;
mod token;
mod user;

pub use admin::AdminClient;
pub use error::Error;
pub use events::UserEvent;
pub use patchbay_api as api;
pub use patchbay_core::user_token::{GeneratedKeyPair, SigningAlgorithm, generate_key_pair};
pub use token::TokenSigner;
pub use user::{UserClient, WorkflowResponse};

use http::Http;
use patchbay_api::{CreateProjectRequest, CreateProjectResponse, Ready};
use uuid::Uuid;

/// A Patchbay deployment.
#[derive(Debug, Clone)]
pub struct Patchbay {
    http: Http,
}

impl Patchbay {
    /// `base_url` is the deployment's root, e.g. `https://patchbay.example`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            http: Http::new(base_url.into()),
        }
    }

    /// The admin API of one project, with one of its secret keys.
    pub fn admin(&self, project_id: Uuid, secret_key: impl Into<String>) -> AdminClient {
        AdminClient::new(self.http.clone(), project_id, secret_key.into())
    }

    /// The end-user API, as the user a token was minted for.
    pub fn user(&self, project_id: Uuid, user_token: impl Into<String>) -> UserClient {
        UserClient::new(self.http.clone(), project_id, user_token.into())
    }

    /// Creates a project with the instance admin token.
    pub async fn create_project(
        &self,
        admin_token: &str,
        name: &str,
    ) -> Result<CreateProjectResponse, Error> {
        let body = CreateProjectRequest {
            name: name.to_owned(),
        };
        self.http
            .send(self.http.post("/api/v1/projects", admin_token).json(&body))
            .await
    }

    /// `GET /readyz`.
    pub async fn ready(&self) -> Result<Ready, Error> {
        self.http.send(self.http.get("/readyz", None)).await
    }
}
