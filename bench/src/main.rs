//! Point selects by primary key through each pool design, in one run, on one server, at 1, 8
//! and 32 tasks. Run with `cargo xtask bench` (`--quick` for a short run).
//!
//! Clients: pgtide's `Pool`; the design's floor (a bare deadpool pool of sqlx connections, no
//! pgtide code, see [`floor`]); deadpool-postgres; sqlx's `PgPool` (defaults, and with the
//! checkout ping off); one sqlx connection (1 task); and `pgbench -M prepared` with as many
//! clients as tasks. The cells run in interleaved rounds (every client once per round, the
//! order rotating) so drift on a shared machine hits all clients alike; each row prints how
//! pgtide compares with that client — pgtide's queries/s divided by the client's — as the
//! median over rounds with the spread (min–max) beside it.
//!
//! `--smoke` (one 30 ms round; `cargo xtask test` runs it) only proves every client works.
//!
//! `--profile <pgtide|floor|deadpool-postgres> <queries>` runs that many queries on one task
//! and a single-threaded runtime inside `profile::hot_loop`, for
//! `valgrind --tool=callgrind --toggle-collect='*hot_loop*'` (instructions per query).

mod floor;
mod pgbench;
mod profile;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pgtide::config::{Config, HealthCheck, PoolSize, SslMode};
use pgtide::{Pool, SecretString};
use pgtide_testkit::{ServerState, TestDb};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};

const ROWS: i64 = 1000;
const POOL_MAX: u32 = 16;
const TASKS: [usize; 3] = [1, 8, 32];
const SQL: &str = "SELECT author_id, name FROM authors WHERE author_id = $1";

/// How long and how often: full (`cargo xtask bench`) or `--quick`.
#[derive(Clone, Copy)]
struct Plan {
    cell: Duration,
    rounds: usize,
}

impl Plan {
    /// One short round: proves every client runs (the suite's form; ratios mean little).
    fn smoke() -> Self {
        Self {
            cell: Duration::from_millis(30),
            rounds: 1,
        }
    }

    fn new(quick: bool) -> Self {
        let default_ms = if quick { 300 } else { 1000 };
        let ms = std::env::var("PGTIDE_BENCH_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_ms);
        Self {
            cell: Duration::from_millis(ms),
            rounds: if quick { 3 } else { 7 },
        }
    }
}

/// Every pool under test, connected to the bench database.
#[derive(Clone)]
struct Pools {
    pgtide: Pool,
    floor: floor::BarePool,
    deadpool_postgres: deadpool_postgres::Pool,
    sqlx_default: PgPool,
    sqlx_no_ping: PgPool,
    single: Arc<tokio::sync::Mutex<sqlx::PgConnection>>,
}

/// The clients, in table order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Client {
    Pgtide,
    Floor,
    DeadpoolPostgres,
    PgBench,
    SqlxDefault,
    SqlxNoPing,
    Single,
}

impl Client {
    const ALL: [Client; 7] = [
        Client::Pgtide,
        Client::Floor,
        Client::DeadpoolPostgres,
        Client::PgBench,
        Client::SqlxDefault,
        Client::SqlxNoPing,
        Client::Single,
    ];

    fn label(self) -> &'static str {
        match self {
            Client::Pgtide => "pgtide Pool (queries/s)",
            Client::Floor => "bare deadpool + sqlx floor (no pgtide code)",
            Client::DeadpoolPostgres => "deadpool-postgres",
            Client::PgBench => "pgbench -M prepared (same query)",
            Client::SqlxDefault => "sqlx PgPool, defaults (ping on checkout)",
            Client::SqlxNoPing => "sqlx PgPool, test_before_acquire(false)",
            Client::Single => "one sqlx PgConnection, no pool",
        }
    }

    fn runs_at(self, tasks: usize) -> bool {
        self != Client::Single || tasks == 1
    }
}

/// Runs `tasks` tasks doing `one(i)` in a loop for `run_for`; returns queries/s.
async fn measure<F, Fut>(tasks: usize, run_for: Duration, one: F) -> f64
where
    F: Fn(i64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let one = Arc::new(one);
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + run_for;
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (one, done) = (Arc::clone(&one), Arc::clone(&done));
            tokio::spawn(async move {
                let mut i = t as i64;
                while Instant::now() < deadline {
                    one(i % ROWS + 1).await;
                    i += 7;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.await.expect("bench task");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Queries/s of a pool that runs sqlx queries as `&pool` (pgtide's `Pool`, sqlx's `PgPool`).
async fn through_executor<P>(pool: P, tasks: usize, run_for: Duration) -> f64
where
    P: Clone + Send + Sync + 'static,
    for<'c> &'c P: sqlx::PgExecutor<'c>,
{
    measure(tasks, run_for, move |id| {
        let p = pool.clone();
        async move {
            let _: (i64, String) = sqlx::query_as(SQL)
                .bind(id)
                .fetch_one(&p)
                .await
                .expect("row");
        }
    })
    .await
}

struct Bench {
    pools: Pools,
    server: ServerState,
    database: String,
    script: pgbench::Script,
}

impl Bench {
    async fn cell(&self, client: Client, tasks: usize, run_for: Duration) -> anyhow::Result<f64> {
        let pools = self.pools.clone();
        Ok(match client {
            Client::Pgtide => through_executor(pools.pgtide, tasks, run_for).await,
            Client::SqlxDefault => through_executor(pools.sqlx_default, tasks, run_for).await,
            Client::SqlxNoPing => through_executor(pools.sqlx_no_ping, tasks, run_for).await,
            Client::Floor => {
                measure(tasks, run_for, move |id| {
                    let p = pools.floor.clone();
                    async move { floor_query(&p, id).await }
                })
                .await
            }
            Client::DeadpoolPostgres => {
                measure(tasks, run_for, move |id| {
                    let p = pools.deadpool_postgres.clone();
                    async move { deadpool_postgres_query(&p, id).await }
                })
                .await
            }
            Client::Single => {
                measure(tasks, run_for, move |id| {
                    let c = Arc::clone(&pools.single);
                    async move {
                        let mut c = c.lock().await;
                        let _: (i64, String) = sqlx::query_as(SQL)
                            .bind(id)
                            .fetch_one(&mut *c)
                            .await
                            .expect("row");
                    }
                })
                .await
            }
            Client::PgBench => {
                let (server, database) = (self.server.clone(), self.database.clone());
                let script_run = &self.script;
                tokio::task::block_in_place(|| {
                    pgbench::measure(&server, &database, script_run, tasks, run_for)
                })?
            }
        })
    }
}

/// One point select through the bare floor pool.
async fn floor_query(pool: &floor::BarePool, id: i64) {
    let mut conn = pool.get().await.expect("floor pool");
    let _: (i64, String) = sqlx::query_as(SQL)
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .expect("row");
}

/// One point select through deadpool-postgres (statement cached per connection).
async fn deadpool_postgres_query(pool: &deadpool_postgres::Pool, id: i64) {
    let client = pool.get().await.expect("deadpool-postgres");
    let stmt = client.prepare_cached(SQL).await.expect("prepare");
    client.query_one(&stmt, &[&id]).await.expect("row");
}

/// Creates the bench database (with `ROWS` authors) and every pool.
async fn setup(db: &TestDb) -> anyhow::Result<Pools> {
    let s = db.server().clone();
    let mut conn = db.connect().await?;
    sqlx::query("INSERT INTO authors (name) SELECT 'author ' || g FROM generate_series(1, $1) g")
        .bind(ROWS)
        .execute(&mut conn)
        .await?;
    conn.close().await?;

    let sqlx_options = PgConnectOptions::new_without_pgpass()
        .host(&s.host)
        .port(s.port)
        .username(&s.user)
        .password(&s.password)
        .database(db.name())
        .ssl_mode(PgSslMode::Disable);
    let config = Config::builder()
        .host(s.host.clone())
        .port(s.port)
        .database(db.name())
        .user(s.user.clone())
        .password(SecretString::from(s.password.clone()))
        .ssl_mode(SslMode::Disable)
        .health_check(HealthCheck::IdleLongerThan(Duration::from_secs(30)))
        .pool_size(PoolSize::new(1, POOL_MAX)?)
        .build()?;

    let mut dp_config = deadpool_postgres::Config::new();
    dp_config.host = Some(s.host.clone());
    dp_config.port = Some(s.port);
    dp_config.user = Some(s.user.clone());
    dp_config.password = Some(s.password.clone());
    dp_config.dbname = Some(db.name().to_owned());
    dp_config.manager = Some(deadpool_postgres::ManagerConfig {
        recycling_method: deadpool_postgres::RecyclingMethod::Fast,
    });
    dp_config.pool = Some(deadpool_postgres::PoolConfig::new(POOL_MAX as usize));

    Ok(Pools {
        pgtide: Pool::connect(&config).await?,
        floor: floor::pool(sqlx_options.clone(), POOL_MAX as usize)?,
        deadpool_postgres: dp_config.create_pool(
            Some(deadpool_postgres::Runtime::Tokio1),
            tokio_postgres::NoTls,
        )?,
        sqlx_default: PgPoolOptions::new()
            .max_connections(POOL_MAX)
            .connect_with(sqlx_options.clone())
            .await?,
        sqlx_no_ping: PgPoolOptions::new()
            .max_connections(POOL_MAX)
            .test_before_acquire(false)
            .connect_with(sqlx_options.clone())
            .await?,
        single: Arc::new(tokio::sync::Mutex::new(
            sqlx::PgConnection::connect_with(&sqlx_options).await?,
        )),
    })
}

fn median_and_spread(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    let median = if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    };
    (median, xs[0], xs[xs.len() - 1])
}

async fn compare(plan: Plan) -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pools = setup(&db).await?;
    let bench = Bench {
        pools,
        server: db.server().clone(),
        database: db.name().to_owned(),
        script: pgbench::Script::new(ROWS)?,
    };
    // Every connection is made (and warm) before the first measured cell.
    for client in Client::ALL {
        for tasks in TASKS.into_iter().filter(|&t| client.runs_at(t)) {
            if client != Client::PgBench {
                bench.cell(client, tasks, Duration::from_millis(50)).await?;
            }
        }
    }
    println!(
        "point select by primary key; {} rounds of {} ms per cell, interleaved; pools of at most \
         {POOL_MAX}; each row: pgtide's queries/s ÷ that client's, median [min–max] over rounds\n",
        plan.rounds,
        plan.cell.as_millis()
    );
    // qps[client][tasks][round]
    let mut qps = vec![vec![Vec::new(); TASKS.len()]; Client::ALL.len()];
    for round in 0..plan.rounds {
        for (t, &tasks) in TASKS.iter().enumerate() {
            for k in 0..Client::ALL.len() {
                let c = (k + round) % Client::ALL.len();
                let client = Client::ALL[c];
                if client.runs_at(tasks) {
                    qps[c][t].push(bench.cell(client, tasks, plan.cell).await?);
                }
            }
        }
    }
    println!(
        "{:<44} {:>21} {:>21} {:>21}",
        "client", "1 task", "8 tasks", "32 tasks"
    );
    for (c, client) in Client::ALL.into_iter().enumerate() {
        let cells: Vec<String> = (0..TASKS.len())
            .map(|t| {
                if qps[c][t].is_empty() {
                    return "—".to_owned();
                }
                if client == Client::Pgtide {
                    let (m, lo, hi) = median_and_spread(qps[c][t].clone());
                    return format!("{m:.0} [{lo:.0}–{hi:.0}]");
                }
                // A client that finished no query in a (smoke-length) cell has no ratio.
                let ratios: Vec<f64> = qps[0][t]
                    .iter()
                    .zip(&qps[c][t])
                    .filter(|(_, other)| **other > 0.0)
                    .map(|(p, other)| p / other)
                    .collect();
                if ratios.is_empty() {
                    return "no queries".to_owned();
                }
                let (m, lo, hi) = median_and_spread(ratios);
                format!("{m:.2}× [{lo:.2}–{hi:.2}]")
            })
            .collect();
        println!(
            "{:<44} {:>21} {:>21} {:>21}",
            client.label(),
            cells[0],
            cells[1],
            cells[2]
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => multi_thread()?.block_on(compare(Plan::new(false))),
        ["--quick"] => multi_thread()?.block_on(compare(Plan::new(true))),
        ["--smoke"] => multi_thread()?.block_on(compare(Plan::smoke())),
        ["--profile", client, queries] => profile::run(client, queries.parse()?),
        _ => anyhow::bail!(
            "usage: pgtide-bench [--quick | --smoke | --profile <pgtide|floor|deadpool-postgres> <queries>]"
        ),
    }
}

fn multi_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
