//! `pgtide verify [--queries DIR] [--sqlx-dir DIR] [--database-url URL]`

use std::process::ExitCode;

use clap::ArgMatches;

use super::Setup;
use crate::failure::CommandResult;

/// Re-describes every query and reports those whose metadata changed.
pub fn run(m: &ArgMatches) -> CommandResult {
    let setup = Setup::resolve(m)?;
    let runtime = crate::commands::runtime()?;
    let conn = runtime.block_on(setup.connect(m))?;
    setup.enter()?;
    let codegen = &setup.codegen;
    let drift = runtime.block_on(codegen.verify_on(conn))?;
    if drift.is_empty() {
        eprintln!("pgtide: every query matches {}", codegen.sqlx_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    for d in &drift {
        eprintln!("{d}");
    }
    eprintln!(
        "pgtide: {} query(ies) drifted from the database schema; run `pgtide prepare{}` and `pgtide gen`",
        drift.len(),
        setup.flags
    );
    Ok(ExitCode::from(1))
}
