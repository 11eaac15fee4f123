//! Measures codegen at scale: `cargo run --release -p pgtide-codegen --example bench -- [N]`
//! (needs `cargo xtask db up`).
//!
//! Writes N synthetic queries (default 1,000, from [`pgtide_codegen::synthetic`]) to
//! `target/codegen-bench/N/queries/`, prepares them against a fresh test database, then times
//! `gen` (in process) and writes a library crate `target/codegen-bench/N/crate` whose
//! `src/queries/` is the output, for timing its offline build with `cargo check` (see README).

use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1000);
    let root = pgtide_testkit::workspace_root().join(format!("target/codegen-bench/{n}"));
    // Everything but the crate's `target/` (its dependencies stay checked between runs).
    for old in ["queries", ".sqlx", "crate/src", "sqlx-crate/src"] {
        let _ = std::fs::remove_dir_all(root.join(old));
    }
    let queries = root.join("queries");
    pgtide_codegen::synthetic::write_queries(&queries, n)?;
    let crate_dir = root.join("crate");
    let codegen =
        pgtide_codegen::Codegen::new(&queries, root.join(".sqlx"), crate_dir.join("src/queries"));

    let db = pgtide_testkit::TestDb::new().await?;
    let started = Instant::now();
    codegen.prepare(&db.url()).await?;
    println!("prepare: {n} queries in {:.2?}", started.elapsed());

    let started = Instant::now();
    let written = codegen.generate()?;
    println!(
        "gen: {n} queries, {} files in {:.1?}",
        written.len(),
        started.elapsed()
    );
    let started = Instant::now();
    assert!(codegen.check()?.is_empty());
    println!("gen --check: {n} queries in {:.1?}", started.elapsed());

    let workspace = pgtide_testkit::workspace_root();
    let count = pgtide_codegen::synthetic::write_check_crates(
        &root,
        n,
        &workspace,
        &workspace.join("Cargo.lock"),
    )?;
    println!(
        "crate: {} (check it with SQLX_OFFLINE=true cargo check --offline)",
        crate_dir.display()
    );
    println!(
        "sqlx query! crate: {} ({count} of the queries; check it with SQLX_OFFLINE=true SQLX_OFFLINE_DIR={} cargo check --offline)",
        root.join("sqlx-crate").display(),
        root.join(".sqlx").display()
    );
    Ok(())
}
