//! Patchbay's configuration as code: the project's configuration document (docs/configuration.md) with its
//! workflows (docs/api.md), and the built-in provider catalogue. Both are parsed and validated as a
//! whole, every error reported with the path of the value at fault.
//!
//! Pure code: the only input beyond the text given is the catalogue, embedded at compile time.

mod action;
mod catalogue;
mod document;
mod errors;
mod http;
mod inbound;
mod integration;
mod masked;
mod names;
mod portal;
mod provider;
mod provider_check;
mod request;
mod schema;
mod settings;
mod source;
pub mod template;
mod typed;
mod urls;
mod workflow;
mod workflow_check;

pub use action::ActionDefinition;
pub use catalogue::{Catalogue, CatalogueError, catalogue, parse_provider};
pub use document::{ProjectConfig, ProjectSettings, load, load_with};
pub use errors::{ConfigError, ConfigErrors};
pub use http::HttpMethod;
pub use inbound::{
    AccountField, DELIVERY_ROOTS, HmacAlgorithm, HmacSignature, InboundWebhooks, SignatureEncoding,
    SignatureTimestamp, TokenSignature, WebhookAccount, WebhookHandshake, WebhookSignature,
    WebhookSubscribe, WebhookUnsubscribe,
};
pub use integration::{DocumentSecret, IntegrationConfig, MASK, ProviderSource};
pub use masked::masked;
pub use portal::{
    IntegrationPortal, MetaCondition, ProjectPortal, WorkflowPortal, markdown_to_html,
};
pub use provider::{
    AccountChoice, AccountConfig, AccountTypeDefinition, ApiConfig, ApiKeyAuth, AuthType,
    BasicAuth, CATEGORIES, Category, ClientAuth, ClientCredentialsAuth, ConnectionField,
    CredentialField, Inject, JwtBearerAuth, OAuth2Auth, ProviderAuth, ProviderDefinition,
    SubjectRule, TokenEndpoint, TokenRequestFormat, VerifyConfig,
};
pub use request::ProviderRequest;
pub use schema::{json_schema, provider_json_schema};
pub use settings::{
    DEPENDENT, DependentField, MappedField, OptionsSource, SettingType, UserSetting, json_kind,
};
pub use workflow::{
    AppEventTrigger, ConditionStep, ForeachStep, FunctionStep, HttpStep, IntegrationTrigger,
    RequestStep, ResponseStep, ScheduleTrigger, Step, StepType, Trigger, TriggerType,
    WorkflowConfig,
};
