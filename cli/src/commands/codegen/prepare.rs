//! `pgtide prepare [--queries DIR] [--sqlx-dir DIR] [--database-url URL] [--explain]`

use std::process::ExitCode;

use clap::ArgMatches;

use super::Setup;
use crate::failure::CommandResult;

/// Describes every query and writes `.sqlx/`.
pub fn run(m: &ArgMatches) -> CommandResult {
    let setup = Setup::resolve(m)?;
    let runtime = crate::commands::runtime()?;
    // Several describe sessions side by side (the files are the same as with one).
    let mut conns = Vec::new();
    for _ in 0..pgtide_codegen::prepare::SESSIONS {
        conns.push(runtime.block_on(setup.connect(m))?);
    }
    setup.enter()?;
    let codegen = &setup.codegen;
    let changes = runtime.block_on(codegen.prepare_on_sessions(conns))?;
    for change in &changes {
        eprintln!("{change}");
    }
    eprintln!(
        "pgtide: prepared {} ({} file(s) changed)",
        codegen.sqlx_dir.display(),
        changes.len()
    );
    if m.get_flag("explain") {
        print!("{}", codegen.explain()?);
    }
    Ok(ExitCode::SUCCESS)
}
