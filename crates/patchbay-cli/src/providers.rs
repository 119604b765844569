//! `patchbay providers list|show`: the built-in provider catalogue, offline,
//! in the shapes `GET /api/v1/providers` answers.

use std::io::Write as _;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use patchbay_api::ProviderSummary;
use patchbay_engine::catalogue;

#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// List the catalogue's providers, sorted by id.
    List(ListArgs),
    /// Print one provider's whole definition as JSON, by its id or its
    /// Paragon type (`google-calendar` or `googleCalendar`).
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only the providers of this category (`crm`, `storage`, …).
    #[arg(long)]
    category: Option<String>,
    /// Only the providers whose id, name or Paragon type contains this text
    /// (without case).
    #[arg(long)]
    search: Option<String>,
    /// Print `{"data": [...]}` as the HTTP API answers, instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    name: String,
}

pub fn run(command: ProvidersCommand) -> anyhow::Result<()> {
    match command {
        ProvidersCommand::List(args) => {
            let list = catalogue::list(args.category.as_deref(), args.search.as_deref())?;
            if args.json {
                print_json(&list)
            } else {
                print(&table(&list.data))
            }
        }
        ProvidersCommand::Show(args) => print_json(&catalogue::show(&args.name)?),
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("serializing the catalogue")?;
    print(&format!("{text}\n"))
}

/// Writes to standard output. A reader that stops early (`| head`) is not an
/// error: the list is there to be cut short.
fn print(text: &str) -> anyhow::Result<()> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(err).context("writing to standard output")
        }
        _ => Ok(()),
    }
}

/// One provider per line, in aligned columns, with a header.
fn table(providers: &[ProviderSummary]) -> String {
    let rows: Vec<[String; 5]> = providers
        .iter()
        .map(|provider| {
            [
                provider.id.clone(),
                provider.name.clone(),
                provider.auth_type.clone(),
                provider.categories.join(","),
                provider.paragon_type.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = ["ID", "NAME", "AUTH", "CATEGORIES", "PARAGON TYPE"].map(str::to_owned);
    let mut widths = header.clone().map(|title| title.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    std::iter::once(&header)
        .chain(&rows)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            format!("{}\n", cells.join("  ").trim_end())
        })
        .collect()
}
