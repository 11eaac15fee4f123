//! `pgtide verify --queries <DIR> --sqlx-dir <DIR> [--database-url <URL>]`

use std::process::ExitCode;

use clap::ArgMatches;

/// Re-describes every query and reports those whose metadata changed.
pub fn run(m: &ArgMatches) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let codegen = super::codegen(m);
    let url = m
        .get_one::<String>("database-url")
        .cloned()
        .unwrap_or_default();
    let drift = super::runtime()?.block_on(codegen.verify(&url))?;
    if drift.is_empty() {
        eprintln!("pgtide: every query matches {}", codegen.sqlx_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    for d in &drift {
        eprintln!("{d}");
    }
    eprintln!(
        "pgtide: {} query(ies) drifted from the database schema; run `pgtide prepare` and `pgtide gen`",
        drift.len()
    );
    Ok(ExitCode::from(1))
}
