//! Moving data: `pgtide import`/`export` of a generated mixed-type CSV vs `psql \copy` both
//! ways, and streaming rows through pgtide's `Pool` vs a raw sqlx connection. Each client runs
//! as its own process, measured from outside (wall time, peak RSS), in interleaved rounds.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use futures_util::TryStreamExt;
use pgtide_testkit::TestDb;
use sqlx::Connection;

use crate::Plan;
use crate::child;
use crate::report::{Stat, Table, Unit};

const TABLE_SQL: &str = "CREATE TABLE copy_bench (id bigint PRIMARY KEY, name text NOT NULL, \
     amount numeric(12,2), happened timestamptz, flag boolean, ref uuid, note text)";

/// Writes `rows` mixed-type CSV rows (with a header) to `path`; about 100 bytes a row.
fn write_csv(path: &Path, rows: u64) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "id,name,amount,happened,flag,ref,note")?;
    let mut line = String::new();
    for i in 1..=rows {
        line.clear();
        let amount = if i % 13 == 0 {
            String::new()
        } else {
            format!("{}.{:02}", i % 100_000, i % 100)
        };
        let _ = write!(
            line,
            "{i},customer {i:08},{amount},2024-{:02}-{:02} {:02}:{:02}:{:02}+00,{},{:08x}-0000-4000-8000-{:012x},",
            i % 12 + 1,
            i % 28 + 1,
            i % 24,
            i % 60,
            (i * 7) % 60,
            if i % 2 == 0 { "true" } else { "false" },
            i as u32,
            i * 2654435761 % (1 << 48),
        );
        if i % 5 == 0 {
            let _ = write!(line, "\"note, with a comma and \"\"quotes\"\" {i}\"");
        } else {
            let _ = write!(line, "plain note {i}");
        }
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

/// `psql` connected to the bench database, password in the environment.
fn psql(db: &TestDb, command: &str) -> Command {
    let s = db.server();
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", &s.host])
        .args(["-p", &s.port.to_string(), "-U", &s.user, "-d", db.name()])
        .args(["-c", command])
        .env("PGPASSWORD", &s.password)
        .env("PGSSLMODE", "disable");
    cmd
}

/// The release `pgtide` command, configured through `DATABASE_URL` (never argv).
fn pgtide(db: &TestDb, scratch: &Path) -> anyhow::Result<Command> {
    let mut cmd = Command::new(child::pgtide_exe()?);
    cmd.env("DATABASE_URL", format!("{}?sslmode=disable", db.url()))
        .env_remove("PGTIDE_CONFIG")
        .current_dir(scratch);
    Ok(cmd)
}

async fn truncate(db: &TestDb) -> anyhow::Result<()> {
    let mut conn = db.connect().await?;
    sqlx::query("TRUNCATE copy_bench")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

async fn count(db: &TestDb) -> anyhow::Result<i64> {
    let mut conn = db.connect().await?;
    let n = sqlx::query_scalar("SELECT count(*) FROM copy_bench")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(n)
}

/// COPY in and out: time ratio pgtide ÷ psql (< 1: pgtide is faster) and peak memory.
pub async fn copy(plan: &Plan, db: &TestDb, scratch: &Path) -> anyhow::Result<Table> {
    let rows: u64 = if plan.quick { 100_000 } else { 1_000_000 };
    let csv = scratch.join("copy.csv");
    let exported = scratch.join("exported.csv");
    write_csv(&csv, rows)?;
    let mib = std::fs::metadata(&csv)?.len() as f64 / (1 << 20) as f64;
    {
        let mut conn = db.connect().await?;
        sqlx::query(TABLE_SQL).execute(&mut conn).await?;
        conn.close().await?;
    }
    let csv_s = csv.display().to_string();
    let exp_s = exported.display().to_string();
    // `PGTIDE_BENCH_COPY_ROUNDS` asks for more rounds (the spreads are wide on a busy machine).
    let rounds = std::env::var("PGTIDE_BENCH_COPY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(plan.rounds.min(3));
    // [client][round]: pgtide import, psql import, pgtide export, psql export
    let mut secs = vec![Vec::new(); 4];
    let mut rss = vec![Vec::new(); 4];
    for round in 0..rounds {
        for k in 0..2 {
            let which = (k + round) % 2;
            truncate(db).await?;
            let mut cmd = if which == 0 {
                let mut c = pgtide(db, scratch)?;
                c.args(["import", &csv_s, "--table", "copy_bench", "--header", "yes"]);
                c
            } else {
                psql(
                    db,
                    &format!("\\copy copy_bench FROM '{csv_s}' WITH (FORMAT csv, HEADER true)"),
                )
            };
            let run = child::run(&mut cmd, scratch)?;
            anyhow::ensure!(count(db).await? == rows as i64, "import loaded every row");
            secs[which].push(run.secs);
            rss[which].push(run.peak_mib);
        }
        for k in 0..2 {
            let which = 2 + (k + round) % 2;
            let mut cmd = if which == 2 {
                let mut c = pgtide(db, scratch)?;
                c.args(["export", "--table", "copy_bench", &exp_s, "--header"]);
                c
            } else {
                psql(
                    db,
                    &format!("\\copy copy_bench TO '{exp_s}' WITH (FORMAT csv, HEADER true)"),
                )
            };
            let run = child::run(&mut cmd, scratch)?;
            anyhow::ensure!(
                std::fs::metadata(&exported)?.len() > 0,
                "export wrote the file"
            );
            std::fs::remove_file(&exported)?;
            secs[which].push(run.secs);
            rss[which].push(run.peak_mib);
        }
    }
    std::fs::remove_file(&csv)?;
    let mut table = Table::new(
        &format!("COPY: {rows} rows, {mib:.0} MB mixed-type CSV"),
        "Time ratio: pgtide's wall time ÷ psql's, per round (< 1: pgtide is faster; target ≤ \
         1.05×, i.e. ≥ 0.95× the throughput). Peak RSS of each process.",
        &[
            "pgtide ÷ psql time",
            "pgtide time",
            "psql time",
            "pgtide peak RSS",
            "psql peak RSS",
        ],
    );
    for (label, p, q) in [
        ("import (pgtide import vs psql \\copy FROM)", 0, 1),
        ("export (pgtide export vs psql \\copy TO)", 2, 3),
    ] {
        table.row(
            label,
            vec![
                Stat::ratio(&secs[p], &secs[q]),
                Stat::of(secs[p].clone(), Unit::Secs),
                Stat::of(secs[q].clone(), Unit::Secs),
                Stat::of(rss[p].clone(), Unit::MiB),
                Stat::of(rss[q].clone(), Unit::MiB),
            ],
        );
    }
    let mut conn = db.connect().await?;
    sqlx::query("DROP TABLE copy_bench")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(table)
}

/// `pgtide-bench --copy-only`: the COPY table alone (full size, 3 rounds unless
/// `PGTIDE_BENCH_COPY_ROUNDS` says otherwise), printed to the terminal, for iterating on
/// import and export.
pub async fn copy_only(plan: Plan) -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let scratch = pgtide_testkit::workspace_root().join("target/bench/scratch-copy");
    std::fs::create_dir_all(&scratch)?;
    let table = copy(&plan, &db, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    println!(
        "load average {}\n\n{}",
        crate::report::load_average(),
        table?.terminal()
    );
    Ok(())
}

const STREAM_SQL: &str =
    "SELECT g::int8, 'row number ' || g, g * 0.5::float8 FROM generate_series(1, $1::int8) g";

/// Streaming: rows/s of pgtide's `Pool` as the executor vs a raw sqlx connection, each in its
/// own process (`pgtide-bench --stream-child`), with its peak memory.
pub async fn stream(plan: &Plan, db: &TestDb, scratch: &Path) -> anyhow::Result<Table> {
    let rows: u64 = if plan.quick { 200_000 } else { 1_000_000 };
    let exe = std::env::current_exe()?;
    let rounds = plan.rounds.min(5);
    let mut per_sec = vec![Vec::new(); 2];
    let mut rss = vec![Vec::new(); 2];
    for round in 0..rounds {
        for k in 0..2 {
            let which = (k + round) % 2;
            let mut cmd = Command::new(&exe);
            cmd.args([
                "--stream-child",
                ["pgtide", "sqlx"][which],
                &rows.to_string(),
            ])
            .env("PGTIDE_BENCH_URL", format!("{}?sslmode=disable", db.url()));
            let run = child::run(&mut cmd, scratch)?;
            let r: f64 =
                run.stdout.trim().parse().with_context(|| {
                    format!("rows/s from the streaming child: {:?}", run.stdout)
                })?;
            per_sec[which].push(r);
            rss[which].push(run.peak_mib);
        }
    }
    let mut table = Table::new(
        &format!("Streaming {rows} rows (int8, text, float8)"),
        "Rows/s with the ratio pgtide ÷ raw sqlx per round; peak RSS of each process.",
        &["pgtide ÷ sqlx rows/s", "rows/s", "peak RSS"],
    );
    table.row(
        "pgtide: sqlx query_as(..).fetch(&pool)",
        vec![
            Stat::ratio(&per_sec[0], &per_sec[1]),
            Stat::of(per_sec[0].clone(), Unit::PerSec),
            Stat::of(rss[0].clone(), Unit::MiB),
        ],
    );
    table.row(
        "raw sqlx: fetch(&mut PgConnection)",
        vec![
            None,
            Stat::of(per_sec[1].clone(), Unit::PerSec),
            Stat::of(rss[1].clone(), Unit::MiB),
        ],
    );
    Ok(table)
}

/// The streaming child: streams `rows` rows through `client`, prints rows/s.
pub fn stream_child(client: &str, rows: i64) -> anyhow::Result<()> {
    let url = std::env::var("PGTIDE_BENCH_URL").context("PGTIDE_BENCH_URL")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let query = || sqlx::query_as::<_, (i64, String, f64)>(STREAM_SQL).bind(rows);
        let mut seen = 0i64;
        let started;
        match client {
            "pgtide" => {
                let config = pgtide::config::Config::loader()
                    .no_file_search()
                    .env([("DATABASE_URL", url.as_str())])
                    .load()?;
                let pool = pgtide::Pool::connect(&config).await?;
                started = Instant::now();
                let mut s = query().fetch(&pool);
                while let Some(row) = s.try_next().await? {
                    seen += row.0.min(1);
                }
            }
            _ => {
                let mut conn = sqlx::PgConnection::connect(&url).await?;
                started = Instant::now();
                let mut s = query().fetch(&mut conn);
                while let Some(row) = s.try_next().await? {
                    seen += row.0.min(1);
                }
            }
        }
        anyhow::ensure!(seen == rows, "streamed {seen} of {rows} rows");
        println!("{}", rows as f64 / started.elapsed().as_secs_f64());
        anyhow::Ok(())
    })
}
