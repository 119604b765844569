//! A provider definition: how to authorize against a third-party service and call its API.
//! The same shape comes from the catalogue (`providers/<id>.yaml`) and from a document's inline
//! integration. Field names are camelCase; unknown keys are rejected so a typo is an error, not
//! a silently ignored option.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::action::ActionDefinition;
use crate::inbound::InboundWebhooks;
use crate::request::ProviderRequest;
use crate::typed::{Tagged, deserialize_tagged};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a provider definition (a mapping)"
)]
#[schemars(
    title = "Patchbay provider definition",
    description = "One file of the built-in provider catalogue (`providers/<id>.yaml`). Values \
                   containing `{{ … }}` are templates; providers/README.md lists what they can \
                   read."
)]
pub struct ProviderDefinition {
    /// The catalogue id, equal to the file name without `.yaml` (or, inline, the integration
    /// type).
    #[schemars(pattern(crate::names::SLUG_PATTERN))]
    pub id: String,
    /// Display name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Where catalogue pages list the provider: one or more categories of a closed list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "categories_schema")]
    pub categories: Vec<String>,
    /// The provider's own documentation for this API or its OAuth flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(url, pattern(r"^https://"))]
    pub docs_url: Option<String>,
    /// The brand's colour as `#RRGGBB` in upper-case hex, for catalogue pages and the Connect
    /// Portal. Required of catalogue files; an inline integration has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^#[0-9A-F]{6}$"))]
    pub brand_color: Option<String>,
    /// The integration type Paragon gives the same service (`googleCalendar`, `monday.com`),
    /// where Paragon has it: a configuration document may name the provider by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[a-z][A-Za-z0-9.]*[A-Za-z0-9]$"))]
    pub paragon_type: Option<String>,
    pub auth: ProviderAuth,
    /// Values asked for when an account is connected (a subdomain, a region).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connection_fields: Vec<ConnectionField>,
    pub api: ApiConfig,
    /// How to tell which external account was connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountConfig>,
    /// A cheap request proving API-key or basic credentials work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyConfig>,
    /// Several ways in to the one integration (production or sandbox hosts, OAuth or an API
    /// key). Each type replaces whole keys of this definition for the accounts connected with
    /// it; the first is the default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub account_types: Vec<AccountTypeDefinition>,
    /// Deliveries the provider sends to Patchbay (`POST /webhooks/{projectId}/{integration}`):
    /// how each is verified and which accounts it concerns. The same for every account type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<InboundWebhooks>,
    /// Typed operations on the API, run as one account: AI agents' tools and ActionKit's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionDefinition>,
}

/// One way in to an integration: the keys it gives replace the definition's own, as a whole
/// (an `auth` given here is the complete `auth` of these accounts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountTypeDefinition {
    /// What the `accountType` install option names, and what the account records.
    #[schemars(pattern(crate::names::SLUG_PATTERN))]
    pub id: String,
    /// What the user picks, such as `Production` or `Sandbox`.
    #[schemars(length(min = 1))]
    pub name: String,
    /// A line under the name in the Connect Portal's choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<ProviderAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_fields: Option<Vec<ConnectionField>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyConfig>,
}

/// `categories`: unique ids of [`CATEGORIES`], at least one.
fn categories_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let ids: Vec<&str> = CATEGORIES.iter().map(|category| category.id).collect();
    schemars::json_schema!({
        "type": "array",
        "items": {"enum": ids},
        "minItems": 1,
        "uniqueItems": true,
    })
}

/// A category of the catalogue: `id` is what a provider file lists under `categories`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    pub id: &'static str,
    pub title: &'static str,
}

/// Every category a catalogue provider may be filed under, in the order catalogue pages list
/// them. A closed list, so a catalogue page groups like with like instead of growing a
/// near-duplicate tag per file; `providers/schema.json` is generated with them.
pub const CATEGORIES: &[Category] = &[
    Category {
        id: "crm",
        title: "CRM",
    },
    Category {
        id: "customer-support",
        title: "Customer support",
    },
    Category {
        id: "marketing",
        title: "Marketing",
    },
    Category {
        id: "accounting",
        title: "Accounting",
    },
    Category {
        id: "payments",
        title: "Payments",
    },
    Category {
        id: "hr",
        title: "HR and recruiting",
    },
    Category {
        id: "file-storage",
        title: "File storage",
    },
    Category {
        id: "productivity",
        title: "Productivity",
    },
    Category {
        id: "project-management",
        title: "Project management",
    },
    Category {
        id: "communication",
        title: "Communication",
    },
    Category {
        id: "developer-tools",
        title: "Developer tools",
    },
    Category {
        id: "e-commerce",
        title: "E-commerce",
    },
];

impl ProviderDefinition {
    pub fn auth_type(&self) -> AuthType {
        self.auth.auth_type()
    }

    /// How accounts authorize: the `auth` of each account type (its own, or this definition's),
    /// or this definition's alone when it has no account types.
    pub fn ways_in(&self) -> impl Iterator<Item = &ProviderAuth> {
        let own = (self.account_types.is_empty()).then_some(&self.auth);
        own.into_iter().chain(
            self.account_types
                .iter()
                .map(|account_type| account_type.auth.as_ref().unwrap_or(&self.auth)),
        )
    }

    /// The account type named `id`, or the first (the default) when `id` is `None`.
    pub fn account_type(&self, id: Option<&str>) -> Option<&AccountTypeDefinition> {
        match id {
            None => self.account_types.first(),
            Some(id) => self.account_types.iter().find(|t| t.id == id),
        }
    }

    /// The definition the accounts of `account_type` use: this one with the type's keys in
    /// place of its own, and no account types of its own.
    pub fn of_account_type(&self, account_type: &AccountTypeDefinition) -> ProviderDefinition {
        let auth = (account_type.auth.as_ref()).unwrap_or(&self.auth).clone();
        // `verify` checks API keys and passwords: a way in with tokens has none to check.
        let verify = (account_type.verify.as_ref())
            .or(self.verify.as_ref())
            .filter(|_| !auth.uses_access_tokens())
            .cloned();
        ProviderDefinition {
            auth,
            verify,
            connection_fields: (account_type.connection_fields.as_ref())
                .unwrap_or(&self.connection_fields)
                .clone(),
            api: account_type.api.as_ref().unwrap_or(&self.api).clone(),
            account: account_type
                .account
                .clone()
                .or_else(|| self.account.clone()),
            account_types: Vec::new(),
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    #[serde(rename = "oauth2")]
    OAuth2,
    ApiKey,
    Basic,
    #[serde(rename = "oauth2_client_credentials")]
    OAuth2ClientCredentials,
    JwtBearer,
}

impl AuthType {
    /// Every auth type, in the order documentation lists them.
    pub const ALL: [Self; 5] = [
        Self::OAuth2,
        Self::ApiKey,
        Self::Basic,
        Self::OAuth2ClientCredentials,
        Self::JwtBearer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OAuth2 => "oauth2",
            Self::ApiKey => "api_key",
            Self::Basic => "basic",
            Self::OAuth2ClientCredentials => "oauth2_client_credentials",
            Self::JwtBearer => "jwt_bearer",
        }
    }
}

/// `auth`, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type")]
pub enum ProviderAuth {
    #[serde(rename = "oauth2")]
    OAuth2(OAuth2Auth),
    #[serde(rename = "api_key")]
    ApiKey(ApiKeyAuth),
    #[serde(rename = "basic")]
    Basic(BasicAuth),
    /// The client-credentials grant (RFC 6749 §4.4): the end user types a client id and secret,
    /// Patchbay fetches tokens with them.
    #[serde(rename = "oauth2_client_credentials")]
    OAuth2ClientCredentials(ClientCredentialsAuth),
    /// The JWT bearer grant (RFC 7523): the end user gives a service account's key file,
    /// Patchbay signs assertions with its private key and exchanges them for tokens.
    #[serde(rename = "jwt_bearer")]
    JwtBearer(JwtBearerAuth),
}

impl ProviderAuth {
    /// What the end user types in to connect: the API key or basic-auth
    /// fields, the client id and secret of a client-credentials integration,
    /// the key file (and whom to act as) of a JWT-bearer one; none for OAuth2.
    pub fn credential_fields(&self) -> &[CredentialField] {
        match self {
            Self::OAuth2(_) => &[],
            Self::ApiKey(auth) => &auth.fields,
            Self::Basic(auth) => &auth.fields,
            Self::OAuth2ClientCredentials(auth) => &auth.fields,
            Self::JwtBearer(auth) => auth.fields(),
        }
    }

    pub fn auth_type(&self) -> AuthType {
        match self {
            Self::OAuth2(_) => AuthType::OAuth2,
            Self::ApiKey(_) => AuthType::ApiKey,
            Self::Basic(_) => AuthType::Basic,
            Self::OAuth2ClientCredentials(_) => AuthType::OAuth2ClientCredentials,
            Self::JwtBearer(_) => AuthType::JwtBearer,
        }
    }

    /// Whether accounts hold an access token fetched from a token endpoint
    /// (and renewed there), which upstream requests carry as a bearer token.
    pub fn uses_access_tokens(&self) -> bool {
        matches!(
            self,
            Self::OAuth2(_) | Self::OAuth2ClientCredentials(_) | Self::JwtBearer(_)
        )
    }
}

impl Tagged for ProviderAuth {
    type Kind = AuthType;
    const EXPECTING: &'static str = "an auth object with `type: oauth2 | api_key | basic | \
         oauth2_client_credentials | jwt_bearer`";

    fn variant<'de, D: Deserializer<'de>>(kind: AuthType, rest: D) -> Result<Self, D::Error> {
        Ok(match kind {
            AuthType::OAuth2 => Self::OAuth2(OAuth2Auth::deserialize(rest)?),
            AuthType::ApiKey => Self::ApiKey(ApiKeyAuth::deserialize(rest)?),
            AuthType::Basic => Self::Basic(BasicAuth::deserialize(rest)?),
            AuthType::OAuth2ClientCredentials => {
                Self::OAuth2ClientCredentials(ClientCredentialsAuth::deserialize(rest)?)
            }
            AuthType::JwtBearer => Self::JwtBearer(JwtBearerAuth::deserialize(rest)?),
        })
    }
}

impl<'de> Deserialize<'de> for ProviderAuth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_tagged(deserializer)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuth2Auth {
    pub authorization_url: String,
    pub token_url: String,
    /// Default scopes; a project may replace them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default = "default_scope_separator")]
    pub scope_separator: String,
    #[serde(default)]
    pub pkce: bool,
    #[serde(default)]
    pub client_auth: ClientAuth,
    #[serde(default)]
    pub token_request_format: TokenRequestFormat,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorization_params: BTreeMap<String, String>,
    /// Authorization parameters added (over `authorizationParams`) when the user already has an
    /// account of the integration, such as `prompt: select_account`: a browser still signed in
    /// at the provider would otherwise come back at once with the account already connected.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub add_account_params: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_params: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_headers: BTreeMap<String, String>,
    /// Whether the provider issues refresh tokens; when it does not, an access token is used
    /// until the provider rejects it.
    #[serde(default = "yes")]
    pub refreshes: bool,
    /// Dotted path of the access token in the token response, for providers that nest it
    /// (`authed_user.access_token`); by default `access_token` at the top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_path: Option<String>,
}

impl OAuth2Auth {
    /// How this flow's token requests are made.
    pub fn token_endpoint(&self) -> TokenEndpoint<'_> {
        TokenEndpoint {
            token_url: &self.token_url,
            client_auth: self.client_auth,
            token_request_format: self.token_request_format,
            token_params: &self.token_params,
            token_headers: &self.token_headers,
            token_path: self.token_path.as_deref(),
        }
    }

    /// This flow as it runs when the user already has an account of the integration:
    /// `addAccountParams` added to `authorizationParams`, replacing any of the same name.
    pub fn for_another_account(&self) -> Self {
        let mut auth = self.clone();
        auth.authorization_params.extend(
            self.add_account_params
                .iter()
                .map(|(name, value)| (name.clone(), value.clone())),
        );
        auth
    }
}

/// How a token endpoint is called, whichever grant: the keys `oauth2` and
/// `oauth2_client_credentials` share, so one piece of code makes every token request.
#[derive(Debug, Clone, Copy)]
pub struct TokenEndpoint<'a> {
    pub token_url: &'a str,
    pub client_auth: ClientAuth,
    pub token_request_format: TokenRequestFormat,
    pub token_params: &'a BTreeMap<String, String>,
    pub token_headers: &'a BTreeMap<String, String>,
    pub token_path: Option<&'a str>,
}

/// `auth` of `type: oauth2_client_credentials`: tokens come from `tokenUrl` for a client id and
/// secret the end user types in at install; a new one is fetched the same way when it expires.
/// The token-request keys mean what they mean for `oauth2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientCredentialsAuth {
    /// May be a template over `connection` (`https://{{ connection.domain }}/oauth/token`).
    pub token_url: String,
    /// Scopes asked for with every token request; a project may replace them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default = "default_scope_separator")]
    pub scope_separator: String,
    #[serde(default)]
    pub client_auth: ClientAuth,
    #[serde(default)]
    pub token_request_format: TokenRequestFormat,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_params: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_headers: BTreeMap<String, String>,
    /// Dotted path of the access token in the token response; `access_token` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_path: Option<String>,
    /// What the end user types in: exactly two fields, the client id first and the client
    /// secret second (`clientId` and `clientSecret` by default), reached in templates as
    /// `credentials.<id>`.
    #[serde(default = "default_client_credential_fields")]
    #[schemars(length(min = 2, max = 2))]
    pub fields: Vec<CredentialField>,
}

impl ClientCredentialsAuth {
    /// How this flow's token requests are made.
    pub fn token_endpoint(&self) -> TokenEndpoint<'_> {
        TokenEndpoint {
            token_url: &self.token_url,
            client_auth: self.client_auth,
            token_request_format: self.token_request_format,
            token_params: &self.token_params,
            token_headers: &self.token_headers,
            token_path: self.token_path.as_deref(),
        }
    }

    /// The ids of the client-id and client-secret fields.
    pub fn field_ids(&self) -> (&str, &str) {
        let id = |index: usize, default: &'static str| {
            self.fields
                .get(index)
                .map_or(default, |field| field.id.as_str())
        };
        (id(0, "clientId"), id(1, "clientSecret"))
    }
}

/// `auth` of `type: jwt_bearer` (RFC 7523 §2.1): the end user gives a service account's key
/// file (Google's JSON shape: `client_email`, `private_key`, `private_key_id`, `token_uri`);
/// Patchbay signs an RS256 assertion with its private key (`iss` the client email, `aud` the
/// token URL, an hour at most) and exchanges it at `tokenUrl` for an access token, again
/// whenever the token expires. The token-request keys mean what they mean for `oauth2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JwtBearerAuth {
    /// Where assertions are exchanged, and their audience (`aud`). May be a template over
    /// `connection`. A key file naming another `token_uri` is refused.
    pub token_url: String,
    /// Scopes asked for with every assertion; a project may replace them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default = "default_scope_separator")]
    pub scope_separator: String,
    #[serde(default)]
    pub token_request_format: TokenRequestFormat,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_params: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_headers: BTreeMap<String, String>,
    /// Dotted path of the access token in the token response; `access_token` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_path: Option<String>,
    /// Whether the end user names a user the service account acts as (the assertion's `sub`,
    /// Google's domain-wide delegation).
    #[serde(default)]
    pub subject: SubjectRule,
}

/// `subject` of a `jwt_bearer` auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectRule {
    /// The service account acts as itself.
    #[default]
    None,
    /// The end user may name a user to act as.
    Optional,
    /// The end user must name one.
    Required,
}

impl JwtBearerAuth {
    /// The id of the key-file field.
    pub const KEY_FILE: &'static str = "keyFile";
    /// The id of the field naming the user to act as.
    pub const SUBJECT: &'static str = "subject";
    /// What templates read as `credentials.*`: the key file's public members and the subject.
    /// Never the private key.
    pub const TEMPLATE_CREDENTIALS: &'static [&'static str] = &[
        "client_email",
        "client_id",
        "project_id",
        "private_key_id",
        Self::SUBJECT,
    ];

    /// How this flow's token requests are made. The assertion authenticates the client, so
    /// `clientAuth` plays no part.
    pub fn token_endpoint(&self) -> TokenEndpoint<'_> {
        TokenEndpoint {
            token_url: &self.token_url,
            client_auth: ClientAuth::default(),
            token_request_format: self.token_request_format,
            token_params: &self.token_params,
            token_headers: &self.token_headers,
            token_path: self.token_path.as_deref(),
        }
    }

    /// What the end user gives: the key file, then whom to act as unless `subject` is `none`.
    pub fn fields(&self) -> &'static [CredentialField] {
        static FIELDS: LazyLock<[CredentialField; 2]> = LazyLock::new(|| {
            [
                CredentialField {
                    id: JwtBearerAuth::KEY_FILE.to_owned(),
                    title: "Service account key file (JSON)".to_owned(),
                    secret: true,
                    required: true,
                    description: Some(
                        "The whole JSON key file, with client_email and private_key.".to_owned(),
                    ),
                    placeholder: None,
                },
                CredentialField {
                    id: JwtBearerAuth::SUBJECT.to_owned(),
                    title: "User to act as".to_owned(),
                    secret: false,
                    required: true,
                    description: Some(
                        "The email address of the user the service account acts for.".to_owned(),
                    ),
                    placeholder: None,
                },
            ]
        });
        static OPTIONAL_SUBJECT: LazyLock<[CredentialField; 2]> = LazyLock::new(|| {
            let [key_file, subject] = FIELDS.clone();
            [
                key_file,
                CredentialField {
                    required: false,
                    ..subject
                },
            ]
        });
        match self.subject {
            SubjectRule::None => &FIELDS[..1],
            SubjectRule::Optional => &OPTIONAL_SUBJECT[..],
            SubjectRule::Required => &FIELDS[..],
        }
    }
}

fn default_client_credential_fields() -> Vec<CredentialField> {
    vec![
        CredentialField {
            id: "clientId".to_owned(),
            title: "Client ID".to_owned(),
            secret: false,
            required: true,
            description: None,
            placeholder: None,
        },
        CredentialField {
            id: "clientSecret".to_owned(),
            title: "Client secret".to_owned(),
            secret: true,
            required: true,
            description: None,
            placeholder: None,
        },
    ]
}

fn default_scope_separator() -> String {
    " ".to_owned()
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    #[default]
    ClientSecretPost,
    ClientSecretBasic,
}

/// The body encoding of token requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenRequestFormat {
    #[default]
    Form,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyAuth {
    /// What the end user enters (`apiKey`), reached in templates as `credentials.<id>`.
    pub fields: Vec<CredentialField>,
    pub inject: Inject,
}

/// Where an API key goes: a header or a query parameter (exactly one of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Inject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// A template such as `Bearer {{ credentials.apiKey }}`.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BasicAuth {
    pub fields: Vec<CredentialField>,
    /// Templates over `credentials`; the password may render empty (key-as-username APIs).
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialField {
    #[schemars(pattern(crate::names::IDENTIFIER_PATTERN))]
    pub id: String,
    pub title: String,
    /// Whether the value is shown masked once entered (an API key, unlike an account id).
    #[serde(default)]
    pub secret: bool,
    /// Whether the end user must give a value; an optional one left empty is not sent.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionField {
    #[schemars(pattern(crate::names::IDENTIFIER_PATTERN))]
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// Matched against the whole value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiConfig {
    /// May be a template (`{{ token.instance_url }}`, `https://{{ connection.subdomain }}.x.com`).
    pub base_url: String,
    /// How the access token goes into `Authorization`; `Bearer {{ accessToken }}` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_header_format: Option<String>,
    /// Sent with every API request (an API version header).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountConfig {
    /// Without a request, `id` and `data` read the token response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<ProviderRequest>,
    /// Template of the account's id at the provider (`providerId`).
    pub id: String,
    /// Templates of the display data (`providerData`: name, email, workspace).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Templates of values kept with the credential for later templates (an instance URL).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    /// A choice the user makes once authorized, among what the account's API lists (a site,
    /// a workspace, an organisation). `id`, `data` and `vars` then read the chosen item as
    /// `choice`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choose: Option<AccountChoice>,
}

/// `account.choose`: the items to choose among, and how each is shown and recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountChoice {
    /// What is chosen, as a heading: `Site`, `Workspace`.
    #[schemars(length(min = 1))]
    pub title: String,
    /// An expression (no braces) yielding the list of items, such as `response.body` or
    /// `response.body.workspaces`.
    pub items: String,
    /// Template of an item's stable value, with the item as `item`: `{{ item.id }}`.
    pub value: String,
    /// Template of an item's label, with the item as `item`: `{{ item.name }}`.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyConfig {
    pub request: ProviderRequest,
}
