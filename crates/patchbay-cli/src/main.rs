//! `patchbay`: one binary that serves the platform and administers it.

mod cli;
mod config;
mod master_key;
mod serve;
mod store;

use clap::Parser as _;

use crate::cli::{Cli, Command, ProjectCommand};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    cli.logging.init();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Migrate(args) => store::migrate(args).await,
        Command::Project(ProjectCommand::Create(args)) => cli::create_project(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
