//! `pgtide config init | show | test | example`.

pub mod example;
pub mod init;
pub mod show;
pub mod test;

use clap::{ArgMatches, Command};

use crate::failure::CommandResult;

/// The `config` group.
pub fn command() -> Command {
    Command::new("config")
        .about("write, show, test and use the configuration the application loads")
        .after_help("Examples:\n  pgtide config init && pgtide config test\n  pgtide config show --profile prod\n  pgtide config example --kind pool > src/main.rs")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(init::command())
        .subcommand(show::command())
        .subcommand(test::command())
        .subcommand(example::command())
}

/// Runs one `config` subcommand.
pub fn run(m: &ArgMatches) -> CommandResult {
    match m.subcommand() {
        Some(("init", m)) => init::run(m),
        Some(("show", m)) => show::run(m),
        Some(("test", m)) => test::run(m),
        Some(("example", m)) => example::run(m),
        _ => unreachable!("clap requires a known subcommand"),
    }
}
