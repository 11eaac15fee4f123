//! Codegen at scale: `pgtide gen` on 100, 1,000 and 5,000 synthetic queries (wall time, peak
//! memory) and `pgtide prepare` on 500, each a run of the release `pgtide` command.

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
