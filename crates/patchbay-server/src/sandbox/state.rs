//! The sandbox's in-memory state: accounts, contacts, codes, tokens, the
//! failure mode and the counters. Plain synchronous code: the caller holds
//! the lock only for the length of one of these calls.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use serde::Serialize;

use super::failure::{Endpoint, FailureMode, Injected};

/// A fixed sandbox account. The API keys are published constants: the
/// sandbox protects nothing, and tests and the demo need to know them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SandboxAccount {
    pub id: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    /// Accepted by the API in `X-Api-Key`.
    pub api_key: &'static str,
}

// Kept out of `Debug` anyway, so that a log line never teaches anyone that
// printing an API key is normal.
impl fmt::Debug for SandboxAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxAccount")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// The scope without which no refresh token is issued.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The accounts the consent page offers, in the order it lists them.
pub const SANDBOX_ACCOUNTS: [SandboxAccount; 3] = [
    SandboxAccount {
        id: "acct_ada",
        name: "Ada Lovelace",
        email: "ada@sandbox.example",
        api_key: "sbx_key_ada_3f9c2e71d4b8",
    },
    SandboxAccount {
        id: "acct_grace",
        name: "Grace Hopper",
        email: "grace@sandbox.example",
        api_key: "sbx_key_grace_8a1d6f04c2e9",
    },
    SandboxAccount {
        id: "acct_katherine",
        name: "Katherine Johnson",
        email: "katherine@sandbox.example",
        api_key: "sbx_key_katherine_5b7e0c93a6f1",
    },
];

/// Two contacts per account, seeded at start-up so that a fresh connection
/// has something to list.
const SEED_CONTACTS: [(&str, &str, &str); 6] = [
    ("acct_ada", "Charles Babbage", "charles@engines.example"),
    ("acct_ada", "Mary Somerville", "mary@engines.example"),
    ("acct_grace", "Howard Aiken", "howard@harvard-mark.example"),
    ("acct_grace", "Jean Sammet", "jean@cobol.example"),
    (
        "acct_katherine",
        "Dorothy Vaughan",
        "dorothy@langley.example",
    ),
    ("acct_katherine", "Mary Jackson", "mary@langley.example"),
];

pub(super) fn account_by_id(id: &str) -> Option<&'static SandboxAccount> {
    SANDBOX_ACCOUNTS.iter().find(|account| account.id == id)
}

/// A field a contact has, as `GET /api/fields` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct ContactField {
    pub key: &'static str,
    pub label: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Whether the API takes a value for it (custom fields are read-only).
    pub writable: bool,
}

/// The fields every account's contacts have.
const BUILT_IN_FIELDS: [ContactField; 2] = [
    ContactField {
        key: "name",
        label: "Name",
        kind: "text",
        writable: true,
    },
    ContactField {
        key: "email",
        label: "Email",
        kind: "email",
        writable: true,
    },
];

/// Each account's own custom field, so that two accounts list different fields.
const CUSTOM_FIELDS: [(&str, ContactField); 3] = [
    (
        "acct_ada",
        ContactField {
            key: "engine_serial",
            label: "Engine serial",
            kind: "text",
            writable: false,
        },
    ),
    (
        "acct_grace",
        ContactField {
            key: "compiler",
            label: "Favourite compiler",
            kind: "text",
            writable: false,
        },
    ),
    (
        "acct_katherine",
        ContactField {
            key: "orbit",
            label: "Orbit",
            kind: "text",
            writable: false,
        },
    ),
];

/// The fields of `account_id`'s contacts: the built-in ones, then its custom one.
pub(super) fn contact_fields(account_id: &str) -> Vec<ContactField> {
    let custom = CUSTOM_FIELDS
        .iter()
        .filter(|(owner, _)| *owner == account_id)
        .map(|(_, field)| field.clone());
    BUILT_IN_FIELDS.iter().cloned().chain(custom).collect()
}

/// Counters for tests, as `GET /control/stats` shows them. Holds no token,
/// code or key: stats are for asserting behaviour, never for leaking secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxStats {
    /// Token endpoint requests by `grant_type`: `authorization_code`,
    /// `refresh_token`, `client_credentials`, and `other` for anything else or
    /// nothing. Counted as
    /// they arrive, whatever the outcome.
    pub token_requests: BTreeMap<String, u64>,
    /// Refresh grants that issued new tokens.
    pub refreshes_succeeded: u64,
    /// Authenticated API requests by account id.
    pub api_requests: BTreeMap<String, u64>,
    /// API requests turned away with 401.
    pub api_unauthorized: u64,
    /// Requests answered by a failure mode instead of normally.
    pub failures_injected: u64,
    /// Webhook events the target URL accepted.
    pub webhooks_delivered: u64,
    /// Webhook events given up on: no handshake, or refused three times.
    pub webhooks_failed: u64,
    /// The failure mode in force; `times` is what is left of it.
    pub failure: FailureMode,
}

impl SandboxStats {
    fn zero() -> Self {
        Self {
            token_requests: [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "other",
            ]
            .into_iter()
            .map(|grant| (grant.to_owned(), 0))
            .collect(),
            refreshes_succeeded: 0,
            api_requests: SANDBOX_ACCOUNTS
                .iter()
                .map(|account| (account.id.to_owned(), 0))
                .collect(),
            api_unauthorized: 0,
            failures_injected: 0,
            webhooks_delivered: 0,
            webhooks_failed: 0,
            failure: FailureMode::NONE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct Contact {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
}

/// What an authorization code stands for, checked when it is exchanged.
#[derive(Debug)]
pub(super) struct CodeGrant {
    pub client_id: String,
    /// Exactly as sent to the authorize endpoint: the token request must
    /// repeat the same string.
    pub redirect_uri: String,
    pub account_id: &'static str,
    pub scopes: Vec<String>,
    pub code_challenge: Option<String>,
    pub expires_at: Instant,
}

#[derive(Debug)]
struct AccessGrant {
    account_id: &'static str,
    expires_at: Instant,
}

#[derive(Debug, Clone)]
struct RefreshGrant {
    client_id: String,
    account_id: &'static str,
    scopes: Vec<String>,
}

/// A freshly issued token pair, as the token endpoint returns it.
#[derive(Debug, Serialize)]
pub(super) struct IssuedTokens {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    /// Only for grants that asked for `offline_access`, as with Microsoft,
    /// Google and most OpenID providers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

/// Why a refresh token was refused; both are `invalid_grant` on the wire.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum RefreshError {
    Unknown,
    OtherClient,
}

/// The outcome of looking up an access token.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TokenLookup {
    Valid(&'static str),
    Expired,
    Unknown,
}

#[derive(Debug)]
pub(super) struct State {
    codes: HashMap<String, CodeGrant>,
    access_tokens: HashMap<String, AccessGrant>,
    refresh_tokens: HashMap<String, RefreshGrant>,
    /// Refresh tokens already used, accepted again until the instant given:
    /// the reuse grace some providers (Okta, Auth0) allow so that a client
    /// that lost the answer to a refresh can recover.
    used_refresh_tokens: HashMap<String, (RefreshGrant, Instant)>,
    contacts: HashMap<&'static str, Vec<Contact>>,
    /// Contacts created with an `Idempotency-Key`, by account and key: the
    /// same key creates nothing new, as with Stripe-style APIs.
    idempotent_creates: HashMap<(&'static str, String), Contact>,
    /// Clients whose secret was revoked: their client authentication fails.
    revoked_clients: std::collections::HashSet<String>,
    /// Webhook URLs each account registered through the API, in the order registered.
    subscriptions: HashMap<&'static str, Vec<Subscription>>,
    stats: SandboxStats,
}

/// A webhook URL an account registered (`POST /api/webhooks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct Subscription {
    pub id: String,
    pub url: String,
}

impl State {
    pub fn new() -> Self {
        let mut contacts: HashMap<&'static str, Vec<Contact>> = SANDBOX_ACCOUNTS
            .iter()
            .map(|account| (account.id, Vec::new()))
            .collect();
        for (account_id, name, email) in SEED_CONTACTS {
            contacts.entry(account_id).or_default().push(Contact {
                id: new_contact_id(),
                name: name.to_owned(),
                email: Some(email.to_owned()),
            });
        }
        Self {
            revoked_clients: std::collections::HashSet::new(),
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            used_refresh_tokens: HashMap::new(),
            contacts,
            idempotent_creates: HashMap::new(),
            subscriptions: HashMap::new(),
            stats: SandboxStats::zero(),
        }
    }

    // ---- webhook subscriptions ----

    pub fn subscribe(&mut self, account: &'static str, url: String) -> Subscription {
        let subscription = Subscription {
            id: format!("wh_{}", uuid::Uuid::new_v4().simple()),
            url,
        };
        self.subscriptions
            .entry(account)
            .or_default()
            .push(subscription.clone());
        subscription
    }

    pub fn subscriptions(&self, account: &str) -> Vec<Subscription> {
        self.subscriptions.get(account).cloned().unwrap_or_default()
    }

    /// Whether the account had a subscription by that id.
    pub fn unsubscribe(&mut self, account: &str, id: &str) -> bool {
        let Some(subscriptions) = self.subscriptions.get_mut(account) else {
            return false;
        };
        let before = subscriptions.len();
        subscriptions.retain(|subscription| subscription.id != id);
        subscriptions.len() != before
    }

    // ---- failure modes and counters ----

    pub fn stats(&self) -> SandboxStats {
        self.stats.clone()
    }

    pub fn set_failure(&mut self, mode: FailureMode) {
        self.stats.failure = mode;
    }

    pub fn reset(&mut self) {
        self.stats = SandboxStats::zero();
    }

    /// Decides, atomically, whether this request to `endpoint` fails, and
    /// uses up one of the mode's `times` if it does.
    pub fn take_failure(&mut self, endpoint: Endpoint) -> Option<Injected> {
        let mode = self.stats.failure;
        let injected = mode.applies_to(endpoint)?;
        match mode.times {
            Some(left) if left <= 1 => self.stats.failure = FailureMode::NONE,
            Some(left) => self.stats.failure.times = Some(left - 1),
            None => {}
        }
        self.stats.failures_injected += 1;
        Some(injected)
    }

    pub fn count_token_request(&mut self, grant_type: Option<&str>) {
        let key = match grant_type {
            Some("authorization_code") => "authorization_code",
            Some("refresh_token") => "refresh_token",
            Some("client_credentials") => "client_credentials",
            // Anything else shares one bucket, so a client cannot grow the
            // map with made-up grant types.
            _ => "other",
        };
        *self.stats.token_requests.entry(key.to_owned()).or_default() += 1;
    }

    pub fn revoke_client(&mut self, client_id: &str) {
        self.revoked_clients.insert(client_id.to_owned());
    }

    pub fn is_revoked(&self, client_id: &str) -> bool {
        self.revoked_clients.contains(client_id)
    }

    pub fn count_api_request(&mut self, account_id: &str) {
        *self
            .stats
            .api_requests
            .entry(account_id.to_owned())
            .or_default() += 1;
    }

    pub fn count_api_unauthorized(&mut self) {
        self.stats.api_unauthorized += 1;
    }

    pub fn count_webhook(&mut self, delivered: bool) {
        if delivered {
            self.stats.webhooks_delivered += 1;
        } else {
            self.stats.webhooks_failed += 1;
        }
    }

    // ---- codes and tokens ----

    pub fn insert_code(&mut self, grant: CodeGrant, now: Instant) -> String {
        self.codes.retain(|_, code| code.expires_at > now);
        let code = random_token("sbx_code_");
        self.codes.insert(code.clone(), grant);
        code
    }

    /// Removes the code whatever happens next: a code is good for one
    /// attempt, so a stolen code cannot be tried with several verifiers.
    pub fn take_code(&mut self, code: &str) -> Option<CodeGrant> {
        self.codes.remove(code)
    }

    pub fn issue_tokens(
        &mut self,
        client_id: &str,
        account_id: &'static str,
        scopes: Vec<String>,
        ttl: Duration,
        now: Instant,
    ) -> IssuedTokens {
        self.access_tokens.retain(|_, token| token.expires_at > now);
        let access_token = random_token("sbx_at_");
        let offline = scopes.iter().any(|scope| scope == OFFLINE_ACCESS);
        self.access_tokens.insert(
            access_token.clone(),
            AccessGrant {
                account_id,
                expires_at: now + ttl,
            },
        );
        let scope = scopes.join(" ");
        let refresh_token = offline.then(|| {
            let token = random_token("sbx_rt_");
            self.refresh_tokens.insert(
                token.clone(),
                RefreshGrant {
                    client_id: client_id.to_owned(),
                    account_id,
                    scopes,
                },
            );
            token
        });
        IssuedTokens {
            access_token,
            token_type: "Bearer",
            // Rounded up, so that a sub-second TTL is not announced as 0.
            expires_in: ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0),
            refresh_token,
            scope,
        }
    }

    /// Rotates `refresh_token`: it stops working here, in the same critical
    /// section that issues its successor, so two concurrent refreshes with
    /// one token cannot both succeed. Access tokens issued before stay valid
    /// until they expire, as with real providers.
    pub fn refresh(
        &mut self,
        client_id: &str,
        refresh_token: &str,
        ttl: Duration,
        reuse_grace: Duration,
        now: Instant,
    ) -> Result<IssuedTokens, RefreshError> {
        self.used_refresh_tokens
            .retain(|_, (_, until)| *until > now);
        if let Some((grant, _)) = self.used_refresh_tokens.get(refresh_token) {
            if grant.client_id != client_id {
                return Err(RefreshError::OtherClient);
            }
            let grant = grant.clone();
            self.stats.refreshes_succeeded += 1;
            return Ok(self.issue_tokens(client_id, grant.account_id, grant.scopes, ttl, now));
        }
        let grant = self
            .refresh_tokens
            .get(refresh_token)
            .ok_or(RefreshError::Unknown)?;
        // Another client's token is refused without being consumed, so that
        // one client cannot burn another's token by presenting it.
        if grant.client_id != client_id {
            return Err(RefreshError::OtherClient);
        }
        let grant = self
            .refresh_tokens
            .remove(refresh_token)
            .ok_or(RefreshError::Unknown)?;
        if !reuse_grace.is_zero() {
            self.used_refresh_tokens
                .insert(refresh_token.to_owned(), (grant.clone(), now + reuse_grace));
        }
        self.stats.refreshes_succeeded += 1;
        Ok(self.issue_tokens(client_id, grant.account_id, grant.scopes, ttl, now))
    }

    pub fn lookup_access_token(&self, token: &str, now: Instant) -> TokenLookup {
        match self.access_tokens.get(token) {
            Some(grant) if grant.expires_at > now => TokenLookup::Valid(grant.account_id),
            Some(_) => TokenLookup::Expired,
            None => TokenLookup::Unknown,
        }
    }

    // ---- contacts ----

    pub fn contacts(&self, account_id: &str) -> Vec<Contact> {
        self.contacts.get(account_id).cloned().unwrap_or_default()
    }

    pub fn contact(&self, account_id: &str, id: &str) -> Option<Contact> {
        self.contacts
            .get(account_id)?
            .iter()
            .find(|contact| contact.id == id)
            .cloned()
    }

    /// Creates a contact, or with an idempotency key already used by this
    /// account returns the contact that key created (and `false`).
    pub fn create_contact_once(
        &mut self,
        account_id: &'static str,
        key: Option<String>,
        name: String,
        email: Option<String>,
    ) -> (Contact, bool) {
        let Some(key) = key else {
            return (self.create_contact(account_id, name, email), true);
        };
        if let Some(contact) = self.idempotent_creates.get(&(account_id, key.clone())) {
            return (contact.clone(), false);
        }
        let contact = self.create_contact(account_id, name, email);
        self.idempotent_creates
            .insert((account_id, key), contact.clone());
        (contact, true)
    }

    pub fn create_contact(
        &mut self,
        account_id: &'static str,
        name: String,
        email: Option<String>,
    ) -> Contact {
        let contact = Contact {
            id: new_contact_id(),
            name,
            email,
        };
        self.contacts
            .entry(account_id)
            .or_default()
            .push(contact.clone());
        contact
    }

    /// Applies a patch; `email: Some(None)` clears the email.
    pub fn update_contact(
        &mut self,
        account_id: &str,
        id: &str,
        name: Option<String>,
        email: Option<Option<String>>,
    ) -> Option<Contact> {
        let contact = self
            .contacts
            .get_mut(account_id)?
            .iter_mut()
            .find(|contact| contact.id == id)?;
        if let Some(name) = name {
            contact.name = name;
        }
        if let Some(email) = email {
            contact.email = email;
        }
        Some(contact.clone())
    }

    pub fn delete_contact(&mut self, account_id: &str, id: &str) -> bool {
        let Some(contacts) = self.contacts.get_mut(account_id) else {
            return false;
        };
        let before = contacts.len();
        contacts.retain(|contact| contact.id != id);
        contacts.len() != before
    }
}

/// 256 random bits, URL-safe, after a readable prefix.
fn random_token(prefix: &str) -> String {
    let mut bytes = [0_u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn new_contact_id() -> String {
    format!("ct_{}", uuid::Uuid::new_v4().simple())
}
