//! Dashboard sessions: signing in with a project secret key (or the instance admin token)
//! gives the browser a random token in an `HttpOnly`, `SameSite=Strict` cookie, and the
//! admin API accepts that cookie in place of the key. The key itself never reaches browser
//! storage or a URL.
//!
//! Only the token's SHA-256 is stored, so the session table opens nothing. Every change
//! (any method but GET and HEAD) must also carry the session's CSRF token in `X-CSRF-Token`:
//! a value derived from the session token, which a page of another origin can neither read
//! (the cookie is `HttpOnly`) nor ask for (the admin API sends no CORS headers).

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use patchbay_api::ErrorCode;
use patchbay_store::{DashboardSession, NewDashboardSession, SessionScope};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::error::ApiError;
use crate::state::AppState;

/// How long a session lasts from sign-in. Signing out ends it at once.
pub const LIFETIME: chrono::Duration = chrono::Duration::hours(8);

/// The header every change made with a session carries.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The cookie's name. Over https it takes the `__Host-` prefix, with which browsers refuse
/// the cookie unless it is `Secure`, has `Path=/` and names no domain: no subdomain can
/// plant or overwrite it.
fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-patchbay_session"
    } else {
        "patchbay_session"
    }
}

/// Whether browsers reach this deployment over https, so the cookie must be `Secure`.
pub fn secure(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

/// A session's secret: 256 random bits, as the cookie carries them.
pub struct SessionToken(String);

impl SessionToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// What the store keeps of it.
    fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The CSRF token of this session: anyone holding the session token can compute it,
    /// nobody else can.
    pub fn csrf_token(&self) -> String {
        let mut digest = Sha256::new();
        digest.update(b"patchbay dashboard csrf\0");
        digest.update(self.0.as_bytes());
        URL_SAFE_NO_PAD.encode(digest.finalize())
    }

    /// `Set-Cookie` opening the session in the browser.
    pub fn cookie(&self, secure: bool) -> HeaderValue {
        set_cookie(secure, &self.0, LIFETIME.num_seconds())
    }

    /// The token of the request's session cookie, if it sent one.
    pub fn from_headers(headers: &HeaderMap, secure: bool) -> Option<Self> {
        let name = cookie_name(secure);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| Self(value.to_owned()))
    }

    /// Writes the session; it lasts [`LIFETIME`].
    pub async fn open(&self, state: &AppState, scope: SessionScope) -> Result<(), ApiError> {
        state
            .store()
            .dashboard()
            .create_session(&NewDashboardSession {
                token_hash: self.hash(),
                scope,
                expires_at: Utc::now() + LIFETIME,
            })
            .await?;
        Ok(())
    }

    pub async fn close(&self, state: &AppState) -> Result<(), ApiError> {
        state
            .store()
            .dashboard()
            .delete_session(&self.hash())
            .await?;
        Ok(())
    }
}

/// `Set-Cookie` that makes the browser forget the session.
pub fn expired_cookie(secure: bool) -> HeaderValue {
    set_cookie(secure, "", 0)
}

fn set_cookie(secure: bool, value: &str, max_age: i64) -> HeaderValue {
    let mut cookie = format!(
        "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict",
        cookie_name(secure)
    );
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).expect("a base64url token makes a valid header value")
}

/// The open session of a request, checked for its CSRF token when the request changes
/// something. `None` when the request has no session cookie at all.
pub async fn authenticate(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<(SessionToken, DashboardSession)>, ApiError> {
    let Some(token) = SessionToken::from_headers(&parts.headers, secure(state)) else {
        return Ok(None);
    };
    let session = find(state, &token, Utc::now()).await?;
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        check_csrf(&parts.headers, &token)?;
    }
    Ok(Some((token, session)))
}

async fn find(
    state: &AppState,
    token: &SessionToken,
    now: DateTime<Utc>,
) -> Result<DashboardSession, ApiError> {
    state
        .store()
        .dashboard()
        .find_session(&token.hash(), now)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnauthorizedSession,
                "The dashboard session has ended: sign in again.",
            )
        })
}

pub fn check_csrf(headers: &HeaderMap, token: &SessionToken) -> Result<(), ApiError> {
    let expected = token.csrf_token();
    let presented = headers
        .get(CSRF_HEADER)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    if bool::from(presented.ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::CsrfTokenInvalid,
            "A change made with a dashboard session must carry its CSRF token in X-CSRF-Token.",
        ))
    }
}
