//! A fixed number of point selects through one client, for counting what a query costs:
//! instructions under callgrind, and CPU time (this process's and the server backends') from
//! `/proc`, which sees what callgrind cannot (system calls, wakeups across worker threads).
//!
//! One task runs on a current-thread runtime inside [`hot_loop`] (callgrind:
//! `--toggle-collect='*hot_loop*'`). With `--tasks N` the queries are split over `N` tasks on
//! the bench's multi-thread runtime (one worker per core, as in the wall-clock tables), also
//! inside [`hot_loop`]; callgrind then counts the whole run (`cargo xtask bench --callgrind`
//! subtracts a shorter run of the same client to take setup out).

use std::time::{Duration, Instant};

use anyhow::bail;
use pgtide_testkit::TestDb;

use crate::query::{
    Pools, ROWS, SQL, Shape, deadpool_postgres_query, floor_query, floor_transaction,
    pgtide_transaction, pgtide_transaction_raw, setup,
};

/// The clients `--profile` runs: a point select through pgtide's `&Pool`, the floor or
/// deadpool-postgres (`floor-lifo`: the floor in pgtide's queue order), or one transaction holding that point select, as in the bench's
/// Transactions table: pgtide's `transaction_boxed` with the select run through the
/// transaction (`pgtide-tx`) or on its raw connection (`pgtide-tx-raw`), or a sqlx
/// transaction on the floor's connection (`floor-tx`).
pub const CLIENTS: [&str; 7] = [
    "pgtide",
    "floor",
    "floor-lifo",
    "deadpool-postgres",
    "pgtide-tx",
    "pgtide-tx-raw",
    "floor-tx",
];

/// Sets up, warms up, then runs `queries` point selects of `client` over `tasks` tasks inside
/// [`hot_loop`]; prints what they cost per query on stderr. With `open`, that many
/// connections are opened first, and the run is on the multi-thread runtime even for one task.
pub fn run(client: &str, queries: u64, tasks: usize, open: Option<usize>) -> anyhow::Result<()> {
    if !CLIENTS.contains(&client) {
        bail!("--profile takes {}, not `{client}`", CLIENTS.join(", "));
    }
    if tasks == 0 || open == Some(0) {
        bail!("--tasks and --open take a positive count");
    }
    let rt = if tasks == 1 && open.is_none() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        crate::multi_thread()?
    };
    let (db, pools) = rt.block_on(async {
        let db = TestDb::new().await?;
        let pools = setup(&db).await?;
        anyhow::Ok((db, pools))
    })?;
    // Every connection the run needs (or `open` asks for) is open and warm before it starts.
    let warm = open.unwrap_or(tasks).max(tasks);
    rt.block_on(spread(client, &pools, 200 * warm as u64, warm));
    let backends = rt.block_on(backend_pids(&db))?;
    let before = Usage::now(&backends);
    let started = Instant::now();
    hot_loop(&rt, spread(client, &pools, queries, tasks));
    let wall = started.elapsed();
    let used = Usage::now(&backends).since(&before);
    // Let the pools' background work settle outside the measured span.
    // (The timer is made inside the runtime: `sleep` needs its context when called.)
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(10)).await });
    drop((pools, db));
    let per = |ns: u64| ns as f64 / 1000.0 / queries as f64;
    eprintln!(
        "profiled {queries} queries through {client} on {tasks} task(s): {:.0} queries/s; per \
         query: client CPU {:.1} µs, server CPU {:.1} µs, client context switches {:.2}",
        queries as f64 / wall.as_secs_f64(),
        per(used.client_ns),
        per(used.server_ns),
        used.client_switches as f64 / queries as f64,
    );
    Ok(())
}

/// The measured span (callgrind: `--toggle-collect='*hot_loop*'`).
#[inline(never)]
pub fn hot_loop(rt: &tokio::runtime::Runtime, work: impl std::future::Future<Output = ()>) {
    rt.block_on(work);
}

/// `queries` point selects split over `tasks` tasks (spawned when more than one).
async fn spread(client: &str, pools: &Pools, queries: u64, tasks: usize) {
    if tasks == 1 {
        return queries_of(client, pools, 0, queries).await;
    }
    let per_task = queries / tasks as u64;
    let handles: Vec<_> = (0..tasks as u64)
        .map(|t| {
            let (client, pools) = (client.to_owned(), pools.clone());
            tokio::spawn(async move { queries_of(&client, &pools, t * 7919, per_task).await })
        })
        .collect();
    for handle in handles {
        handle.await.expect("profile task");
    }
}

async fn queries_of(client: &str, pools: &Pools, first: u64, queries: u64) {
    for i in first..first + queries {
        let id = (i as i64 * 7) % ROWS + 1;
        match client {
            "pgtide" => {
                let _: (i64, String) = sqlx::query_as(SQL)
                    .bind(id)
                    .fetch_one(&pools.pgtide)
                    .await
                    .expect("row");
            }
            "floor" => floor_query(&pools.floor, Shape::Point, id).await,
            "floor-lifo" => floor_query(&pools.floor_lifo, Shape::Point, id).await,
            "pgtide-tx" => pgtide_transaction(&pools.pgtide, id).await,
            "pgtide-tx-raw" => pgtide_transaction_raw(&pools.pgtide, id).await,
            "floor-tx" => floor_transaction(&pools.floor, id).await,
            _ => deadpool_postgres_query(&pools.deadpool_postgres, Shape::Point, id).await,
        }
    }
}

/// The server processes serving the bench database (every pool's connections).
async fn backend_pids(db: &TestDb) -> anyhow::Result<Vec<u32>> {
    let mut conn = db.connect().await?;
    let pids: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut conn)
    .await?;
    sqlx::Connection::close(conn).await?;
    Ok(pids
        .into_iter()
        .filter_map(|p| u32::try_from(p).ok())
        .collect())
}

/// CPU time and context switches so far, from `/proc` (Linux; zeros elsewhere).
struct Usage {
    client_ns: u64,
    client_switches: u64,
    server_ns: u64,
}

impl Usage {
    fn now(backends: &[u32]) -> Self {
        let me = std::process::id();
        Self {
            client_ns: cpu_ns(me),
            client_switches: switches(me),
            server_ns: backends.iter().map(|&pid| cpu_ns(pid)).sum(),
        }
    }

    fn since(&self, before: &Self) -> Self {
        Self {
            client_ns: self.client_ns.saturating_sub(before.client_ns),
            client_switches: self.client_switches.saturating_sub(before.client_switches),
            server_ns: self.server_ns.saturating_sub(before.server_ns),
        }
    }
}

/// The threads of process `pid`.
fn threads(pid: u32) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|dir| dir.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default()
}

/// Nanoseconds on a CPU, all threads of `pid` (`schedstat`'s first field).
fn cpu_ns(pid: u32) -> u64 {
    threads(pid)
        .iter()
        .filter_map(|t| {
            let text = std::fs::read_to_string(t.join("schedstat")).ok()?;
            text.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// Voluntary and involuntary context switches, all threads of `pid`.
fn switches(pid: u32) -> u64 {
    threads(pid)
        .iter()
        .filter_map(|t| std::fs::read_to_string(t.join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}
