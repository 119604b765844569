use patchbay_api::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Patchbay answered with one of its JSON errors; switch on `body.code`.
    #[error("{} ({}): {}", body.code, body.status, body.message)]
    Api { body: ErrorBody },
    /// The request could not be sent or the response not read.
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    /// A response that is not what this endpoint returns.
    #[error("unexpected response ({status}): {detail}")]
    Unexpected { status: u16, detail: String },
    /// A key or token problem while minting a user token.
    #[error("token: {0}")]
    Token(String),
}

impl Error {
    /// The stable error code, when Patchbay produced the error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { body } => Some(&body.code),
            _ => None,
        }
    }
}
