use patchbay_api::ErrorBody;

/// Why a call failed.
///
/// Switch on [`Error::code`], the stable code of an error Patchbay
/// produced; [`Error::status`] is the HTTP status when a response came back.
///
/// ```
/// use patchbay_sdk::Error;
/// use patchbay_sdk::api::ErrorBody;
///
/// let error = Error::Api {
///     body: ErrorBody {
///         message: "Credential not found.".to_owned(),
///         code: "credential_not_found".to_owned(),
///         status: 404,
///         meta: None,
///     },
/// };
/// assert_eq!(error.code(), Some("credential_not_found"));
/// assert_eq!(error.status(), Some(404));
/// assert_eq!(
///     error.to_string(),
///     "credential_not_found (404): Credential not found."
/// );
/// ```
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

    /// The HTTP status of the response the error came with; `None` when no
    /// response came (a connection failure, a token that could not be
    /// minted).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { body } => Some(body.status),
            Self::Unexpected { status, .. } => Some(*status),
            Self::Http(_) | Self::Token(_) => None,
        }
    }
}
