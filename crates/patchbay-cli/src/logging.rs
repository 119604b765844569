//! Where logs go and in what format: stderr, as text or JSON lines, written in batches by a
//! thread of their own so that a request never waits for the terminal or the pipe behind
//! stderr (see `log_writer`).

use std::io::IsTerminal as _;

use clap::{Args, ValueEnum};
use serde::Deserialize;

use crate::log_writer::{WriterGuard, batched_stderr};

#[derive(Debug, Clone, Copy, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

#[derive(Debug, Args)]
pub struct Logging {
    /// Log format on stderr [default: text, or serve's configuration file's
    /// log_format]. The level comes from RUST_LOG (default: info).
    #[arg(long, global = true, env = "PATCHBAY_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
}

impl Logging {
    /// Installs the subscriber. Lines go to stderr from a writer thread; the guard flushes
    /// what is queued when dropped, so hold it until the command ends.
    #[must_use = "dropping the guard stops the log writer"]
    pub fn init(format: LogFormat) -> WriterGuard {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
        let (writer, guard) = batched_stderr();
        // Colours only on a terminal, so log files and pipes stay plain text.
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(writer)
            .with_ansi(std::io::stderr().is_terminal());
        match format {
            LogFormat::Text => builder.init(),
            LogFormat::Json => builder.json().init(),
        }
        guard
    }
}
