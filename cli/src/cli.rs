//! The command tree: shared flags, exit codes and examples in `--help`, and each group's
//! subcommands (declared by the group's own module).

use std::path::PathBuf;

use clap::{Arg, Command, value_parser};

use crate::commands;

const AFTER_HELP: &str = "\
Configuration: --config FILE, else $PGTIDE_CONFIG, else pgtide.toml / pgtide.yaml / pgtide.yml
in the working directory or the nearest parent directory that has one. The profile is
--profile, else $PGTIDE_PROFILE, else `default`. The environment (PG*, DATABASE_URL,
PGTIDE_<PROFILE>__KEY) layers over the file exactly as for the application. No command takes a
password as an argument: use secret://env/NAME or secret://file/PATH in the file, PGPASSWORD or
DATABASE_URL.

Exit codes: 0 success; 1 failure, or a check that found a difference (gen --check, verify,
config test, server audit); 2 usage error.

Examples:
  pgtide config init                    write a commented pgtide.toml with every key
  pgtide config show --profile prod     effective values and where each came from
  pgtide config test                    connect, check the pool, report TLS and limits
  pgtide config example --kind pool     a complete program for this configuration
  pgtide server hints --instances 4     postgresql.conf and pg_hba.conf lines for this client
  pgtide server audit                   compare the server's settings with the hints
  pgtide prepare && pgtide gen          codegen with the directories from the config file
  pgtide gen --check                    CI: fail when generated code is stale
  pgtide export --table books out.csv   a table as CSV (streamed)
  pgtide import in.csv --table books    a CSV file into a table, all rows or none
  pgtide completions bash > /etc/bash_completion.d/pgtide";

/// The whole `pgtide` command.
pub fn command() -> Command {
    Command::new("pgtide")
        .about("Rust applications on PostgreSQL, safely and fast: config, server and codegen tools")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .after_help(AFTER_HELP)
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .global(true)
                .value_parser(value_parser!(PathBuf))
                .help("configuration file (*.toml, *.yaml, *.yml) [default: search, see below]"),
        )
        .arg(
            Arg::new("profile")
                .long("profile")
                .value_name("NAME")
                .global(true)
                .help("profile to use [default: $PGTIDE_PROFILE, else `default`]"),
        )
        .subcommand(commands::config::command())
        .subcommand(commands::server::command())
        .subcommands(commands::codegen::commands())
        .subcommands(commands::transfer::commands())
        .subcommand(commands::completions::command())
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_is_well_formed() {
        super::command().debug_assert();
    }
}
