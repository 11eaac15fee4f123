//! `pgtide`: the command line over pgtide's libraries.
//!
//! Exit codes: 0 success, 1 failure (or, for `gen --check` and `verify`, a difference),
//! 2 usage error.

mod commands;

use std::process::ExitCode;

use clap::{Arg, ArgAction, Command};

fn cli() -> Command {
    let queries = || {
        Arg::new("queries")
            .long("queries")
            .value_name("DIR")
            .required(true)
            .help("directory of *.sql query files")
    };
    let sqlx_dir = || {
        Arg::new("sqlx-dir")
            .long("sqlx-dir")
            .value_name("DIR")
            .required(true)
            .help("directory of sqlx offline metadata (query-*.json)")
    };
    let database_url = || {
        Arg::new("database-url")
            .long("database-url")
            .value_name("URL")
            .env("DATABASE_URL")
            .hide_env_values(true)
            .required(true)
            .help("database to describe the queries against [default: $DATABASE_URL]")
    };
    Command::new("pgtide")
        .about("Rust applications on PostgreSQL, safely and fast")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("prepare")
                .about("describe every query against a database and write .sqlx/ (sqlx's format)")
                .arg(queries())
                .arg(sqlx_dir())
                .arg(database_url()),
        )
        .subcommand(
            Command::new("gen")
                .about("generate typed Rust modules from the queries and .sqlx/ (no database)")
                .arg(queries())
                .arg(sqlx_dir())
                .arg(
                    Arg::new("out")
                        .long("out")
                        .value_name("DIR")
                        .required(true)
                        .help("directory of the generated modules (mod.rs and one module per .sql file)"),
                )
                .arg(
                    Arg::new("check")
                        .long("check")
                        .action(ArgAction::SetTrue)
                        .help("write nothing; fail listing the files that would change"),
                ),
        )
        .subcommand(
            Command::new("verify")
                .about("re-describe every query against a database and report schema drift (writes nothing)")
                .arg(queries())
                .arg(sqlx_dir())
                .arg(database_url()),
        )
}

fn main() -> ExitCode {
    let matches = match cli().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match matches.subcommand() {
        Some(("prepare", m)) => commands::prepare::run(m),
        Some(("gen", m)) => commands::r#gen::run(m),
        Some(("verify", m)) => commands::verify::run(m),
        _ => unreachable!("clap requires a known subcommand"),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pgtide: error: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_is_well_formed() {
        super::cli().debug_assert();
    }
}
