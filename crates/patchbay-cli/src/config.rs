//! `patchbay serve` configuration: flags, then environment, then an optional
//! TOML file, then defaults — resolved once into [`ServeConfig`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use secrecy::SecretString;
use serde::Deserialize;

use crate::store::{DEFAULT_DATA_DIR, default_database_url};

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// `sqlite://...` or `postgres://...` [default: sqlite://<data dir>/patchbay.db]
    #[arg(long, env = "PATCHBAY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080]; port 0 picks a free port.
    #[arg(long, env = "PATCHBAY_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// URL browsers and providers reach this deployment at [default: http://<listen>].
    #[arg(long, env = "PATCHBAY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Directory for the SQLite database and the generated master key file
    /// [default: ./patchbay-data].
    #[arg(long, env = "PATCHBAY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Optional TOML file with any of: database_url, listen, public_url, data_dir,
    /// master_key_file. Flags and environment variables take precedence.
    #[arg(long, env = "PATCHBAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Seed a demo project wired to the built-in sandbox provider and print
    /// a link to click through.
    #[arg(long)]
    pub demo: bool,
    /// Lifetime of the sandbox provider's access tokens, in seconds
    /// [default: 3600]; short values exercise token refresh.
    #[arg(long, env = "PATCHBAY_SANDBOX_TOKEN_TTL")]
    pub sandbox_token_ttl: Option<u64>,
    /// How often the background refresher looks for tokens about to expire,
    /// in seconds [default: 5].
    #[arg(long, env = "PATCHBAY_REFRESH_INTERVAL")]
    pub refresh_interval: Option<u64>,
    /// How often API keys and passwords are checked with the provider's
    /// verification request, in seconds [default: 21600, six hours].
    #[arg(long, env = "PATCHBAY_CREDENTIAL_CHECK_INTERVAL")]
    pub credential_check_interval: Option<u64>,
    /// Longest wait for a provider's answer (token endpoint, account step,
    /// proxied API), in seconds [default: 30].
    #[arg(long, env = "PATCHBAY_PROVIDER_TIMEOUT")]
    pub provider_timeout: Option<u64>,
    /// How long a queued workflow run stays claimed by a server that stops
    /// renewing it (it crashed) before another takes it over, in seconds
    /// [default: 30].
    #[arg(long, env = "PATCHBAY_JOB_LEASE")]
    pub job_lease: Option<u64>,
    /// Queued workflow runs executing at once in this server [default: 16].
    #[arg(long, env = "PATCHBAY_WORKER_CONCURRENCY")]
    pub worker_concurrency: Option<usize>,
    /// Let workflow `http` steps call loopback and private-network addresses
    /// (local development only).
    #[arg(long, env = "PATCHBAY_ALLOW_PRIVATE_NETWORK")]
    pub allow_private_network: bool,
    /// How long workflow runs in flight may take to finish when the server
    /// stops, in seconds [default: 10]; unfinished ones go back to the queue.
    #[arg(long, env = "PATCHBAY_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<u64>,
    /// Longest wait between two attempts of a failing webhook delivery, in
    /// seconds [default: 3600]; the wait starts at 5 s and doubles up to it.
    #[arg(long, env = "PATCHBAY_WEBHOOK_MAX_RETRY_DELAY")]
    pub webhook_max_retry_delay: Option<u64>,
}

/// The keys a configuration file may set. Secrets (master key, admin token)
/// come only from the environment or a key file, never from flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    listen: Option<SocketAddr>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    master_key_file: Option<PathBuf>,
}

#[derive(Debug)]
pub struct ServeConfig {
    pub database_url: String,
    pub listen: SocketAddr,
    /// `None` until the listener is bound: the default derives from the
    /// actual port.
    pub public_url: Option<String>,
    pub master_key_file: PathBuf,
    pub admin_token: Option<SecretString>,
    pub demo: bool,
    pub sandbox_token_ttl: std::time::Duration,
    pub refresh_interval: std::time::Duration,
    pub credential_check_interval: std::time::Duration,
    pub provider_timeout: std::time::Duration,
    pub workflows: patchbay_server::WorkflowSettings,
    pub webhooks: patchbay_server::WebhookPolicy,
}

impl ServeArgs {
    pub fn resolve(self) -> anyhow::Result<ServeConfig> {
        let workflows = workflow_settings(&self);
        let webhooks = webhook_policy(&self);
        let file = match &self.config {
            Some(path) => read_file_config(path)?,
            None => FileConfig::default(),
        };
        let data_dir = self
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        let database_url = self
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| default_database_url(&data_dir.display().to_string()));
        let listen = match self.listen.or(file.listen) {
            Some(listen) => listen,
            None => DEFAULT_LISTEN.parse().context("default listen address")?,
        };
        let public_url = self
            .public_url
            .or(file.public_url)
            .map(|url| url.trim_end_matches('/').to_owned());
        if let Some(url) = &public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            anyhow::bail!("--public-url must start with http:// or https:// (got {url:?})");
        }
        Ok(ServeConfig {
            database_url,
            listen,
            public_url,
            master_key_file: file
                .master_key_file
                .unwrap_or_else(|| data_dir.join("master.key")),
            demo: self.demo,
            provider_timeout: std::time::Duration::from_secs(
                self.provider_timeout.unwrap_or(30).max(1),
            ),
            refresh_interval: std::time::Duration::from_secs(
                self.refresh_interval.unwrap_or(5).max(1),
            ),
            credential_check_interval: std::time::Duration::from_secs(
                self.credential_check_interval.unwrap_or(6 * 60 * 60).max(1),
            ),
            sandbox_token_ttl: std::time::Duration::from_secs(
                self.sandbox_token_ttl.unwrap_or(3600).max(1),
            ),
            workflows,
            webhooks,
            admin_token: std::env::var("PATCHBAY_ADMIN_TOKEN")
                .ok()
                .filter(|token| !token.is_empty())
                .map(SecretString::from),
        })
    }
}

fn workflow_settings(args: &ServeArgs) -> patchbay_server::WorkflowSettings {
    let defaults = patchbay_server::WorkflowSettings::default();
    let secs = std::time::Duration::from_secs;
    patchbay_server::WorkflowSettings {
        lease: args.job_lease.map_or(defaults.lease, |s| secs(s.max(1))),
        concurrency: args
            .worker_concurrency
            .unwrap_or(defaults.concurrency)
            .max(1),
        allow_private_network: args.allow_private_network,
        shutdown_grace: args.shutdown_grace.map_or(defaults.shutdown_grace, secs),
        ..defaults
    }
}

fn webhook_policy(args: &ServeArgs) -> patchbay_server::WebhookPolicy {
    let defaults = patchbay_server::WebhookPolicy::default();
    patchbay_server::WebhookPolicy {
        max_retry_delay: args
            .webhook_max_retry_delay
            .map_or(defaults.max_retry_delay, |s| {
                std::time::Duration::from_secs(s.max(1))
            }),
        ..defaults
    }
}

fn read_file_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("in the configuration file {}", path.display()))
}
