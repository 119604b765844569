//! Rendering the templates of a provider definition (`"{{ token.instance_url }}"`), with the
//! rules of providers/README.md: minijinja syntax, and a missing or `null` value renders as
//! an empty string, never as `none` or an error, so `{{ a or b }}` and optional fields work.

use std::fmt;
use std::sync::{LazyLock, RwLock};

use minijinja::Environment;
use patchbay_config::template;
use serde_json::{Map, Value};

/// The values the templates of a provider definition read, by the root they appear under.
/// `response.*` (the account request's answer) and `accessToken` are added where they apply.
#[derive(Clone, Default, PartialEq)]
pub struct TemplateContext {
    /// `connection.<id>`: the `connectionFields` the user entered (a subdomain, a shop).
    pub connection: Map<String, Value>,
    /// `token.<field>`: the non-secret fields of the token response ([`TokenSet::public_fields`]).
    ///
    /// [`TokenSet::public_fields`]: crate::TokenSet::public_fields
    pub token: Map<String, Value>,
    /// `callback.<param>`: query parameters of the OAuth callback besides `code` and `state`.
    pub callback: Map<String, Value>,
    /// `vars.<name>`: what `account.vars` captured.
    pub vars: Map<String, Value>,
    /// `credentials.<id>`: what the user typed in for an API key or basic provider. Secret:
    /// never logged, left out of `Debug`.
    pub credentials: Map<String, Value>,
}

impl fmt::Debug for TemplateContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemplateContext")
            .field("connection", &self.connection)
            .field("token", &self.token)
            .field("callback", &self.callback)
            .field("vars", &self.vars)
            .field("credentials", &Redacted(&self.credentials))
            .finish()
    }
}

/// Shows which credentials are present, never their values.
struct Redacted<'a>(&'a Map<String, Value>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|key| (key, "[REDACTED]")))
            .finish()
    }
}

impl TemplateContext {
    /// The context as the object templates see: `{connection, token, callback, vars,
    /// credentials}`.
    pub fn to_value(&self) -> Value {
        let mut root = Map::new();
        root.insert("connection".into(), Value::Object(self.connection.clone()));
        root.insert("token".into(), Value::Object(self.token.clone()));
        root.insert("callback".into(), Value::Object(self.callback.clone()));
        root.insert("vars".into(), Value::Object(self.vars.clone()));
        root.insert(
            "credentials".into(),
            Value::Object(self.credentials.clone()),
        );
        Value::Object(root)
    }

    /// Renders one template of the definition over this context.
    pub fn render(&self, template: &str) -> Result<String, TemplateError> {
        // Most base URLs are plain text: no need to build the variables.
        if !template::is_template(template) {
            return Ok(template.to_owned());
        }
        render(template, &self.to_value())
    }
}

/// A template that failed to compile or render. The message comes from minijinja and names
/// the problem, never the values the template was rendered with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template `{template}`: {message}")]
pub struct TemplateError {
    /// The template's source, from the provider definition (which holds no secrets).
    pub template: String,
    pub message: String,
}

/// One environment for every render. Templates come from provider definitions: few, short,
/// and rendered on every proxied request, so each is compiled on first use and kept, named by
/// its own source, until [`MAX_COMPILED`] are held, when the set starts over.
static ENVIRONMENT: LazyLock<RwLock<Environment<'static>>> =
    LazyLock::new(|| RwLock::new(template::environment()));

/// Compiled templates kept at most: far more than any set of provider definitions has.
const MAX_COMPILED: usize = 10_000;

/// Renders `template` with `ctx` as its variables (an object: `{"token": {...}, ...}`).
/// Missing and `null` values render as `""`. Text without template syntax comes back as is.
pub fn render(template: &str, ctx: &Value) -> Result<String, TemplateError> {
    if !template::is_template(template) {
        return Ok(template.to_owned());
    }
    let failed = |error: minijinja::Error| TemplateError {
        template: template.to_owned(),
        message: error
            .detail()
            .map_or_else(|| error.kind().to_string(), str::to_owned),
    };
    let values = template::to_value(ctx);
    {
        let env = ENVIRONMENT.read().unwrap_or_else(|p| p.into_inner());
        if let Ok(compiled) = env.get_template(template) {
            return compiled.render(values).map_err(failed);
        }
    }
    let mut env = ENVIRONMENT.write().unwrap_or_else(|p| p.into_inner());
    if env.templates().count() >= MAX_COMPILED {
        env.clear_templates();
    }
    env.add_template_owned(template.to_owned(), template.to_owned())
        .map_err(failed)?;
    let compiled = env.get_template(template).map_err(failed)?;
    compiled.render(values).map_err(failed)
}

/// Evaluates a bare expression (`response.body.sites`) with `ctx` as its variables, to a JSON
/// value. Only the account step's `choose.items` is one, evaluated once per connection, so it
/// is compiled each time.
pub fn evaluate(expression: &str, ctx: &Value) -> Result<Value, TemplateError> {
    let failed = |error: minijinja::Error| TemplateError {
        template: expression.to_owned(),
        message: error
            .detail()
            .map_or_else(|| error.kind().to_string(), str::to_owned),
    };
    let env = template::environment();
    let compiled = env.compile_expression(expression).map_err(failed)?;
    let value = compiled.eval(template::to_value(ctx)).map_err(failed)?;
    serde_json::to_value(&value).map_err(|error| TemplateError {
        template: expression.to_owned(),
        message: error.to_string(),
    })
}
