//! The pure parts of the workflow engine (docs/api.md): templates over a run's
//! context, the JavaScript sandbox of `function` steps, and what Task History
//! may keep of a value. The executor that calls providers lives in the
//! server, which owns tokens and the proxy machinery.

mod function;
mod history;
mod template;

pub use function::{FunctionError, FunctionLimits, run_function};
pub use history::{REDACTED, Redaction, STEP_PAYLOAD_LIMIT};
pub use template::{TemplateError, Templates};
