//! `patchbay`: one binary that serves the platform and administers it.

mod cli;
mod config;
mod demo;
mod document;
mod keys;
mod log_writer;
mod logging;
mod master_key;
mod project_commands;
mod providers;
mod serve;
mod store;

use clap::Parser as _;

use crate::cli::{Cli, Command, ProjectCommand, TokenCommand};
use crate::config::ServeArgs;
use crate::logging::{LogFormat, Logging};

// Every proxied request allocates and frees its buffers and futures on
// whichever worker thread polls it; glibc's malloc answers that pattern with
// arena lock contention and heaps that shrink and regrow (page faults on
// every regrowth). mimalloc keeps per-thread free lists and stays flat.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = run(cli).await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let flag_format = cli.logging.log_format;
    // serve starts logging itself: its configuration file may choose the
    // format.
    let _log_writer = (!matches!(cli.command, Command::Serve(_)))
        .then(|| Logging::init(flag_format.unwrap_or(LogFormat::Text)));
    match cli.command {
        Command::Serve(args) => serve(*args, flag_format).await,
        Command::Migrate(args) => store::migrate(args).await,
        Command::Project(ProjectCommand::Create(args)) => cli::create_project(args).await,
        Command::SigningKey(command) => project_commands::signing_key(command).await,
        Command::Token(TokenCommand::Mint(args)) => project_commands::mint_token(args),
        Command::Apply(args) => project_commands::apply(args).await,
        Command::Keys(command) => keys::run(command).await,
        Command::Config(command) => document::run(command),
        Command::Providers(command) => providers::run(command),
    }
}

async fn serve(args: ServeArgs, flag_format: Option<LogFormat>) -> anyhow::Result<()> {
    let args = args.load_file()?;
    let format = flag_format.or(args.log_format()).unwrap_or(LogFormat::Text);
    if args.print_config {
        print!("{}", args.resolve()?.to_toml(format));
        return Ok(());
    }
    let _log_writer = Logging::init(format);
    serve::run(args).await
}
