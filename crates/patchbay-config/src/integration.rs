//! One integration of a document: `provider:` plus the project's overrides, or an inline
//! provider definition; resolved either way to a full [`ProviderDefinition`].

use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use serde_norway::{Mapping, Value as Tree};

use crate::action::ActionDefinition;
use crate::catalogue::Catalogue;
use crate::errors::{ConfigErrors, Report, field};
use crate::inbound::InboundWebhooks;
use crate::names::{INTEGRATION_TYPE_RULE, is_integration_type};
use crate::portal::{IntegrationPortal, check_integration_portal};
use crate::provider::{
    AccountConfig, AccountTypeDefinition, ApiConfig, AuthType, ConnectionField, ProviderAuth,
    ProviderDefinition, VerifyConfig,
};
use crate::provider_check::{Origin, check_provider, check_scopes};
use crate::settings::{UserSetting, check_schema, check_values};
use crate::source::{describe, key_text};
use crate::typed::{TAG, typed};
use crate::workflow::WorkflowConfig;

/// What a secret reads as in a masked document, and the value that keeps a stored secret.
pub const MASK: &str = "********";

/// One integration enabled in the project, its provider resolved.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationConfig {
    /// The type slug (`slack`, `acme`).
    pub type_name: String,
    pub name: String,
    /// The catalogue entry with the project's overrides applied, or the inline definition.
    pub provider: ProviderDefinition,
    /// Where `provider` came from, so the document can be written back as it was given.
    pub source: ProviderSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Never serialized: the server stores it encrypted, apart from this record.
    #[serde(skip)]
    pub client_secret: DocumentSecret,
    /// The secret the provider's webhooks are verified with; stored like the client secret.
    #[serde(skip)]
    pub webhook_secret: DocumentSecret,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_settings: Vec<UserSetting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// How the Connect Portal presents the integration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<IntegrationPortal>,
}

impl IntegrationConfig {
    /// Checks one account's complete `sharedSettings` against `userSettings`: unknown keys,
    /// types, required values, select options, patterns. Paths are `sharedSettings.<id>`.
    pub fn validate_shared_settings(&self, value: &Map<String, Value>) -> Result<(), ConfigErrors> {
        check_values(&self.user_settings, value, "sharedSettings")
    }
}

/// Where an integration's provider definition came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ProviderSource {
    /// `provider: <id>`, with what the document changed.
    #[serde(rename_all = "camelCase")]
    Catalogue {
        provider: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scopes: Option<Vec<String>>,
    },
    /// Defined in the document.
    Inline,
}

/// A secret as the document gave it: an OAuth client secret, a webhook secret.
#[derive(Clone, Default)]
pub enum DocumentSecret {
    /// None given.
    #[default]
    None,
    /// The document carried the mask `********` (it was read back from `GET /config`):
    /// keep the secret already stored.
    Keep,
    Set(SecretString),
}

impl DocumentSecret {
    fn from_document(value: Option<String>) -> Self {
        match value {
            None => Self::None,
            Some(value) if value == MASK => Self::Keep,
            Some(value) => Self::Set(SecretString::from(value)),
        }
    }

    /// Whether there is a secret, new or kept.
    pub fn is_present(&self) -> bool {
        !matches!(self, Self::None)
    }
}

impl fmt::Debug for DocumentSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Keep => f.write_str("Keep"),
            Self::Set(_) => f.write_str("Set([REDACTED])"),
        }
    }
}

/// Returns the valid integrations and the type of every integration the document declares,
/// valid or not (a workflow naming an invalid one is not also "unknown").
pub(crate) fn load_integrations(
    tree: &Tree,
    catalogue: &Catalogue,
    report: &mut Report,
) -> (Vec<IntegrationConfig>, Vec<String>) {
    let mut integrations = Vec::new();
    let mut declared = Vec::new();
    let mapping = match tree {
        Tree::Null => return (integrations, declared),
        Tree::Mapping(mapping) => mapping,
        other => {
            report.error(
                "integrations",
                format!(
                    "expected a mapping from integration type to integration, found {}",
                    describe(other)
                ),
            );
            return (integrations, declared);
        }
    };
    for (key, value) in mapping {
        let type_name = key_text(key);
        let path = field("integrations", &type_name);
        if !matches!(key, Tree::String(_)) || !is_integration_type(&type_name) {
            report.error(
                &path,
                format!(
                    "`{type_name}` is not a valid integration type: it {INTEGRATION_TYPE_RULE}"
                ),
            );
        }
        declared.push(type_name.clone());
        if let Some(integration) = load_integration(&type_name, value, &path, catalogue, report) {
            integrations.push(integration);
        }
    }
    (integrations, declared)
}

/// An integration as written: `provider:` and overrides, or an inline definition.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(
    rename = "Integration",
    description = "An integration: `provider` (a catalogue provider) with the project's OAuth \
                   client, or an inline definition with `name`, `auth` and `api`.",
    transform = catalogue_or_inline
)]
pub(crate) struct IntegrationDocument {
    /// A provider of the built-in catalogue (`providers/<id>.yaml` without `.yaml`).
    #[serde(default)]
    provider: Option<String>,
    /// Display name: required inline; for a catalogue provider it replaces the provider's.
    #[serde(default)]
    name: Option<String>,
    /// The project's OAuth client id (`oauth2` only, and then required).
    #[serde(default)]
    client_id: Option<String>,
    /// The project's OAuth client secret (`oauth2` only, and then required); `********` keeps
    /// the one stored.
    #[serde(default)]
    client_secret: Option<String>,
    /// `oauth2`, `oauth2_client_credentials` and `jwt_bearer` only: replaces the provider's
    /// default scopes.
    #[serde(default)]
    scopes: Option<Vec<String>>,
    /// Inline only: how end users authorize, by `type`.
    #[serde(default)]
    #[schemars(schema_with = "auth_with_client")]
    auth: Option<ProviderAuth>,
    /// Inline only: the API's base URL and headers.
    #[serde(default)]
    api: Option<ApiConfig>,
    /// Inline only: how to tell which external account was connected.
    #[serde(default)]
    account: Option<AccountConfig>,
    /// Inline only (`api_key`, `basic`): a request that succeeds only with valid credentials.
    #[serde(default)]
    verify: Option<VerifyConfig>,
    /// Inline only: non-secret values asked for when an account connects.
    #[serde(default)]
    connection_fields: Option<Vec<ConnectionField>>,
    /// Inline only: several ways in (production or sandbox hosts, OAuth or an API key).
    #[serde(default)]
    account_types: Option<Vec<AccountTypeDefinition>>,
    /// Inline only: the deliveries the provider sends, how they are verified and routed.
    #[serde(default)]
    webhooks: Option<InboundWebhooks>,
    /// Inline only: typed operations on the API, for AI agents and ActionKit.
    #[serde(default)]
    actions: Option<Vec<ActionDefinition>>,
    /// The secret the provider signs its webhooks with (Slack's signing secret, a GitHub
    /// webhook's secret); `********` keeps the one stored.
    #[serde(default)]
    webhook_secret: Option<String>,
    /// The settings each connected account carries.
    #[serde(default)]
    user_settings: Vec<UserSetting>,
    /// Shown by the SDK's `getIntegrationMetadata` and the Connect Portal.
    #[serde(default)]
    description: Option<String>,
    /// An icon URL, passed through to the SDK.
    #[serde(default)]
    icon: Option<String>,
    /// How the Connect Portal presents the integration: accent colour, overview, workflow
    /// order.
    #[serde(default)]
    portal: Option<IntegrationPortal>,
}

pub(crate) const CLIENT_KEYS: [&str; 2] = ["clientId", "clientSecret"];

/// The keys of an inline definition, refused next to `provider`.
pub(crate) const INLINE_ONLY_KEYS: [&str; 8] = [
    "auth",
    "api",
    "account",
    "verify",
    "connectionFields",
    "accountTypes",
    "webhooks",
    "actions",
];

fn load_integration(
    type_name: &str,
    tree: &Tree,
    path: &str,
    catalogue: &Catalogue,
    report: &mut Report,
) -> Option<IntegrationConfig> {
    let Tree::Mapping(mapping) = tree else {
        report.error(
            path,
            format!(
                "expected an integration (a mapping), found {}",
                describe(tree)
            ),
        );
        return None;
    };
    let mapping = hoist_client_keys(mapping, path, report)?;
    let document = typed::<IntegrationDocument>(&Tree::Mapping(mapping), path, report)?;
    let errors_before = report.len();

    if let Some(name) = &document.name
        && name.trim().is_empty()
    {
        report.error(field(path, "name"), "must not be empty");
    }
    check_schema(
        &document.user_settings,
        &field(path, "userSettings"),
        report,
    );
    if let Some(portal) = &document.portal {
        check_integration_portal(portal, &field(path, "portal"), report);
    }
    let provider_name = document
        .provider
        .as_deref()
        .or_else(|| implied_provider(type_name, &document, catalogue));
    let resolved = match provider_name {
        Some(name) => from_catalogue(name, &document, path, catalogue, report),
        None => inline(type_name, &document, path, report),
    };
    let (provider, source) = resolved?;

    if provider
        .ways_in()
        .any(|auth| auth.auth_type() == AuthType::OAuth2)
    {
        for (key, what, value) in [
            ("clientId", "client id", &document.client_id),
            ("clientSecret", "client secret", &document.client_secret),
        ] {
            match value {
                None => report.error(
                    field(path, key),
                    format!("missing field `{key}`: an oauth2 integration needs the {what} of its OAuth app"),
                ),
                Some(value) if value.trim().is_empty() => report.error(field(path, key), "must not be empty"),
                Some(_) => {}
            }
        }
    } else {
        for (key, value) in [
            ("clientId", &document.client_id),
            ("clientSecret", &document.client_secret),
        ] {
            if value.is_some() {
                report.error(
                    field(path, key),
                    format!(
                        "only oauth2 integrations have an OAuth client (each end user gives \
                         the client of an oauth2_client_credentials one, the key file of a \
                         jwt_bearer one); this one is {}",
                        provider.auth_type().as_str()
                    ),
                );
            }
        }
    }

    if let Some(secret) = &document.webhook_secret {
        let at = field(path, "webhookSecret");
        if provider.webhooks.is_none() {
            report.error(
                at,
                "this integration's provider declares no `webhooks` to verify with it",
            );
        } else if secret.trim().is_empty() {
            report.error(at, "must not be empty");
        }
    }

    if report.len() != errors_before {
        return None;
    }
    Some(IntegrationConfig {
        type_name: type_name.to_owned(),
        name: document
            .name
            .clone()
            .unwrap_or_else(|| provider.name.clone()),
        provider,
        source,
        client_id: document.client_id,
        client_secret: DocumentSecret::from_document(document.client_secret),
        webhook_secret: DocumentSecret::from_document(document.webhook_secret),
        user_settings: document.user_settings,
        description: document.description,
        icon: document.icon,
        portal: document.portal,
    })
}

/// docs/configuration.md writes an inline integration's `clientId` and `clientSecret` inside `auth`; a
/// catalogue integration has them at its top level. Both are accepted: this moves the former
/// to the latter, so the provider definition itself never holds client credentials.
fn hoist_client_keys(mapping: &Mapping, path: &str, report: &mut Report) -> Option<Mapping> {
    let mut mapping = mapping.clone();
    let Some(Tree::Mapping(auth)) = mapping.get_mut("auth") else {
        return Some(mapping);
    };
    let mut hoisted = Vec::new();
    let mut ok = true;
    for key in CLIENT_KEYS {
        let Some(value) = auth.remove(key) else {
            continue;
        };
        let at = field(&field(path, "auth"), key);
        if !matches!(value, Tree::String(_)) {
            report.error(
                &at,
                format!("expected a string, found {}", describe(&value)),
            );
            ok = false;
        } else {
            hoisted.push((key, value, at));
        }
    }
    for (key, value, at) in hoisted {
        if mapping.contains_key(key) {
            report.error(
                at,
                format!("given twice: here and at `{}`", field(path, key)),
            );
            ok = false;
        } else {
            mapping.insert(Tree::String(key.to_owned()), value);
        }
    }
    ok.then_some(mapping)
}

impl IntegrationDocument {
    /// The [`INLINE_ONLY_KEYS`] the document gives.
    fn inline_keys_given(&self) -> impl Iterator<Item = &'static str> {
        let given = [
            self.auth.is_some(),
            self.api.is_some(),
            self.account.is_some(),
            self.verify.is_some(),
            self.connection_fields.is_some(),
            self.account_types.is_some(),
            self.webhooks.is_some(),
            self.actions.is_some(),
        ];
        INLINE_ONLY_KEYS
            .into_iter()
            .zip(given)
            .filter_map(|(key, given)| given.then_some(key))
    }
}

/// An integration named after a catalogue provider (`slack`, or Paragon's `googleCalendar`)
/// that defines nothing of its own uses that provider, as if `provider` named it: a document
/// written with Paragon's integration types needs no `provider` line.
fn implied_provider<'a>(
    type_name: &'a str,
    document: &IntegrationDocument,
    catalogue: &Catalogue,
) -> Option<&'a str> {
    let defines_own = document.inline_keys_given().next().is_some();
    (!defines_own && catalogue.find(type_name).is_some()).then_some(type_name)
}

fn from_catalogue(
    provider_id: &str,
    document: &IntegrationDocument,
    path: &str,
    catalogue: &Catalogue,
    report: &mut Report,
) -> Option<(ProviderDefinition, ProviderSource)> {
    for key in document.inline_keys_given() {
        report.error(
            field(path, key),
            format!(
                "`{key}` comes from the catalogue provider `{provider_id}`; remove it, or \
                 remove `provider` to define the integration inline"
            ),
        );
    }
    let Some(definition) = catalogue.find(provider_id) else {
        let hint = closest(provider_id, catalogue.names())
            .map(|id| format!("; did you mean `{id}`?"))
            .unwrap_or_default();
        report.error(
            field(path, "provider"),
            format!("unknown provider `{provider_id}`{hint}"),
        );
        return None;
    };
    let mut provider = definition.clone();
    apply_scopes(&mut provider, document.scopes.as_deref(), path, report);
    Some((
        provider,
        ProviderSource::Catalogue {
            // The provider's own id, also when the document named it by its Paragon type.
            provider: definition.id.clone(),
            name: document.name.clone(),
            scopes: document.scopes.clone(),
        },
    ))
}

fn inline(
    type_name: &str,
    document: &IntegrationDocument,
    path: &str,
    report: &mut Report,
) -> Option<(ProviderDefinition, ProviderSource)> {
    for (key, given, why) in [
        (
            "name",
            document.name.is_some(),
            "an inline integration needs a display name",
        ),
        (
            "auth",
            document.auth.is_some(),
            "an inline integration needs `auth` (or use `provider`)",
        ),
        (
            "api",
            document.api.is_some(),
            "an inline integration needs `api` with its `baseUrl`",
        ),
    ] {
        if !given {
            report.error(field(path, key), format!("missing field `{key}`: {why}"));
        }
    }
    let (Some(name), Some(auth), Some(api)) = (&document.name, &document.auth, &document.api)
    else {
        return None;
    };
    let mut provider = ProviderDefinition {
        id: type_name.to_owned(),
        name: name.clone(),
        categories: Vec::new(),
        docs_url: None,
        brand_color: None,
        paragon_type: None,
        auth: auth.clone(),
        connection_fields: document.connection_fields.clone().unwrap_or_default(),
        api: api.clone(),
        account: document.account.clone(),
        verify: document.verify.clone(),
        account_types: document.account_types.clone().unwrap_or_default(),
        webhooks: document.webhooks.clone(),
        actions: document.actions.clone().unwrap_or_default(),
    };
    apply_scopes(&mut provider, document.scopes.as_deref(), path, report);
    check_provider(&provider, path, Origin::Inline, report);
    Some((provider, ProviderSource::Inline))
}

/// Replaces the default scopes of every way in that has scopes: the definition's own `auth`
/// and each account type's.
fn apply_scopes(
    provider: &mut ProviderDefinition,
    scopes: Option<&[String]>,
    path: &str,
    report: &mut Report,
) {
    let Some(scopes) = scopes else { return };
    let at = field(path, "scopes");
    let own = provider
        .account_types
        .iter_mut()
        .filter_map(|account_type| account_type.auth.as_mut());
    let mut given_to = 0;
    for auth in std::iter::once(&mut provider.auth).chain(own) {
        let scoped = match auth {
            ProviderAuth::OAuth2(oauth2) => &mut oauth2.scopes,
            ProviderAuth::OAuth2ClientCredentials(auth) => &mut auth.scopes,
            ProviderAuth::JwtBearer(auth) => &mut auth.scopes,
            ProviderAuth::ApiKey(_) | ProviderAuth::Basic(_) => continue,
        };
        *scoped = scopes.to_vec();
        given_to += 1;
    }
    if given_to == 0 {
        report.error(
            at,
            format!(
                "only oauth2, oauth2_client_credentials and jwt_bearer integrations have scopes; \
                 this one is {}",
                provider.auth_type().as_str()
            ),
        );
    } else {
        check_scopes(scopes, &at, report);
    }
}

/// The candidate nearest to `wanted` by edit distance, when it is near enough to be a typo.
fn closest<'c>(wanted: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .map(|candidate| (edit_distance(wanted, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2.max(wanted.len() / 4))
        .min()
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(current)
            };
            previous = current;
        }
    }
    row[b.len()]
}

// The JSON Schema of an integration: what derivation alone cannot say.

/// `auth` of an inline integration: the provider's `auth`, where an `oauth2` one may also hold
/// the project's `clientId` and `clientSecret` (the parser moves them next to `auth`).
pub(crate) fn auth_with_client(generator: &mut SchemaGenerator) -> Schema {
    let mut auth = ProviderAuth::json_schema(generator);
    let oauth2 = auth
        .get_mut("oneOf")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .find(|variant| variant["properties"][TAG]["const"] == AuthType::OAuth2.as_str());
    if let Some(Value::Object(properties)) =
        oauth2.and_then(|variant| variant.get_mut("properties"))
    {
        for key in CLIENT_KEYS {
            properties.insert(
                key.to_owned(),
                json!({
                    "type": "string",
                    "description": "May be written here or next to `auth`, not both.",
                }),
            );
        }
    }
    json_schema!({"anyOf": [auth, {"type": "null"}]})
}

/// An integration names a catalogue `provider` and has none of the inline keys, or has no
/// `provider` and either the keys an inline definition needs or none of the inline keys.
pub(crate) fn catalogue_or_inline(schema: &mut Schema) {
    let refused: Map<String, Value> = INLINE_ONLY_KEYS
        .iter()
        .map(|key| ((*key).to_owned(), Value::Bool(false)))
        .collect();
    schema.insert(
        "if".to_owned(),
        json!({"properties": {"provider": {"type": "string"}}, "required": ["provider"]}),
    );
    schema.insert("then".to_owned(), json!({"properties": &refused}));
    // Without `provider`: an inline definition, or nothing of one, when the type itself names a
    // catalogue provider (`googleCalendar:`); only the parser knows the catalogue's names.
    schema.insert(
        "else".to_owned(),
        json!({"anyOf": [
            {"required": ["name", "auth", "api"]},
            {"properties": refused},
        ]}),
    );
}

impl IntegrationConfig {
    /// `workflows` (this integration's, in document order) in the order the portal lists
    /// them: those named by `portal.workflowOrder` first, in its order, then the others.
    pub fn workflow_display_order<'w>(
        &self,
        workflows: impl IntoIterator<Item = &'w WorkflowConfig>,
    ) -> Vec<&'w WorkflowConfig> {
        let mut rest: Vec<&WorkflowConfig> = workflows.into_iter().collect();
        let order = self
            .portal
            .as_ref()
            .map_or(&[][..], |portal| portal.workflow_order.as_slice());
        let mut ordered = Vec::with_capacity(rest.len());
        for id in order {
            if let Some(at) = rest.iter().position(|workflow| &workflow.id == id) {
                ordered.push(rest.remove(at));
            }
        }
        ordered.extend(rest);
        ordered
    }

    /// This integration's accent colour, else the project's.
    pub fn accent_color<'c>(&'c self, project: &'c crate::ProjectSettings) -> Option<&'c str> {
        self.portal
            .as_ref()
            .and_then(|portal| portal.accent_color.as_deref())
            .or_else(|| {
                project
                    .portal
                    .as_ref()
                    .and_then(|portal| portal.accent_color.as_deref())
            })
    }

    /// The overview as sanitised HTML ([`crate::markdown_to_html`]).
    pub fn overview_html(&self) -> Option<String> {
        self.portal
            .as_ref()
            .and_then(|portal| portal.overview.as_deref())
            .map(crate::portal::markdown_to_html)
    }
}
