//! `pgtide prepare --queries <DIR> --sqlx-dir <DIR> [--database-url <URL>]`

use std::process::ExitCode;

use clap::ArgMatches;

/// Describes every query and writes `.sqlx/`.
pub fn run(m: &ArgMatches) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let codegen = super::codegen(m);
    let url = m
        .get_one::<String>("database-url")
        .cloned()
        .unwrap_or_default();
    let changes = super::runtime()?.block_on(codegen.prepare(&url))?;
    for change in &changes {
        eprintln!("{change}");
    }
    eprintln!(
        "pgtide: prepared {} ({} file(s) changed)",
        codegen.sqlx_dir.display(),
        changes.len()
    );
    Ok(ExitCode::SUCCESS)
}
