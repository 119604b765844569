//! Step fields are minijinja templates over the run context (`trigger`,
//! `steps.<id>.output`, `user`, `credential`, `configuration`, `settings`, and `item`/`index`
//! inside a foreach). A value that is one `{{ expression }}` and nothing else
//! keeps the expression's type, so `"{{ steps.list.output.body }}"` passes an
//! array on instead of its text.

use minijinja::Environment;
use patchbay_config::template::{self, is_template};
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
#[error("{what} `{source_text}`: {detail}")]
pub struct TemplateError {
    what: &'static str,
    source_text: String,
    detail: String,
}

impl TemplateError {
    fn new(what: &'static str, source: &str, error: &minijinja::Error) -> Self {
        let mut source_text: String = source.chars().take(120).collect();
        if source_text.len() < source.len() {
            source_text.push('…');
        }
        Self {
            what,
            source_text,
            detail: error
                .detail()
                .map_or_else(|| error.to_string(), str::to_owned),
        }
    }
}

/// A template environment; cheap to share between runs.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self {
            env: template::environment(),
        }
    }
}

/// The expression of a value that is exactly one `{{ ... }}`.
fn sole_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner)
}

impl Templates {
    /// Renders a string field that must stay a string (a path, a URL, a
    /// header value).
    pub fn render_text(&self, text: &str, context: &Value) -> Result<String, TemplateError> {
        if !is_template(text) {
            return Ok(text.to_owned());
        }
        self.env
            .render_str(text, template::to_value(context))
            .map_err(|err| TemplateError::new("template", text, &err))
    }

    /// Renders every string inside a JSON value (a body); keys stay literal.
    pub fn render_json(&self, value: &Value, context: &Value) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::String(text) => match sole_expression(text) {
                Some(expression) => self.evaluate(expression, context)?,
                None => Value::String(self.render_text(text, context)?),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.render_json(item, context))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, item)| Ok((key.clone(), self.render_json(item, context)?)))
                    .collect::<Result<Map<_, _>, _>>()?,
            ),
            other => other.clone(),
        })
    }

    /// Evaluates a bare expression (`steps.find.output.body.total > 0`).
    pub fn evaluate(&self, expression: &str, context: &Value) -> Result<Value, TemplateError> {
        let compiled = self
            .env
            .compile_expression(expression)
            .map_err(|err| TemplateError::new("expression", expression, &err))?;
        let value = compiled
            .eval(template::to_value(context))
            .map_err(|err| TemplateError::new("expression", expression, &err))?;
        if value.is_undefined() {
            return Ok(Value::Null);
        }
        serde_json::to_value(&value).map_err(|err| TemplateError {
            what: "expression",
            source_text: expression.to_owned(),
            detail: err.to_string(),
        })
    }

    /// Evaluates a condition with Jinja's truthiness.
    pub fn is_true(&self, expression: &str, context: &Value) -> Result<bool, TemplateError> {
        let compiled = self
            .env
            .compile_expression(expression)
            .map_err(|err| TemplateError::new("expression", expression, &err))?;
        compiled
            .eval(template::to_value(context))
            .map(|value| value.is_true())
            .map_err(|err| TemplateError::new("expression", expression, &err))
    }
}
