//! `patchbay`: one binary that serves the platform and administers it.

mod cli;
mod config;
mod demo;
mod keys;
mod master_key;
mod project_commands;
mod serve;
mod store;

use clap::Parser as _;

use crate::cli::{Cli, Command, ProjectCommand, TokenCommand};

// Every proxied request allocates and frees its buffers and futures on
// whichever worker thread polls it; glibc's malloc answers that pattern with
// arena lock contention and heaps that shrink and regrow (page faults on
// every regrowth). mimalloc keeps per-thread free lists and stays flat.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    cli.logging.init();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Migrate(args) => store::migrate(args).await,
        Command::Project(ProjectCommand::Create(args)) => cli::create_project(args).await,
        Command::SigningKey(command) => project_commands::signing_key(command).await,
        Command::Token(TokenCommand::Mint(args)) => project_commands::mint_token(args),
        Command::Apply(args) => project_commands::apply(args).await,
        Command::Keys(command) => keys::run(command).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
