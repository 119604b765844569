//! `function` steps: JavaScript in QuickJS (through rquickjs), on a blocking
//! thread of its own, with a memory ceiling enforced by the engine's
//! allocator and a deadline enforced by its interrupt handler. The context
//! has the language's intrinsics only: no filesystem, network, timers or
//! modules exist in it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rquickjs::{CatchResultExt as _, CaughtError, Context, Runtime};
use serde_json::Value;

/// How much one function may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionLimits {
    pub memory_bytes: usize,
    pub timeout: Duration,
}

impl Default for FunctionLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 * 1024 * 1024,
            timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunctionError {
    #[error("the function ran longer than its limit of {0} ms and was stopped")]
    Timeout(u128),
    #[error("the function used more than its memory limit of {0} MiB and was stopped")]
    OutOfMemory(usize),
    #[error("the function threw: {0}")]
    Threw(String),
    #[error("the function's result cannot be turned into JSON: {0}")]
    NotJson(String),
    #[error("the JavaScript engine failed: {0}")]
    Engine(String),
}

/// Room for the engine's own structures on top of the script's allowance.
const STACK_BYTES: usize = 512 * 1024;

/// Runs `code` as the body of a function whose scope holds every key of
/// `context` (`trigger`, `steps`, `user`, `credential`, `configuration`, `settings`, ...) and
/// `context` itself; its return value, as JSON, is the step's output.
pub async fn run_function(
    code: &str,
    context: &Value,
    limits: FunctionLimits,
) -> Result<Value, FunctionError> {
    let source = wrap(code, context);
    let input = context.to_string();
    // Dropping this future (the run was cut off) stops the script too,
    // instead of leaving its thread busy until the deadline.
    let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
    let cancelled = Arc::clone(&cancel.0);
    tokio::task::spawn_blocking(move || run_blocking(&source, &input, limits, &cancelled))
        .await
        .map_err(|err| FunctionError::Engine(err.to_string()))?
}

struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The code inside a function, its context's keys as local constants.
fn wrap(code: &str, context: &Value) -> String {
    let names: Vec<&str> = context
        .as_object()
        .map(|entries| {
            entries
                .keys()
                .map(String::as_str)
                .filter(|name| is_plain_identifier(name))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "(function (context) {{ const {{ {} }} = context;\n{code}\n}})(JSON.parse(__patchbayInput))",
        names.join(", ")
    )
}

fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(name, "context" | "arguments" | "eval")
}

fn run_blocking(
    source: &str,
    input: &str,
    limits: FunctionLimits,
    cancelled: &Arc<AtomicBool>,
) -> Result<Value, FunctionError> {
    let runtime = Runtime::new().map_err(|err| FunctionError::Engine(err.to_string()))?;
    runtime.set_memory_limit(limits.memory_bytes);
    runtime.set_max_stack_size(STACK_BYTES);
    let started = Instant::now();
    let deadline = started + limits.timeout;
    let stop = Arc::clone(cancelled);
    runtime.set_interrupt_handler(Some(Box::new(move || {
        Instant::now() >= deadline || stop.load(Ordering::Relaxed)
    })));
    let context = Context::full(&runtime).map_err(|err| FunctionError::Engine(err.to_string()))?;
    let out_of_time = || Instant::now() >= deadline;
    let memory_mib = limits.memory_bytes / (1024 * 1024);
    context.with(|ctx| {
        ctx.globals()
            .set("__patchbayInput", input)
            .map_err(|err| FunctionError::Engine(err.to_string()))?;
        let result = ctx
            .eval::<rquickjs::Value, _>(source)
            .catch(&ctx)
            .map_err(|caught| {
                if out_of_time() {
                    return FunctionError::Timeout(limits.timeout.as_millis());
                }
                let message = caught_message(&caught);
                if message.contains("out of memory")
                    || matches!(caught, CaughtError::Error(rquickjs::Error::Allocation))
                {
                    FunctionError::OutOfMemory(memory_mib)
                } else {
                    FunctionError::Threw(message)
                }
            })?;
        if result.is_undefined() {
            return Ok(Value::Null);
        }
        let text = ctx
            .json_stringify(result)
            .catch(&ctx)
            .map_err(|caught| FunctionError::NotJson(caught_message(&caught)))?;
        match text {
            None => Ok(Value::Null),
            Some(text) => {
                let text = text
                    .to_string()
                    .map_err(|err| FunctionError::NotJson(err.to_string()))?;
                serde_json::from_str(&text).map_err(|err| FunctionError::NotJson(err.to_string()))
            }
        }
    })
}

fn caught_message(caught: &CaughtError<'_>) -> String {
    match caught {
        CaughtError::Exception(exception) => {
            let message = exception.message().unwrap_or_default();
            match exception.stack() {
                Some(stack) if !stack.is_empty() => {
                    format!("{message} ({})", stack.lines().next().unwrap_or("").trim())
                }
                _ => message,
            }
        }
        CaughtError::Value(value) => value
            .as_string()
            .and_then(|s| s.to_string().ok())
            .unwrap_or_else(|| format!("{value:?}")),
        CaughtError::Error(err) => err.to_string(),
    }
}
