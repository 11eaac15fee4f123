//! `pgtide server hints | audit`: what the server should be configured with for this
//! client configuration, and how the running server compares.

pub mod audit;
pub mod bouncer;
pub mod hints;
pub mod recommend;

use clap::{Arg, ArgMatches, Command, value_parser};

use crate::failure::CommandResult;

/// The `server` group.
pub fn command() -> Command {
    Command::new("server")
        .about("server-side settings for this client: recommended lines, and an audit of the running server")
        .after_help("Examples:\n  pgtide server hints --instances 4\n  pgtide server audit --instances 4 --profile prod")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(hints::command())
        .subcommand(audit::command())
}

/// `--instances N` and `--client-address ADDR`, shared by `hints` and `audit`.
fn shared_args(command: Command) -> Command {
    command
        .arg(
            Arg::new("instances")
                .long("instances")
                .value_name("N")
                .value_parser(value_parser!(u32).range(1..=100_000))
                .default_value("1")
                .help("how many application instances (processes) use this configuration at once"),
        )
        .arg(
            Arg::new("client-address")
                .long("client-address")
                .value_name("ADDR[/BITS]")
                .help("the clients' address or network as the server sees it [default: this machine's address towards the server]"),
        )
}

/// Runs one `server` subcommand.
pub fn run(m: &ArgMatches) -> CommandResult {
    match m.subcommand() {
        Some(("hints", m)) => hints::run(m),
        Some(("audit", m)) => audit::run(m),
        _ => unreachable!("clap requires a known subcommand"),
    }
}
