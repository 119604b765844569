//! Commands that administer one project directly on the database:
//! `signing-key`, `token mint`, `apply`.

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};
use patchbay_api::ConfigPlan;
use patchbay_core::user_token::{self, SigningAlgorithm, TokenClaims};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::document::{print_error_details, read_document};
use crate::master_key;
use crate::store::DEFAULT_DATA_DIR;
use crate::store::{DatabaseArgs, open_migrated};

#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// Register a public key (SPKI PEM) that verifies the project's user tokens.
    Add(AddSigningKeyArgs),
    /// Generate a key pair for development: registers the public key and
    /// writes the private key to a file only you can read.
    Generate(GenerateSigningKeyArgs),
}

#[derive(Debug, Args)]
pub struct AddSigningKeyArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[arg(long)]
    project: Uuid,
    /// The public key file.
    #[arg(long)]
    file: PathBuf,
    /// The kid tokens name in their header [default: generated].
    #[arg(long)]
    kid: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GeneratedAlgorithm {
    Es256,
    Eddsa,
}

#[derive(Debug, Args)]
pub struct GenerateSigningKeyArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[arg(long)]
    project: Uuid,
    #[arg(long, value_enum, default_value = "es256")]
    algorithm: GeneratedAlgorithm,
    /// Where to write the private key (PEM, mode 0600).
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    kid: Option<String>,
}

pub async fn signing_key(command: SigningKeyCommand) -> anyhow::Result<()> {
    match command {
        SigningKeyCommand::Add(args) => {
            let pem = std::fs::read_to_string(&args.file)
                .with_context(|| format!("reading {}", args.file.display()))?;
            let store = open_migrated(&args.database.resolve()).await?;
            let key =
                patchbay_server::add_signing_key(store.as_ref(), args.project, &pem, args.kid)
                    .await
                    .map_err(|err| anyhow::anyhow!(err.message))?;
            println!("Added signing key {} ({}).", key.kid, key.algorithm);
        }
        SigningKeyCommand::Generate(args) => {
            let algorithm = match args.algorithm {
                GeneratedAlgorithm::Es256 => SigningAlgorithm::Es256,
                GeneratedAlgorithm::Eddsa => SigningAlgorithm::EdDsa,
            };
            let pair = user_token::generate_key_pair(algorithm)?;
            let store = open_migrated(&args.database.resolve()).await?;
            let key = patchbay_server::add_signing_key(
                store.as_ref(),
                args.project,
                &pair.public_key_pem,
                args.kid,
            )
            .await
            .map_err(|err| anyhow::anyhow!(err.message))?;
            master_key::write_private(&args.out, pair.private_key_pem.as_str())?;
            println!("Added signing key {} ({}).", key.kid, key.algorithm);
            println!("Private key written to {}.", args.out.display());
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct MintTokenArgs {
    #[arg(long)]
    project: Uuid,
    /// The user id (`sub`).
    #[arg(long)]
    user: String,
    /// The private key file (PEM).
    #[arg(long)]
    key: PathBuf,
    #[arg(long, default_value = "ES256")]
    algorithm: SigningAlgorithm,
    #[arg(long)]
    kid: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    ttl: i64,
    /// Metadata claims as a JSON object, e.g. '{"Name": "Ada"}'.
    #[arg(long)]
    meta: Option<String>,
    /// The permissions claim as a JSON object, limiting the token to some integrations or
    /// accounts, e.g. '{"credential:<id>": true}' (docs/api.md, "User tokens").
    #[arg(long)]
    permissions: Option<String>,
}

/// Prints a development user token.
pub fn mint_token(args: MintTokenArgs) -> anyhow::Result<()> {
    let pem = std::fs::read_to_string(&args.key)
        .with_context(|| format!("reading {}", args.key.display()))?;
    let meta: Map<String, Value> = match &args.meta {
        Some(text) => serde_json::from_str(text).context("--meta must be a JSON object")?,
        None => Map::new(),
    };
    let permissions: Option<Map<String, Value>> = match &args.permissions {
        Some(text) => {
            Some(serde_json::from_str(text).context("--permissions must be a JSON object")?)
        }
        None => None,
    };
    let now = Utc::now().timestamp();
    let claims = TokenClaims {
        user_id: args.user,
        project_id: Some(args.project),
        issued_at: now,
        expires_at: now + args.ttl,
        not_before: None,
        meta,
        permissions,
    };
    println!(
        "{}",
        user_token::mint(&pem, args.algorithm, args.kid.as_deref(), &claims)?
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[arg(long)]
    project: Uuid,
    /// The configuration document (YAML or JSON); `-` reads standard input.
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    /// Allow removing integrations that still have connected accounts.
    #[arg(long)]
    prune: bool,
    /// Print what applying the document would change (and, with --prune,
    /// the accounts it would delete) without changing anything.
    #[arg(long)]
    dry_run: bool,
    /// Where the master key file lives when PATCHBAY_MASTER_KEY is unset.
    #[arg(long, env = "PATCHBAY_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
}

/// Validates and applies a configuration document.
pub async fn apply(args: ApplyArgs) -> anyhow::Result<()> {
    let text = read_document(&args.file)?;
    let store = open_migrated(&args.database.resolve()).await?;
    let master = master_key::load(&args.data_dir.join("master.key"))?;
    let keyring = patchbay_server::load_keyring(store.as_ref(), &master).await?;
    if args.dry_run {
        return match patchbay_server::plan_config(
            store.as_ref(),
            &keyring,
            args.project,
            &text,
            args.prune,
        )
        .await
        {
            Ok(plan) => {
                print!("{}", describe_plan(&plan));
                Ok(())
            }
            Err(err) => {
                print_error_details(&err);
                anyhow::bail!(err.message)
            }
        };
    }
    match patchbay_server::apply_config(store.as_ref(), &keyring, args.project, &text, args.prune)
        .await
    {
        Ok(applied) => {
            println!(
                "Applied configuration version {}: {} integration(s), {} workflow(s).",
                applied.version,
                applied.integrations.len(),
                applied.workflows.len()
            );
            Ok(())
        }
        Err(err) => {
            print_error_details(&err);
            anyhow::bail!(err.message)
        }
    }
}

/// `apply --dry-run`'s report: one line per kind of change.
fn describe_plan(plan: &ConfigPlan) -> String {
    let mut text = String::from("Dry run, nothing was changed. Applying would change:\n");
    let settings = if plan.settings_changed {
        "changed"
    } else {
        "unchanged"
    };
    text.push_str(&format!("  settings: {settings}\n"));
    for (kind, changes) in [
        ("integrations", &plan.integrations),
        ("workflows", &plan.workflows),
    ] {
        let parts: Vec<String> = [
            ("added", &changes.added),
            ("changed", &changes.changed),
            ("removed", &changes.removed),
        ]
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(verb, names)| format!("{verb} {}", names.join(", ")))
        .collect();
        let parts = if parts.is_empty() {
            "unchanged".to_owned()
        } else {
            parts.join("; ")
        };
        text.push_str(&format!("  {kind}: {parts}\n"));
    }
    text.push_str(&format!(
        "  accounts deleted: {}\n",
        plan.deleted_accounts.len()
    ));
    for account in &plan.deleted_accounts {
        text.push_str(&format!(
            "    {} {} (user {})\n",
            account.integration, account.credential_id, account.user_id
        ));
    }
    text
}
