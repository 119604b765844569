//! Where logs go and in what format: stderr, as text or JSON lines.

use std::io::IsTerminal as _;

use clap::{Args, ValueEnum};
use serde::Deserialize;

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
    pub fn init(format: LogFormat) {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
        // Colours only on a terminal, so log files and pipes stay plain text.
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal());
        match format {
            LogFormat::Text => builder.init(),
            LogFormat::Json => builder.json().init(),
        }
    }
}
