//! Command-line shape, and the small commands that fit in a few lines.

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::config::ServeArgs;
use crate::document::ConfigCommand;
use crate::keys::KeysCommand;
use crate::logging::Logging;
use crate::project_commands::{ApplyArgs, MintTokenArgs, SigningKeyCommand};
use crate::providers::ProvidersCommand;
use crate::store::{DatabaseArgs, open_migrated};

/// `patchbay --version`: the release and the commit it was built from
/// (`unknown` when built outside a git checkout without
/// `PATCHBAY_BUILD_COMMIT`; see `build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PATCHBAY_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "patchbay",
    version = VERSION,
    about = "Embedded integration platform: connect several accounts per integration and act as exactly one of them."
)]
pub struct Cli {
    #[command(flatten)]
    pub logging: Logging,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates the database first).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Manage the public keys that verify a project's user tokens.
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
    /// Development user tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Validate and apply a project's configuration document.
    Apply(ApplyArgs),
    /// Work with configuration documents offline.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage the data keys that encrypt secrets at rest.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Browse the built-in provider catalogue, offline.
    #[command(subcommand)]
    Providers(ProvidersCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Sign a user token with a private key, for development.
    Mint(MintTokenArgs),
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project and print its id and first secret key (shown once).
    Create(CreateProjectArgs),
}

#[derive(Debug, Args)]
pub struct CreateProjectArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The project's display name.
    #[arg(long)]
    pub name: String,
    /// Print `{"projectId", "secretKey"}` as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn create_project(args: CreateProjectArgs) -> anyhow::Result<()> {
    let store = open_migrated(&args.database.resolve()).await?;
    let created = patchbay_server::create_project(store.as_ref(), &args.name)
        .await
        .map_err(|err| anyhow::anyhow!(err.message))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&created).context("encoding the result")?
        );
    } else {
        println!("Created project \"{}\".", args.name.trim());
        println!("  project id: {}", created.project_id);
        println!("  secret key: {}", created.secret_key);
        println!("The secret key is shown only this once: store it now.");
    }
    Ok(())
}
