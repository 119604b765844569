//! `patchbay keys`: the data keys that encrypt secrets at rest.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use crate::master_key;
use crate::store::DEFAULT_DATA_DIR;
use crate::store::{DatabaseArgs, open_migrated};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Rotate the data key online: a new key encrypts from now on, every
    /// stored secret is re-encrypted under it, older keys are retired.
    /// Running servers keep serving throughout. Safe to re-run.
    Rotate(RotateArgs),
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Where the master key file lives when PATCHBAY_MASTER_KEY is unset.
    #[arg(long, env = "PATCHBAY_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// Seconds to wait, after publishing the new key and again after
    /// activating it, for running servers to reload their keys.
    #[arg(long, default_value_t = patchbay_server::ROTATION_SETTLE.as_secs())]
    settle_seconds: u64,
    /// Print `{"newKey", "reencrypted", "retired", "passes"}` as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate(args) => rotate(args).await,
    }
}

async fn rotate(args: RotateArgs) -> anyhow::Result<()> {
    let store = open_migrated(&args.database.resolve()).await?;
    let master = master_key::load(&args.data_dir.join("master.key"))?;
    let report = patchbay_server::rotate_data_key(
        store.as_ref(),
        &master,
        Duration::from_secs(args.settle_seconds),
    )
    .await
    .context("rotating the data key")?;
    if args.json {
        let json = serde_json::json!({
            "newKey": report.new_key,
            "reencrypted": report.reencrypted,
            "retired": report.retired,
            "passes": report.passes,
        });
        println!("{json}");
    } else {
        println!(
            "Rotated the data key: {} encrypts from now on.",
            report.new_key
        );
        println!(
            "  re-encrypted {} secret(s) in {} pass(es); retired {} older key(s).",
            report.reencrypted, report.passes, report.retired
        );
    }
    Ok(())
}
