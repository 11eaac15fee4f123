//! pgtide side by side with its peers, every figure a ratio measured in the same run
//! (interleaved rounds, median and spread). Run with `cargo xtask bench` (`--quick` for a
//! short run); see [`query`] (query path, generated code, retry/timeout overhead),
//! [`transfer`] (COPY and streaming) and [`codegen`]. The tables are printed and written to
//! `target/bench/report.md` and `report.json`.
//!
//! `--smoke` (one 30 ms round of the in-process comparisons; `cargo xtask test` runs it) only
//! proves every client works.
//!
//! `--query-only [--quick]` runs only the point-select table's pgtide, floor and
//! deadpool-postgres cells (the targets' three clients; about a minute, for iterating).
//! `--tx-only [--quick]` runs only the Transactions table's cells (pgtide's closure
//! transaction, its statement run through it or on the raw connection, and a sqlx transaction
//! on the floor's connection).
//! `PGTIDE_BENCH_MS` and `PGTIDE_BENCH_ROUNDS` change a cell's length and the number of
//! rounds of any run but `--smoke`.
//!
//! `--profile <client> <queries> [--tasks N]` runs that many point selects (for the `-tx`
//! clients, that many one-select transactions; the clients are [`profile::CLIENTS`]) inside
//! `profile::hot_loop` (one task on a single-threaded runtime, or `N` tasks on the
//! multi-thread runtime), for `valgrind --tool=callgrind --toggle-collect='*hot_loop*'`
//! (instructions per query), and prints CPU time per query (client and server) on stderr.
//! `--open M` first opens `M` connections (warmed on `M` tasks), as the bench's tables have
//! when their one-task cells run, and then runs on the multi-thread runtime even for one task.

mod child;
mod codegen;
mod floor;
mod pgbench;
mod profile;
mod query;
mod report;
mod transfer;

use std::time::Duration;

use pgtide_testkit::TestDb;

use report::{Machine, Table};

/// How long and how often: full (`cargo xtask bench`), `--quick` or `--smoke`.
#[derive(Clone, Copy)]
pub struct Plan {
    cell: Duration,
    rounds: usize,
    quick: bool,
    smoke: bool,
    /// Only the point-select cells of pgtide, the floor and deadpool-postgres.
    query_only: bool,
    /// Only the Transactions table's cells.
    tx_only: bool,
}

impl Plan {
    /// One short round: proves every client runs (the suite's form; ratios mean little).
    fn smoke() -> Self {
        Self {
            cell: Duration::from_millis(30),
            rounds: 1,
            quick: true,
            smoke: true,
            query_only: false,
            tx_only: false,
        }
    }

    fn new(quick: bool, query_only: bool) -> Self {
        Self::with(quick, query_only, false)
    }

    fn tx_only(quick: bool) -> Self {
        Self::with(quick, false, true)
    }

    fn with(quick: bool, query_only: bool, tx_only: bool) -> Self {
        let default_ms = if quick { 200 } else { 1000 };
        let ms = std::env::var("PGTIDE_BENCH_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_ms);
        let rounds = std::env::var("PGTIDE_BENCH_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or(if quick { 3 } else { 5 });
        Self {
            cell: Duration::from_millis(ms),
            rounds,
            quick,
            smoke: false,
            query_only,
            tx_only,
        }
    }

    fn mode(&self) -> &'static str {
        if self.tx_only {
            return if self.quick {
                "--tx-only --quick"
            } else {
                "--tx-only"
            };
        }
        match (self.smoke, self.quick, self.query_only) {
            (true, _, _) => "--smoke",
            (false, true, true) => "--query-only --quick",
            (false, false, true) => "--query-only",
            (false, true, false) => "--quick",
            (false, false, false) => "full",
        }
    }
}

async fn run(plan: Plan) -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let postgres: String = {
        let mut conn = db.connect().await?;
        sqlx::query_scalar("SHOW server_version")
            .fetch_one(&mut conn)
            .await?
    };
    let machine = Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load: report::load_average(),
        postgres,
        mode: plan.mode(),
        rounds: plan.rounds,
    };
    println!("{}\n", report::header(&machine));
    let mut tables: Vec<Table> = Vec::new();
    let show = |t: &Table| println!("{}", t.terminal());
    for t in query::compare(&plan, &db).await? {
        show(&t);
        tables.push(t);
    }
    if !plan.smoke && !plan.query_only && !plan.tx_only {
        let root = pgtide_testkit::workspace_root().join("target/bench");
        let scratch = root.join("scratch");
        std::fs::create_dir_all(&scratch)?;
        let result = async {
            let t = transfer::copy(&plan, &db, &scratch).await?;
            show(&t);
            tables.push(t);
            let t = transfer::stream(&plan, &db, &scratch).await?;
            show(&t);
            tables.push(t);
            let t = tokio::task::block_in_place(|| codegen::codegen(&plan, &db, &scratch))?;
            show(&t);
            tables.push(t);
            anyhow::Ok(())
        }
        .await;
        let _ = std::fs::remove_dir_all(&scratch);
        result?;
        report::write(&root, &machine, &tables)?;
        println!(
            "written: {} and report.json",
            root.join("report.md").display()
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => multi_thread()?.block_on(run(Plan::new(false, false))),
        ["--quick"] => multi_thread()?.block_on(run(Plan::new(true, false))),
        ["--query-only"] => multi_thread()?.block_on(run(Plan::new(false, true))),
        ["--query-only", "--quick"] | ["--quick", "--query-only"] => {
            multi_thread()?.block_on(run(Plan::new(true, true)))
        }
        ["--tx-only"] => multi_thread()?.block_on(run(Plan::tx_only(false))),
        ["--tx-only", "--quick"] | ["--quick", "--tx-only"] => {
            multi_thread()?.block_on(run(Plan::tx_only(true)))
        }
        ["--smoke"] => multi_thread()?.block_on(run(Plan::smoke())),
        ["--profile", client, queries] => profile::run(client, queries.parse()?, 1, None),
        ["--profile", client, queries, "--tasks", tasks] => {
            profile::run(client, queries.parse()?, tasks.parse()?, None)
        }
        [
            "--profile",
            client,
            queries,
            "--tasks",
            tasks,
            "--open",
            open,
        ] => profile::run(
            client,
            queries.parse()?,
            tasks.parse()?,
            Some(open.parse()?),
        ),
        ["--copy-only"] => multi_thread()?.block_on(transfer::copy_only(Plan::new(false, false))),
        ["--stream-child", client, rows] => transfer::stream_child(client, rows.parse()?),
        _ => anyhow::bail!(
            "usage: pgtide-bench [--quick | --smoke | --query-only [--quick] | --tx-only [--quick] | \
             --copy-only | --profile <pgtide|floor|floor-lifo|deadpool-postgres|pgtide-tx|pgtide-tx-raw|floor-tx> \
             <queries> [--tasks N [--open M]]]"
        ),
    }
}

fn multi_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
