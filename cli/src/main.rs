//! `pgtide`: the command line over pgtide's libraries.
//!
//! One module per command group under `commands/` (`config`, `server`, `codegen`,
//! `completions`); `project` finds the configuration file and loads it with the same loader
//! the application uses, so no command needs a password on its command line.
//!
//! Exit codes: 0 success, 1 failure (or, for `gen --check`, `verify`, `config test` and
//! `server audit`, a difference or a failed check), 2 usage error.

mod cli;
mod commands;
mod failure;
mod output;
mod project;

use std::process::ExitCode;

use failure::Usage;

fn main() -> ExitCode {
    let matches = match cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match commands::run(&matches) {
        Ok(code) => code,
        Err(e) if e.is::<Usage>() => {
            eprintln!("pgtide: usage error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("pgtide: error: {e}");
            ExitCode::from(1)
        }
    }
}
