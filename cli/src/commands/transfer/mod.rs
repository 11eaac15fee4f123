//! `pgtide export | import`: CSV out of and into a table, streamed through the library's
//! `COPY`, by the library's [`pgtide::transfer`].

pub mod export;
pub mod import;
mod progress;

use clap::{ArgMatches, Command};

use crate::failure::CommandResult;

/// The `export` and `import` subcommands.
pub fn commands() -> [Command; 2] {
    [export::command(), import::command()]
}

/// Runs `export` or `import`.
pub fn run(name: &str, m: &ArgMatches) -> CommandResult {
    match name {
        "export" => export::run(m),
        _ => import::run(m),
    }
}

/// `--delimiter C`: one character.
fn delimiter(m: &ArgMatches) -> Result<Option<char>, crate::failure::Usage> {
    match m.get_one::<String>("delimiter") {
        None => Ok(None),
        Some(d) => {
            let d = if d == "\\t" || d.eq_ignore_ascii_case("tab") {
                "\t"
            } else {
                d
            };
            let mut chars = d.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(Some(c)),
                _ => Err(crate::failure::Usage(format!(
                    "--delimiter takes one character (or `tab`), not {d:?}"
                ))),
            }
        }
    }
}
