//! `cargo xtask gen`: `pgtide prepare` then `pgtide gen` for this repository's `queries/`,
//! against a fresh database with `migrations-fixtures/` applied on the throwaway server.
//!
//! Writes `.sqlx/` and `example/src/queries/`; commit both.

use pgtide_codegen::Codegen;

use crate::cluster;

/// This repository's codegen directories, relative to the workspace root.
pub fn codegen() -> Codegen {
    Codegen::new("queries", ".sqlx", "example/src/queries").regenerate_hint("`cargo xtask gen`")
}

pub fn run() -> anyhow::Result<()> {
    cluster::up(false)?;
    std::env::set_current_dir(pgtide_testkit::workspace_root())?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let db = pgtide_testkit::TestDb::new().await?;
            let codegen = codegen();
            for change in codegen.prepare(&db.url()).await? {
                eprintln!("xtask: {change}");
            }
            for change in codegen.generate()? {
                eprintln!("xtask: {change}");
            }
            eprintln!(
                "xtask: {} and {} are up to date",
                codegen.sqlx_dir.display(),
                codegen.out.display()
            );
            anyhow::Ok(())
        })
}
