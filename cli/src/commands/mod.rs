//! One module per command group; each is a thin layer over a library.

pub mod codegen;
pub mod completions;
pub mod config;
pub mod server;
pub mod transfer;

use clap::ArgMatches;

use crate::failure::CommandResult;

/// Runs the subcommand `matches` names.
pub fn run(matches: &ArgMatches) -> CommandResult {
    match matches.subcommand() {
        Some(("config", m)) => config::run(m),
        Some(("server", m)) => server::run(m),
        Some(("completions", m)) => completions::run(m),
        Some((name @ ("export" | "import"), m)) => transfer::run(name, m),
        Some((name, m)) => codegen::run(name, m),
        None => unreachable!("clap requires a subcommand"),
    }
}

/// A current-thread runtime for the commands that talk to a server.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
