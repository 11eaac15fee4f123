//! Codegen at scale: `pgtide gen` on 100, 1,000 and 5,000 synthetic queries (wall time, peak
//! memory) and `pgtide prepare` on 500, each a run of the release `pgtide` command; in a full
//! run also `cargo check` of the 500 queries' generated code vs the same queries through
//! sqlx's `query!` ([`check_rows`]).

use std::path::Path;
use std::process::Command;

use pgtide_testkit::TestDb;

use crate::Plan;
use crate::child;
use crate::report::{Stat, Table, Unit};

/// Writes `n` synthetic queries ([`pgtide_codegen::synthetic`]) under `dir/queries`.
fn write_queries(dir: &Path, n: usize) -> anyhow::Result<()> {
    Ok(pgtide_codegen::synthetic::write_queries(
        &dir.join("queries"),
        n,
    )?)
}

fn pgtide(db: &TestDb, dir: &Path, sub: &str) -> anyhow::Result<Command> {
    let mut cmd = Command::new(child::pgtide_exe()?);
    cmd.arg(sub)
        .args(["--queries", "queries", "--sqlx-dir", ".sqlx"])
        .env("DATABASE_URL", format!("{}?sslmode=disable", db.url()))
        .env_remove("PGTIDE_CONFIG")
        .current_dir(dir);
    if sub == "gen" {
        cmd.args(["--out", "out"]);
    }
    Ok(cmd)
}

/// `pgtide prepare` (500 queries) and `pgtide gen` (100, 1,000, 5,000), each several times.
pub fn codegen(plan: &Plan, db: &TestDb, scratch: &Path) -> anyhow::Result<Table> {
    let sizes: &[usize] = if plan.quick {
        &[100, 1000]
    } else {
        &[100, 1000, 5000]
    };
    let rounds = plan.rounds.min(3);
    let mut table = Table::new(
        "Codegen: the release `pgtide` command on synthetic queries",
        "Wall time and peak RSS of the process, median [min–max] over runs (targets: gen of \
         1,000 < 0.1 s; prepare of 500 ≤ 0.5 s).",
        &["wall time", "peak RSS"],
    );
    for &n in [500].iter().chain(sizes) {
        let dir = scratch.join(format!("codegen-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        write_queries(&dir, n)?;
        let (mut secs, mut rss) = (Vec::new(), Vec::new());
        let prepare_runs = if n == 500 { rounds } else { 1 };
        for _ in 0..prepare_runs {
            let _ = std::fs::remove_dir_all(dir.join(".sqlx"));
            let run = child::run(&mut pgtide(db, &dir, "prepare")?, scratch)?;
            secs.push(run.secs);
            rss.push(run.peak_mib);
        }
        if n == 500 {
            table.row(
                "pgtide prepare, 500 queries",
                vec![Stat::of(secs, Unit::Secs), Stat::of(rss, Unit::MiB)],
            );
            if !plan.quick {
                check_rows(&mut table, &dir, rounds)?;
            }
        }
        if sizes.contains(&n) {
            let (mut secs, mut rss) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                let _ = std::fs::remove_dir_all(dir.join("out"));
                let run = child::run(&mut pgtide(db, &dir, "gen")?, scratch)?;
                secs.push(run.secs);
                rss.push(run.peak_mib);
            }
            table.row(
                format!("pgtide gen, {n} queries"),
                vec![Stat::of(secs, Unit::Secs), Stat::of(rss, Unit::MiB)],
            );
        }
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(table)
}

/// `cargo check` of the generated code for the 500 prepared queries in `dir` vs the same
/// queries through sqlx's `query!` (offline, the same `.sqlx`): CPU seconds (user + sys) of
/// each `cargo check` after `cargo clean -p` of the crate, dependencies checked first
/// (untimed; their target directories stay in `target/bench` between runs), the two
/// interleaved per round, and the ratio per query.
fn check_rows(table: &mut Table, dir: &Path, rounds: usize) -> anyhow::Result<()> {
    let workspace = pgtide_testkit::workspace_root();
    let queries = pgtide_codegen::synthetic::write_check_crates(
        dir,
        500,
        &workspace,
        &workspace.join("Cargo.lock"),
    )?;
    let mut generate = Command::new(child::pgtide_exe()?);
    generate
        .args(["gen", "--queries", "queries", "--sqlx-dir", ".sqlx"])
        .args(["--out", "crate/src/queries"])
        .env_remove("PGTIDE_CONFIG")
        .current_dir(dir);
    child::run(&mut generate, dir)?;
    let sqlx_dir = dir.join(".sqlx");
    // Outside the scratch directory (removed after each run): dependencies stay checked.
    let targets = workspace.join("target/bench/codegen-check-targets");
    let check = |krate: &str, package: &str, clean: bool| -> anyhow::Result<f64> {
        let target = targets.join(krate);
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        if clean {
            let status = Command::new(&cargo)
                .args(["clean", "-q", "-p", package])
                .env("CARGO_TARGET_DIR", &target)
                .current_dir(dir.join(krate))
                .status()?;
            anyhow::ensure!(status.success(), "cargo clean -p {package} failed");
        }
        let times = dir.join("cpu.txt");
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%U %S", "-o"])
            .arg(&times)
            .arg(&cargo)
            .args(["check", "--offline", "-q"])
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_INCREMENTAL", "0")
            .env("SQLX_OFFLINE", "true")
            .env("SQLX_OFFLINE_DIR", &sqlx_dir)
            .env_remove("DATABASE_URL")
            .current_dir(dir.join(krate))
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "cargo check of {package} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&times)?;
        let line = text.lines().next_back().unwrap_or_default();
        Ok(line
            .split_whitespace()
            .filter_map(|v| v.parse::<f64>().ok())
            .sum())
    };
    let crates = [
        ("crate", "pgtide-bench-500"),
        ("sqlx-crate", "pgtide-bench-sqlx-500"),
    ];
    for (krate, package) in crates {
        check(krate, package, false)?;
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for i in 0..2 {
            let (krate, package) = crates[(i + round) % 2];
            let secs = check(krate, package, true)?;
            if krate == "crate" {
                ours.push(secs);
            } else {
                theirs.push(secs);
            }
        }
    }
    let per_query = |v: &[f64], n: usize| v.iter().map(|s| s / n as f64).collect::<Vec<_>>();
    table.row(
        "cargo check, generated code for 500 queries (CPU s)",
        vec![Stat::of(ours.clone(), Unit::Secs), None],
    );
    table.row(
        format!("cargo check, {queries} of them through sqlx query! (CPU s)"),
        vec![Stat::of(theirs.clone(), Unit::Secs), None],
    );
    table.row(
        "cargo check per query, generated ÷ query!",
        vec![
            Stat::ratio(&per_query(&ours, 500), &per_query(&theirs, queries)),
            None,
        ],
    );
    Ok(())
}
