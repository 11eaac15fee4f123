//! `cargo xtask bench [--quick | --query-only [--quick] | --tx-only [--quick] | --callgrind [queries]]`: builds the `bench/` crate and the
//! `pgtide` command in release mode (with line tables, so profiles name file:line) and runs
//! the bench against the throwaway server; it writes `target/bench/report.md` and
//! `report.json`. Its heavy dependencies (tokio-postgres, deadpool-postgres) stay out of xtask
//! itself.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use crate::cluster;

/// The clients `--callgrind` profiles, as the bench's `--profile` names them (the `-tx` ones
/// run one point select inside a transaction per count).
const PROFILED: [&str; 6] = [
    "pgtide",
    "floor",
    "deadpool-postgres",
    "pgtide-tx",
    "pgtide-tx-raw",
    "floor-tx",
];

/// Runs the comparison (`args` empty or `--quick`) or the callgrind profile.
pub fn run(args: &[&str]) -> anyhow::Result<()> {
    match args {
        []
        | ["--quick"]
        | ["--query-only"]
        | ["--query-only", "--quick"]
        | ["--tx-only"]
        | ["--tx-only", "--quick"] => {
            cluster::up(false)?;
            build_release()?;
            let exe = pgtide_testkit::workspace_root().join("target/release/pgtide-bench");
            let status = Command::new(exe)
                .args(args)
                .env("PGTIDE_DB_STATE", pgtide_testkit::state_path().as_os_str())
                .status()?;
            if !status.success() {
                bail!("the benchmark failed ({status})");
            }
            Ok(())
        }
        ["--callgrind"] => callgrind(2000),
        ["--callgrind", n] => callgrind(n.parse().context("--callgrind takes a query count")?),
        _ => bail!(
            "usage: cargo xtask bench [--quick | --query-only [--quick] | --tx-only [--quick] | \
             --callgrind [queries]]"
        ),
    }
}

/// The bench and the `pgtide` command it runs (COPY, codegen), optimised, with line tables.
fn build_release() -> anyhow::Result<()> {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "pgtide-bench",
            "-p",
            "pgtide-cli",
        ])
        .env("CARGO_PROFILE_RELEASE_DEBUG", "line-tables-only")
        .status()?;
    if !status.success() {
        bail!("building the benchmark failed ({status})");
    }
    Ok(())
}

/// Instructions per query of each profiled client, one task, `queries` point selects, counted
/// by callgrind inside the bench's `hot_loop` only. Output files stay in
/// `target/callgrind/` for `callgrind_annotate`.
fn callgrind(queries: u64) -> anyhow::Result<()> {
    cluster::up(false)?;
    build_release()?;
    let root = pgtide_testkit::workspace_root();
    let exe = root.join("target/release/pgtide-bench");
    let out_dir = root.join("target/callgrind");
    std::fs::create_dir_all(&out_dir)?;
    println!(
        "callgrind, {queries} point selects on one task (-tx: {queries} transactions of one), \
         instructions per query (-tx: per transaction):"
    );
    for client in PROFILED {
        let out: PathBuf = out_dir.join(format!("{client}.out"));
        let run = Command::new("valgrind")
            .args(["--tool=callgrind", "--toggle-collect=*hot_loop*"])
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(&exe)
            .args(["--profile", client, &queries.to_string()])
            .env("PGTIDE_DB_STATE", pgtide_testkit::state_path().as_os_str())
            .output()
            .context("running valgrind (install it: `apt-get install valgrind`)")?;
        if !run.status.success() {
            bail!(
                "valgrind on {client} failed ({}): {}",
                run.status,
                String::from_utf8_lossy(&run.stderr)
            );
        }
        let text = std::fs::read_to_string(&out)?;
        let total: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("summary:").or(l.strip_prefix("totals:")))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .with_context(|| format!("no totals in {}", out.display()))?;
        println!(
            "  {client:<20} {:>9.0}   ({})",
            total as f64 / queries as f64,
            out.display()
        );
    }
    Ok(())
}
