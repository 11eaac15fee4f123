//! `pgtide gen [--queries DIR] [--sqlx-dir DIR] [--out DIR] [--check]`

use std::process::ExitCode;

use clap::ArgMatches;

use super::Setup;
use crate::failure::CommandResult;

/// Generates the Rust modules, or with `--check` reports the files that would change.
pub fn run(m: &ArgMatches) -> CommandResult {
    let setup = Setup::resolve(m)?;
    setup.enter()?;
    let codegen = &setup.codegen;
    if m.get_flag("check") {
        let changes = codegen.check()?;
        if changes.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "pgtide: generated code in {} is out of date:",
            codegen.out.display()
        );
        for change in &changes {
            eprintln!("  would be {change}");
        }
        eprintln!("run `pgtide gen{}` and commit the result", setup.flags);
        return Ok(ExitCode::from(1));
    }
    let changes = codegen.generate()?;
    for change in &changes {
        eprintln!("{change}");
    }
    Ok(ExitCode::SUCCESS)
}
