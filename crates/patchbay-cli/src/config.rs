//! `patchbay serve` configuration: flags, then environment, then an optional
//! TOML file, then defaults — resolved once into [`ServeConfig`].

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use secrecy::SecretString;
use serde::Deserialize;

use crate::logging::LogFormat;
use crate::store::{DEFAULT_DATA_DIR, default_database_url};

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Shown under `patchbay serve --help`: the settings that have no flag.
pub const SERVE_AFTER_HELP: &str = "\
Secrets come only from the environment, never from flags or the configuration file:
  PATCHBAY_MASTER_KEY   Base64 of the 32-byte key that encrypts every stored secret
                        [default: read from the master key file, generated if missing]
  PATCHBAY_ADMIN_TOKEN  Bearer token that may create projects over HTTP
                        [default: unset, POST /api/v1/projects is disabled]

Every flag above (but --config and --print-config) is also a key of the TOML file given
with --config, named like the flag with `_` for `-` (listen = \"0.0.0.0:8080\"). The file
also takes master_key_file (the key file when PATCHBAY_MASTER_KEY is unset [default:
<data dir>/master.key]) and log_format. RUST_LOG sets the log level [default: info].";

#[derive(Debug, Args)]
#[command(after_help = SERVE_AFTER_HELP)]
pub struct ServeArgs {
    #[command(flatten)]
    settings: Settings,
    /// Optional TOML file with any of the settings above; flags and
    /// environment variables take precedence over it.
    #[arg(long, env = "PATCHBAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the settings `serve` would run with, as a configuration file,
    /// and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// Every `serve` setting, each optional: as flags and environment variables,
/// and as the keys of the configuration file. Unset ones fall through to the
/// next source, then to their default.
#[derive(Debug, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// `sqlite://...` or `postgres://...` [default: sqlite://<data dir>/patchbay.db]
    #[arg(long, env = "PATCHBAY_DATABASE_URL")]
    database_url: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080]; port 0 picks a free port.
    #[arg(long, env = "PATCHBAY_LISTEN")]
    listen: Option<SocketAddr>,
    /// URL browsers and providers reach this deployment at [default: http://<listen>].
    #[arg(long, env = "PATCHBAY_PUBLIC_URL")]
    public_url: Option<String>,
    /// Directory for the SQLite database and the generated master key file
    /// [default: ./patchbay-data].
    #[arg(long, env = "PATCHBAY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The master key file (configuration file only; a path, not a secret).
    #[arg(skip)]
    master_key_file: Option<PathBuf>,
    /// The log format (configuration file only here: the flag is
    /// `patchbay --log-format`, which applies to every command).
    #[arg(skip)]
    log_format: Option<LogFormat>,
    /// Seed a demo project wired to the built-in sandbox provider and print
    /// a link to click through.
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    demo: Option<bool>,
    /// Lifetime of the sandbox provider's access tokens, in seconds
    /// [default: 3600]; short values exercise token refresh.
    #[arg(long, env = "PATCHBAY_SANDBOX_TOKEN_TTL")]
    sandbox_token_ttl: Option<u64>,
    /// How often the background refresher looks for tokens about to expire,
    /// in seconds [default: 5].
    #[arg(long, env = "PATCHBAY_REFRESH_INTERVAL")]
    refresh_interval: Option<u64>,
    /// How often API keys and passwords are checked with the provider's
    /// verification request, in seconds [default: 21600, six hours].
    #[arg(long, env = "PATCHBAY_CREDENTIAL_CHECK_INTERVAL")]
    credential_check_interval: Option<u64>,
    /// Longest wait for a provider's answer (token endpoint, account step,
    /// proxied API), in seconds [default: 30].
    #[arg(long, env = "PATCHBAY_PROVIDER_TIMEOUT")]
    provider_timeout: Option<u64>,
    /// How long a queued workflow run stays claimed by a server that stops
    /// renewing it (it crashed) before another takes it over, in seconds
    /// [default: 30].
    #[arg(long, env = "PATCHBAY_JOB_LEASE")]
    job_lease: Option<u64>,
    /// Queued workflow runs executing at once in this server [default: 16].
    #[arg(long, env = "PATCHBAY_WORKER_CONCURRENCY")]
    worker_concurrency: Option<usize>,
    /// Let workflow `http` steps call loopback and private-network addresses
    /// (local development only).
    #[arg(
        long,
        env = "PATCHBAY_ALLOW_PRIVATE_NETWORK",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    allow_private_network: Option<bool>,
    /// How long workflow runs in flight may take to finish when the server
    /// stops, in seconds [default: 10]; unfinished ones go back to the queue.
    #[arg(long, env = "PATCHBAY_SHUTDOWN_GRACE")]
    shutdown_grace: Option<u64>,
    /// Longest wait between two attempts of a failing webhook delivery, in
    /// seconds [default: 3600]; the wait starts at 5 s and doubles up to it.
    #[arg(long, env = "PATCHBAY_WEBHOOK_MAX_RETRY_DELAY")]
    webhook_max_retry_delay: Option<u64>,
    /// How long a failing webhook delivery is retried, in seconds from when
    /// its event happened [default: 90000, 25 hours]; it is dead after that,
    /// until replayed.
    #[arg(long, env = "PATCHBAY_WEBHOOK_RETRY_WINDOW")]
    webhook_retry_window: Option<u64>,
    /// A connection that has not sent a whole request head within this many
    /// seconds is closed [default: 10].
    #[arg(long, env = "PATCHBAY_HEADER_READ_TIMEOUT")]
    header_read_timeout: Option<u64>,
    /// A request body that sends nothing for this many seconds fails
    /// [default: 30].
    #[arg(long, env = "PATCHBAY_BODY_IDLE_TIMEOUT")]
    body_idle_timeout: Option<u64>,
    /// Connections open at once; beyond, new ones wait [default: 10000].
    #[arg(long, env = "PATCHBAY_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Event streams one user may hold open at once on this server
    /// [default: 16].
    #[arg(long, env = "PATCHBAY_MAX_STREAMS_PER_USER")]
    max_streams_per_user: Option<usize>,
}

impl Settings {
    /// Each setting from `self` where it is set, else from `below`.
    fn over(self, below: Self) -> Self {
        Self {
            database_url: self.database_url.or(below.database_url),
            listen: self.listen.or(below.listen),
            public_url: self.public_url.or(below.public_url),
            data_dir: self.data_dir.or(below.data_dir),
            master_key_file: self.master_key_file.or(below.master_key_file),
            log_format: self.log_format.or(below.log_format),
            demo: self.demo.or(below.demo),
            sandbox_token_ttl: self.sandbox_token_ttl.or(below.sandbox_token_ttl),
            refresh_interval: self.refresh_interval.or(below.refresh_interval),
            credential_check_interval: self
                .credential_check_interval
                .or(below.credential_check_interval),
            provider_timeout: self.provider_timeout.or(below.provider_timeout),
            job_lease: self.job_lease.or(below.job_lease),
            worker_concurrency: self.worker_concurrency.or(below.worker_concurrency),
            allow_private_network: self.allow_private_network.or(below.allow_private_network),
            shutdown_grace: self.shutdown_grace.or(below.shutdown_grace),
            webhook_max_retry_delay: self
                .webhook_max_retry_delay
                .or(below.webhook_max_retry_delay),
            webhook_retry_window: self.webhook_retry_window.or(below.webhook_retry_window),
            header_read_timeout: self.header_read_timeout.or(below.header_read_timeout),
            body_idle_timeout: self.body_idle_timeout.or(below.body_idle_timeout),
            max_connections: self.max_connections.or(below.max_connections),
            max_streams_per_user: self.max_streams_per_user.or(below.max_streams_per_user),
        }
    }
}

#[derive(Debug)]
pub struct ServeConfig {
    pub database_url: String,
    pub listen: SocketAddr,
    /// `None` until the listener is bound: the default derives from the
    /// actual port.
    pub public_url: Option<String>,
    pub data_dir: PathBuf,
    pub master_key_file: PathBuf,
    pub admin_token: Option<SecretString>,
    pub demo: bool,
    pub sandbox_token_ttl: Duration,
    pub refresh_interval: Duration,
    pub credential_check_interval: Duration,
    pub provider_timeout: Duration,
    pub workflows: patchbay_server::WorkflowSettings,
    pub webhooks: patchbay_server::WebhookPolicy,
    pub connections: patchbay_server::ConnectionLimits,
}

impl ServeArgs {
    /// Reads the configuration file, if any, into the settings that flags and
    /// the environment left unset. Done before logging starts, since the file
    /// may choose the log format; doing it again is a no-op.
    pub fn load_file(mut self) -> anyhow::Result<Self> {
        if let Some(path) = self.config.take() {
            self.settings = self.settings.over(read_file_config(&path)?);
        }
        Ok(self)
    }

    /// The log format the file chose, if it did.
    pub fn log_format(&self) -> Option<LogFormat> {
        self.settings.log_format
    }

    pub fn resolve(self) -> anyhow::Result<ServeConfig> {
        let settings = self.load_file()?.settings;
        let secs = Duration::from_secs;
        let data_dir = settings.data_dir.unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        let database_url = settings
            .database_url
            .unwrap_or_else(|| default_database_url(&data_dir.display().to_string()));
        let listen = match settings.listen {
            Some(listen) => listen,
            None => DEFAULT_LISTEN.parse().context("default listen address")?,
        };
        let public_url = settings
            .public_url
            .map(|url| url.trim_end_matches('/').to_owned());
        if let Some(url) = &public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            anyhow::bail!("--public-url must start with http:// or https:// (got {url:?})");
        }
        let workflow_defaults = patchbay_server::WorkflowSettings::default();
        let workflows = patchbay_server::WorkflowSettings {
            lease: settings
                .job_lease
                .map_or(workflow_defaults.lease, |s| secs(s.max(1))),
            concurrency: settings
                .worker_concurrency
                .unwrap_or(workflow_defaults.concurrency)
                .max(1),
            allow_private_network: settings.allow_private_network.unwrap_or(false),
            shutdown_grace: settings
                .shutdown_grace
                .map_or(workflow_defaults.shutdown_grace, secs),
            ..workflow_defaults
        };
        let webhook_defaults = patchbay_server::WebhookPolicy::default();
        let webhooks = patchbay_server::WebhookPolicy {
            max_retry_delay: settings
                .webhook_max_retry_delay
                .map_or(webhook_defaults.max_retry_delay, |s| secs(s.max(1))),
            retry_window: settings
                .webhook_retry_window
                .map_or(webhook_defaults.retry_window, secs),
            ..webhook_defaults
        };
        let connection_defaults = patchbay_server::ConnectionLimits::default();
        let connections = patchbay_server::ConnectionLimits {
            header_read_timeout: settings
                .header_read_timeout
                .map_or(connection_defaults.header_read_timeout, |s| secs(s.max(1))),
            body_idle_timeout: settings
                .body_idle_timeout
                .map_or(connection_defaults.body_idle_timeout, |s| secs(s.max(1))),
            max_connections: settings
                .max_connections
                .unwrap_or(connection_defaults.max_connections)
                .max(1),
            max_streams_per_user: settings
                .max_streams_per_user
                .unwrap_or(connection_defaults.max_streams_per_user)
                .max(1),
        };
        Ok(ServeConfig {
            database_url,
            listen,
            public_url,
            master_key_file: settings
                .master_key_file
                .unwrap_or_else(|| data_dir.join("master.key")),
            data_dir,
            demo: settings.demo.unwrap_or(false),
            provider_timeout: secs(settings.provider_timeout.unwrap_or(30).max(1)),
            refresh_interval: secs(settings.refresh_interval.unwrap_or(5).max(1)),
            credential_check_interval: secs(
                settings
                    .credential_check_interval
                    .unwrap_or(6 * 60 * 60)
                    .max(1),
            ),
            sandbox_token_ttl: secs(settings.sandbox_token_ttl.unwrap_or(3600).max(1)),
            workflows,
            webhooks,
            connections,
            admin_token: std::env::var("PATCHBAY_ADMIN_TOKEN")
                .ok()
                .filter(|token| !token.is_empty())
                .map(SecretString::from),
        })
    }
}

impl ServeConfig {
    /// These settings as a configuration file that `--config` reads back to
    /// the same settings. Secrets are only said to be set or not, and a
    /// password in the database URL is masked.
    pub fn to_toml(&self, log_format: LogFormat) -> String {
        let set = |set: bool| if set { "set" } else { "unset" };
        let master_key = std::env::var_os("PATCHBAY_MASTER_KEY").is_some();
        let mut out = String::new();
        let mut line = |key: &str, value: String| {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{key} = {value}");
        };
        // TOML basic strings escape like JSON strings.
        let text = |value: &str| serde_json::Value::from(value).to_string();
        let path = |value: &Path| text(&value.display().to_string());
        line("database_url", text(&mask_password(&self.database_url)));
        line("listen", text(&self.listen.to_string()));
        if let Some(public_url) = &self.public_url {
            line("public_url", text(public_url));
        }
        line("data_dir", path(&self.data_dir));
        line("master_key_file", path(&self.master_key_file));
        line("log_format", text(log_format.as_str()));
        line("demo", self.demo.to_string());
        line(
            "sandbox_token_ttl",
            self.sandbox_token_ttl.as_secs().to_string(),
        );
        line(
            "refresh_interval",
            self.refresh_interval.as_secs().to_string(),
        );
        line(
            "credential_check_interval",
            self.credential_check_interval.as_secs().to_string(),
        );
        line(
            "provider_timeout",
            self.provider_timeout.as_secs().to_string(),
        );
        line("job_lease", self.workflows.lease.as_secs().to_string());
        line("worker_concurrency", self.workflows.concurrency.to_string());
        line(
            "allow_private_network",
            self.workflows.allow_private_network.to_string(),
        );
        line(
            "shutdown_grace",
            self.workflows.shutdown_grace.as_secs().to_string(),
        );
        line(
            "webhook_max_retry_delay",
            self.webhooks.max_retry_delay.as_secs().to_string(),
        );
        line(
            "webhook_retry_window",
            self.webhooks.retry_window.as_secs().to_string(),
        );
        line(
            "header_read_timeout",
            self.connections.header_read_timeout.as_secs().to_string(),
        );
        line(
            "body_idle_timeout",
            self.connections.body_idle_timeout.as_secs().to_string(),
        );
        line(
            "max_connections",
            self.connections.max_connections.to_string(),
        );
        line(
            "max_streams_per_user",
            self.connections.max_streams_per_user.to_string(),
        );
        let mut header = String::new();
        let _ = writeln!(
            header,
            "# The settings `patchbay serve` runs with (flags, then environment, then the\n\
             # configuration file, then defaults).\n\
             # PATCHBAY_MASTER_KEY is {}{}; PATCHBAY_ADMIN_TOKEN is {}.",
            set(master_key),
            if master_key {
                ""
            } else {
                " (the key file below is used)"
            },
            set(self.admin_token.is_some()),
        );
        if self.public_url.is_none() {
            let _ = writeln!(
                header,
                "# public_url is unset: http://<the address listened on>."
            );
        }
        header + &out
    }
}

/// `scheme://user:********@host/...` for a URL with a password; others as
/// they are.
fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:********@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn read_file_config(path: &Path) -> anyhow::Result<Settings> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("in the configuration file {}", path.display()))
}
