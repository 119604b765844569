//! Request plumbing shared by the clients.

use patchbay_api::ErrorBody;
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;

use crate::Error;

/// The account-selection header: a credential id, `ext:<externalId>` or a
/// plain externalId.
pub const CREDENTIAL_HEADER: &str = "X-Paragon-Credential";
pub const CONFIGURATION_HEADER: &str = "X-Paragon-Configuration-Id";

#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    base_url: String,
}

impl Http {
    pub fn new(base_url: String) -> Self {
        Self {
            client: reqwest::Client::new(),
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    pub fn request(&self, method: Method, path: &str, bearer: Option<&str>) -> RequestBuilder {
        let request = self
            .client
            .request(method, format!("{}{path}", self.base_url));
        match bearer {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub fn get(&self, path: &str, bearer: Option<&str>) -> RequestBuilder {
        self.request(Method::GET, path, bearer)
    }

    pub fn post(&self, path: &str, bearer: &str) -> RequestBuilder {
        self.request(Method::POST, path, Some(bearer))
    }

    /// Sends and decodes a JSON response.
    pub async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Error> {
        let response = checked(request).await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|err| Error::Unexpected {
            status,
            detail: err.to_string(),
        })
    }

    /// Sends a request and returns a successful response unread.
    pub async fn checked(&self, request: RequestBuilder) -> Result<reqwest::Response, Error> {
        checked(request).await
    }

    /// Sends a request whose successful body is not a fixed type: its
    /// status and bytes.
    pub async fn send_raw(&self, request: RequestBuilder) -> Result<(u16, Vec<u8>), Error> {
        let response = checked(request).await?;
        let status = response.status().as_u16();
        Ok((status, response.bytes().await?.to_vec()))
    }

    /// Sends a request whose success has no body (`204`).
    pub async fn send_empty(&self, request: RequestBuilder) -> Result<(), Error> {
        checked(request).await.map(drop)
    }
}

async fn checked(request: RequestBuilder) -> Result<reqwest::Response, Error> {
    let response = request.send().await?;
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let bytes = response.bytes().await?;
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(body) => Err(Error::Api { body }),
        Err(_) => Err(Error::Unexpected {
            status: status.as_u16(),
            detail: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
        }),
    }
}
