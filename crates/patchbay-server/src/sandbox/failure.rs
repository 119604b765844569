//! How the sandbox can be told to misbehave, and what a request gets
//! instead of its normal answer: the data of failure injection, shared by
//! the control endpoints that set it, the state that keeps it, and the
//! endpoints that act on it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the sandbox misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureKind {
    /// Behave normally.
    #[serde(rename = "none")]
    None,
    /// The consent form always answers `access_denied`, whatever was chosen.
    #[serde(rename = "deny")]
    Deny,
    /// Wait [`FailureMode::delay`], then answer normally.
    #[serde(rename = "slow")]
    Slow,
    /// Answer `500`.
    #[serde(rename = "error_500")]
    Error500,
    /// Answer `503` with `Retry-After: 1`.
    #[serde(rename = "error_503")]
    Error503,
    /// The token endpoint answers `400 invalid_grant`.
    #[serde(rename = "invalid_grant")]
    InvalidGrant,
    /// Answer `429` with `Retry-After: 1`.
    #[serde(rename = "rate_limit")]
    RateLimit,
    /// The API answers `401 invalid_token`, as when a provider revokes an
    /// access token before it expires.
    #[serde(rename = "unauthorized")]
    Unauthorized,
}

/// Which endpoints a failure mode hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureTarget {
    /// `POST /oauth/token` (and, for `deny`, the consent form).
    Token,
    /// `/api/...`.
    Api,
    /// The token endpoint, the API and the authorize endpoints.
    All,
}

/// A failure mode: what fails, where, and for how many requests.
///
/// `deny` only ever acts on the consent form and `invalid_grant` only on the
/// token endpoint; with target `api` they would never act, which
/// `POST /control/failure` refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "FailureWire", try_from = "FailureWire")]
pub struct FailureMode {
    pub kind: FailureKind,
    pub target: FailureTarget,
    /// How long `slow` waits; ignored by the other kinds.
    pub delay: Duration,
    /// Apply to the next `n` matching requests only, then switch back to
    /// `none`; `None` is until reset.
    pub times: Option<u32>,
}

/// Used by `slow` when no delay is given.
const DEFAULT_SLOW_DELAY: Duration = Duration::from_secs(1);
/// Longer delays are refused: a forgotten `slow` should not park a test
/// for minutes.
const MAX_DELAY_MS: u64 = 60_000;

impl FailureMode {
    /// No failure.
    pub const NONE: Self = Self::new(FailureKind::None);

    /// `kind` on every endpoint it can act on, until reset; `slow` waits one
    /// second.
    pub const fn new(kind: FailureKind) -> Self {
        Self {
            kind,
            target: FailureTarget::All,
            delay: DEFAULT_SLOW_DELAY,
            times: None,
        }
    }

    #[must_use]
    pub const fn target(mut self, target: FailureTarget) -> Self {
        self.target = target;
        self
    }

    #[must_use]
    pub const fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    #[must_use]
    pub const fn times(mut self, times: u32) -> Self {
        self.times = Some(times);
        self
    }

    /// What this mode does to a request to `endpoint`, if anything.
    pub(super) fn applies_to(&self, endpoint: Endpoint) -> Option<Injected> {
        if self.times == Some(0) {
            return None;
        }
        let targeted = match endpoint {
            Endpoint::Token => matches!(self.target, FailureTarget::Token | FailureTarget::All),
            Endpoint::Api => matches!(self.target, FailureTarget::Api | FailureTarget::All),
            Endpoint::AuthorizePage | Endpoint::AuthorizeDecision => {
                self.target == FailureTarget::All
            }
        };
        match self.kind {
            FailureKind::None => None,
            FailureKind::Deny => (endpoint == Endpoint::AuthorizeDecision
                && self.target != FailureTarget::Api)
                .then_some(Injected::Deny),
            FailureKind::InvalidGrant => {
                (endpoint == Endpoint::Token && targeted).then_some(Injected::InvalidGrant)
            }
            FailureKind::Slow => targeted.then_some(Injected::Slow(self.delay)),
            FailureKind::Error500 => targeted.then_some(Injected::Outage(Outage::ServerError)),
            FailureKind::Error503 => targeted.then_some(Injected::Outage(Outage::Unavailable)),
            FailureKind::RateLimit => targeted.then_some(Injected::Outage(Outage::RateLimited)),
            FailureKind::Unauthorized => {
                (endpoint == Endpoint::Api && targeted).then_some(Injected::Unauthorized)
            }
        }
    }
}

/// The endpoints failure modes can act on. Control endpoints are never hit,
/// so a test can always switch a failure off again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    AuthorizePage,
    AuthorizeDecision,
    Token,
    Api,
}

/// What a request gets instead of its normal answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    Slow(Duration),
    Deny,
    Outage(Outage),
    InvalidGrant,
    Unauthorized,
}

/// The JSON of `POST /control/failure`, and of `failure` in the stats.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FailureWire {
    mode: FailureKind,
    #[serde(default = "default_target")]
    target: FailureTarget,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delay_ms: Option<u64>,
    #[serde(default)]
    times: Option<u32>,
}

fn default_target() -> FailureTarget {
    FailureTarget::All
}

impl From<FailureMode> for FailureWire {
    fn from(mode: FailureMode) -> Self {
        Self {
            mode: mode.kind,
            target: mode.target,
            delay_ms: (mode.kind == FailureKind::Slow)
                .then(|| u64::try_from(mode.delay.as_millis()).unwrap_or(u64::MAX)),
            times: mode.times,
        }
    }
}

impl TryFrom<FailureWire> for FailureMode {
    type Error = String;

    fn try_from(wire: FailureWire) -> Result<Self, Self::Error> {
        if wire.target == FailureTarget::Api
            && matches!(wire.mode, FailureKind::Deny | FailureKind::InvalidGrant)
        {
            return Err(
                "deny and invalid_grant never act on the API; use target token or all".into(),
            );
        }
        if wire.target == FailureTarget::Token && wire.mode == FailureKind::Unauthorized {
            return Err("unauthorized acts on the API only; use target api or all".into());
        }
        if wire.times == Some(0) {
            return Err("times must be at least 1; leave it out for until reset".into());
        }
        let mut mode = FailureMode::new(wire.mode).target(wire.target);
        mode.times = wire.times;
        match (wire.mode, wire.delay_ms) {
            (FailureKind::Slow, Some(ms)) if ms > MAX_DELAY_MS => {
                return Err(format!("delayMs must be at most {MAX_DELAY_MS}"));
            }
            (FailureKind::Slow, Some(ms)) => mode.delay = Duration::from_millis(ms),
            (_, Some(_)) => return Err("delayMs only applies to mode slow".into()),
            (_, None) => {}
        }
        Ok(mode)
    }
}

/// The failure modes that say "not now" rather than "no": every endpoint
/// answers them alike, in JSON or, on the authorize endpoint, as a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// `500 server_error`.
    ServerError,
    /// `503 temporarily_unavailable` with `Retry-After: 1`, as a provider
    /// in maintenance or behind an overloaded gateway answers.
    Unavailable,
    /// `429 rate_limited` with `Retry-After: 1`.
    RateLimited,
}
