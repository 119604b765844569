//! A typed Rust client for Patchbay.
//!
//! Two clients, for the two kinds of caller:
//!
//! - [`AdminClient`] — your backend administering one project with one of its
//!   secret keys: configuration, signing keys, accounts, Task History,
//!   webhooks. Made by [`Patchbay::admin`].
//! - [`UserClient`] — code acting as one end user with a user token (a JWT
//!   your backend signs; [`TokenSigner`] mints them): the user object, their
//!   connected accounts, the Proxy API, workflows, events. Made by
//!   [`Patchbay::user`]. Every operation on one account takes a selection
//!   (a credential id, `ext:<externalId>` or a plain externalId, sent as
//!   `X-Paragon-Credential`); without one the user's default account acts.
//!
//! A user with two accounts of one integration, and a call as each:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // A Patchbay server of the test suite's, on 127.0.0.1, with its
//! # // built-in sandbox provider playing the CRM under /sandbox.
//! # let db = patchbay_test_support::TestDb::sqlite().await;
//! # let server = patchbay_test_support::TestServer::start(&db).await;
//! # let base_url = server.base_url.clone();
//! # let admin_token = patchbay_test_support::ADMIN_TOKEN;
//! use patchbay_sdk::api::InstallRequest;
//! use patchbay_sdk::{Method, Patchbay, SigningAlgorithm, TokenSigner};
//! use serde_json::{Value, json};
//!
//! let patchbay = Patchbay::new(&base_url); // e.g. "https://patchbay.example"
//!
//! // Once: a project, the key pair that signs its user tokens, a configuration.
//! let project = patchbay.create_project(admin_token, "My SaaS").await?;
//! let admin = patchbay.admin(project.project_id, project.secret_key);
//! let keys = patchbay_sdk::generate_key_pair(SigningAlgorithm::Es256)?;
//! admin.add_signing_key(&keys.public_key_pem, None).await?;
//! let config = r#"
//! integrations:
//!   crm:
//!     name: Sandbox CRM
//!     auth:
//!       type: api_key
//!       fields: [{id: apiKey, title: API key, secret: true}]
//!       inject: {header: X-Api-Key, value: "{{ credentials.apiKey }}"}
//!     api: {baseUrl: "PATCHBAY/sandbox/api"}
//!     account:
//!       request: {method: GET, path: /me}
//!       id: "{{ response.body.id }}"
//!       data: {name: "{{ response.body.name }}"}
//! "#;
//! admin.apply_config(&config.replace("PATCHBAY", &base_url), false).await?;
//!
//! // For each signed-in user of your product: a short-lived token.
//! let signer = TokenSigner::new(
//!     project.project_id,
//!     &keys.private_key_pem,
//!     SigningAlgorithm::Es256,
//! )?;
//! let ada = patchbay.user(project.project_id, signer.mint("ada")?);
//!
//! // Ada connects two accounts of the same integration...
//! for api_key in ["sbx_key_ada_3f9c2e71d4b8", "sbx_key_grace_8a1d6f04c2e9"] {
//!     let request = InstallRequest {
//!         allow_multiple_credentials: true,
//!         credentials: json!({ "apiKey": api_key }).as_object().cloned(),
//!         ..InstallRequest::default()
//!     };
//!     ada.install_with_credentials("crm", &request).await?;
//! }
//! let accounts = ada.me().await?.integrations["crm"].all_credentials.clone();
//! assert_eq!(accounts.len(), 2);
//!
//! // ...and each call says which one it acts as.
//! let mut seen = Vec::new();
//! for account in &accounts {
//!     let me: Value = ada
//!         .proxy("crm", Method::GET, "/me")
//!         .selected_credential(account.id.to_string())
//!         .send()
//!         .await?
//!         .json()
//!         .await?;
//!     seen.push(me["id"].clone());
//! }
//! assert_eq!(seen, [json!("acct_ada"), json!("acct_grace")]);
//! # Ok(()) }
//! ```
//!
//! Errors Patchbay produces carry a stable code and the HTTP status
//! ([`Error::code`], [`Error::status`]). No client prints its secret key or
//! user token in `Debug` output, so clients can be logged:
//!
//! ```
//! use patchbay_sdk::Patchbay;
//!
//! let project_id = uuid::Uuid::new_v4();
//! let patchbay = Patchbay::new("https://patchbay.example");
//! let admin = patchbay.admin(project_id, "pb_sk_0123456789abcdef");
//! let user = patchbay.user(project_id, "eyJhbGciOiJFUzI1NiJ9.e30.c2ln");
//! let printed = format!("{admin:?} {user:?}");
//! assert!(printed.contains("[REDACTED]"));
//! assert!(!printed.contains("pb_sk_0123456789abcdef") && !printed.contains("eyJhbGci"));
//! ```
//!
//! The client depends on `patchbay-api` (the wire types), never on the server.

pub mod admin;
mod error;
mod events;
mod http;
mod proxy;
mod token;
mod user;

pub use admin::AdminClient;
pub use bytes::Bytes;
pub use error::Error;
pub use events::{ProjectEvent, ProjectEventData, UserEvent, UserEventData};
pub use patchbay_api as api;
pub use patchbay_core::user_token::{GeneratedKeyPair, SigningAlgorithm, generate_key_pair};
pub use proxy::{ProxyRequest, ProxyResponse};
pub use reqwest::Method;
pub use token::TokenSigner;
pub use user::{UserClient, WorkflowResponse};

use http::Http;
use patchbay_api::{
    CreateProjectRequest, CreateProjectResponse, ProviderDefinitionDocument, ProviderList, Ready,
};
use uuid::Uuid;

/// A Patchbay deployment. Holds no secret; [`Patchbay::admin`] and
/// [`Patchbay::user`] make the clients that do.
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

    /// The built-in provider catalogue, sorted by id: the providers filed
    /// under `category` (when given) whose id, name or Paragon type contains
    /// `text` (when given, without case). Needs no credentials.
    pub async fn providers(
        &self,
        category: Option<&str>,
        text: Option<&str>,
    ) -> Result<ProviderList, Error> {
        let params: Vec<(&str, &str)> = [("category", category), ("q", text)]
            .into_iter()
            .filter_map(|(name, value)| Some((name, value?)))
            .collect();
        let request = self.http.get("/api/v1/providers", None).query(&params);
        self.http.send(request).await
    }

    /// One catalogue provider's whole definition, by its id or its Paragon
    /// type (`google-calendar` or `googleCalendar`).
    pub async fn provider(&self, name: &str) -> Result<ProviderDefinitionDocument, Error> {
        let path = format!("/api/v1/providers/{}", admin::encode_segment(name));
        self.http.send(self.http.get(&path, None)).await
    }

    /// `GET /readyz`.
    pub async fn ready(&self) -> Result<Ready, Error> {
        self.http.send(self.http.get("/readyz", None)).await
    }
}
