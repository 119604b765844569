//! The configuration document on the command line: reading it, reporting
//! its errors, `patchbay config validate` and `patchbay config schema`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use patchbay_server::ApiError;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration document offline, as the server checks it
    /// before applying it; exits non-zero when it has errors.
    Validate(ValidateArgs),
    /// Print the JSON Schema of configuration documents (what
    /// `GET /config.schema.json` serves), for editors and checks in CI.
    Schema,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The configuration document (YAML or JSON); `-` reads standard input.
    file: PathBuf,
}

pub fn run(command: ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Validate(args) => validate(&args.file),
        ConfigCommand::Schema => {
            let schema = serde_json::to_string_pretty(&patchbay_config::json_schema())
                .context("serializing the schema")?;
            println!("{schema}");
            Ok(())
        }
    }
}

fn validate(file: &Path) -> anyhow::Result<()> {
    let text = read_document(file)?;
    match patchbay_server::validate_config(&text) {
        Ok(config) => {
            println!(
                "{} is valid: {} integration(s), {} workflow(s).",
                file.display(),
                config.integrations.len(),
                config.workflows.len()
            );
            Ok(())
        }
        Err(err) => {
            print_error_details(&err);
            anyhow::bail!(
                "{} is not a valid configuration document: {}",
                file.display(),
                err.message
            )
        }
    }
}

/// The document at `file`, or standard input for `-`.
pub fn read_document(file: &Path) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
    }
}

/// Prints each error of a refused document with the path of the value at
/// fault, one a line on standard error.
pub fn print_error_details(err: &ApiError) {
    let Some(meta) = &err.meta else { return };
    match meta["errors"].as_array() {
        Some(errors) => {
            for detail in errors {
                eprintln!(
                    "  {}: {}",
                    detail["path"].as_str().unwrap_or(""),
                    detail["message"].as_str().unwrap_or("")
                );
            }
        }
        // A single-field error (a NUL character somewhere in the document).
        None => {
            if let Some(field) = meta["field"].as_str() {
                eprintln!("  {field}: {}", err.message);
            }
        }
    }
}
