//! The query path: point selects by primary key on a 100k-row table and 100-row range
//! selects, at 1, 8 and 32 tasks, through every client side by side; plus the generated-code
//! and retry/timeout rows, measured in the same interleaved rounds.
//!
//! Clients: pgtide's `Pool` as `&pool` (plain sqlx queries, the way generated code and users
//! call it; tracing spans compiled in, no subscriber installed); the design's floor (a bare
//! deadpool pool of sqlx connections, no pgtide code, see [`crate::floor`]); deadpool-postgres;
//! sqlx's `PgPool` (defaults, and with the checkout ping off); one sqlx connection (1 task);
//! `pgbench -M prepared` with as many clients as tasks; the repository's generated
//! `get_author` vs the same SQL hand-written with sqlx on the same pool; and pgtide's
//! `idempotent` (retry policy on) and `with_timeout` vs the plain call.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deadpool::managed::QueueMode;
use pgtide::config::{Config, HealthCheck, PoolSize, SslMode};
use pgtide::sqlx::types::chrono::{DateTime, NaiveDate, Utc};
use pgtide::{Pool, SecretString, TxOptions};
use pgtide_testkit::{ServerState, TestDb};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};

use crate::report::{Stat, Table, Unit};
use crate::{Plan, pgbench};

/// Rows in `authors`.
pub const ROWS: i64 = 100_000;
/// Rows a range select returns.
pub const RANGE: i64 = 100;
const POOL_MAX: u32 = 16;
const TASKS: [usize; 3] = [1, 8, 32];
/// The point select (pgbench -S's shape, on `authors`).
pub const SQL: &str = "SELECT author_id, name FROM authors WHERE author_id = $1";
const RANGE_SQL: &str =
    "SELECT author_id, name FROM authors WHERE author_id BETWEEN $1 AND $1 + 99";
/// What the generated `get_author` runs, written by hand.
const GET_AUTHOR_SQL: &str =
    "SELECT author_id, name, email, bio, born, created_at\nFROM authors\nWHERE author_id = $1";
type AuthorRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<NaiveDate>,
    DateTime<Utc>,
);

/// Every pool under test, connected to the bench database.
#[derive(Clone)]
pub struct Pools {
    pub pgtide: Pool,
    pub floor: crate::floor::BarePool,
    /// The same floor handing out the most recently returned connection first, as pgtide's
    /// pool does: the difference to pgtide is pgtide's code, not the queue order.
    pub floor_lifo: crate::floor::BarePool,
    pub deadpool_postgres: deadpool_postgres::Pool,
    sqlx_default: PgPool,
    sqlx_no_ping: PgPool,
    single: Arc<tokio::sync::Mutex<sqlx::PgConnection>>,
}

/// The two query shapes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Point,
    Range,
}

impl Shape {
    /// The id for the `i`-th query: uniform enough over the table, every range in it.
    fn id(self, i: i64) -> i64 {
        match self {
            Shape::Point => i % ROWS + 1,
            Shape::Range => i % (ROWS - RANGE + 1) + 1,
        }
    }
}

/// The clients, in table order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Client {
    Pgtide,
    Floor,
    FloorLifo,
    DeadpoolPostgres,
    PgBench,
    SqlxDefault,
    SqlxNoPing,
    Single,
    HandWritten,
    Generated,
    Idempotent,
    Timeout,
    Transaction,
    TransactionRaw,
    FloorTransaction,
}

impl Client {
    const ALL: [Client; 15] = [
        Client::Pgtide,
        Client::Floor,
        Client::FloorLifo,
        Client::DeadpoolPostgres,
        Client::PgBench,
        Client::SqlxDefault,
        Client::SqlxNoPing,
        Client::Single,
        Client::HandWritten,
        Client::Generated,
        Client::Idempotent,
        Client::Timeout,
        Client::Transaction,
        Client::TransactionRaw,
        Client::FloorTransaction,
    ];

    fn label(self) -> &'static str {
        match self {
            Client::Pgtide => "pgtide Pool (queries/s)",
            Client::Floor => "÷ bare deadpool + sqlx floor (no pgtide code, FIFO)",
            Client::FloorLifo => "÷ the same floor on LIFO (pgtide's queue order)",
            Client::DeadpoolPostgres => "÷ deadpool-postgres (tokio-postgres)",
            Client::PgBench => "÷ pgbench -M prepared (same query, C)",
            Client::SqlxDefault => "÷ sqlx PgPool, defaults (ping on checkout)",
            Client::SqlxNoPing => "÷ sqlx PgPool, test_before_acquire(false)",
            Client::Single => "÷ one sqlx PgConnection, no pool",
            Client::HandWritten => "hand-written sqlx query_as, pgtide Pool",
            Client::Generated => "generated get_author, pgtide Pool",
            Client::Idempotent => "pool.idempotent_boxed (retry policy on)",
            Client::Timeout => "pool.with_timeout_boxed(5 s)",
            Client::Transaction => "pgtide pool.transaction_boxed, `&mut *tx` (transactions/s)",
            Client::TransactionRaw => {
                "the same, raw `&mut **tx` (pre-COMMIT check + session reset) ÷ the sqlx one"
            }
            Client::FloorTransaction => {
                "÷ sqlx transaction on the floor's connection (BEGIN, SELECT, COMMIT)"
            }
        }
    }

    /// A client of the query-path tables (the others have tables of their own).
    fn is_peer(self) -> bool {
        matches!(
            self,
            Client::Pgtide
                | Client::Floor
                | Client::FloorLifo
                | Client::DeadpoolPostgres
                | Client::PgBench
                | Client::SqlxDefault
                | Client::SqlxNoPing
                | Client::Single
        )
    }

    fn runs(self, shape: Shape, tasks: usize, plan: &Plan) -> bool {
        if plan.tx_only {
            return shape == Shape::Point
                && matches!(
                    self,
                    Client::Transaction | Client::TransactionRaw | Client::FloorTransaction
                );
        }
        if plan.query_only {
            return shape == Shape::Point
                && matches!(
                    self,
                    Client::Pgtide | Client::Floor | Client::FloorLifo | Client::DeadpoolPostgres
                );
        }
        (self != Client::Single || tasks == 1)
            && (shape == Shape::Point || self.is_peer())
            // pgbench costs whole seconds a cell: the smoke run tries it once.
            && !(self == Client::PgBench && plan.smoke && (shape == Shape::Range || tasks > 1))
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
                let mut i = t as i64 * 7919;
                while Instant::now() < deadline {
                    one(i).await;
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

/// One query of `shape` through any sqlx executor.
async fn sqlx_query<'e, E: sqlx::PgExecutor<'e>>(db: E, shape: Shape, id: i64) {
    match shape {
        Shape::Point => {
            let _: (i64, String) = sqlx::query_as(SQL)
                .bind(id)
                .fetch_one(db)
                .await
                .expect("row");
        }
        Shape::Range => {
            let rows: Vec<(i64, String)> = sqlx::query_as(RANGE_SQL)
                .bind(id)
                .fetch_all(db)
                .await
                .expect("rows");
            assert_eq!(rows.len(), RANGE as usize);
        }
    }
}

/// Queries/s of a pool that runs sqlx queries as `&pool` (pgtide's `Pool`, sqlx's `PgPool`).
async fn through_executor<P>(pool: P, shape: Shape, tasks: usize, run_for: Duration) -> f64
where
    P: Clone + Send + Sync + 'static,
    for<'c> &'c P: sqlx::PgExecutor<'c>,
{
    measure(tasks, run_for, move |i| {
        let p = pool.clone();
        async move { sqlx_query(&p, shape, shape.id(i)).await }
    })
    .await
}

/// One query through the bare floor pool.
pub async fn floor_query(pool: &crate::floor::BarePool, shape: Shape, id: i64) {
    let mut conn = pool.get().await.expect("floor pool");
    sqlx_query(&mut *conn, shape, id).await;
}

/// One query through deadpool-postgres (statement cached per connection).
pub async fn deadpool_postgres_query(pool: &deadpool_postgres::Pool, shape: Shape, id: i64) {
    let client = pool.get().await.expect("deadpool-postgres");
    match shape {
        Shape::Point => {
            let stmt = client.prepare_cached(SQL).await.expect("prepare");
            client.query_one(&stmt, &[&id]).await.expect("row");
        }
        Shape::Range => {
            let stmt = client.prepare_cached(RANGE_SQL).await.expect("prepare");
            let rows = client.query(&stmt, &[&id]).await.expect("rows");
            assert_eq!(rows.len(), RANGE as usize);
        }
    }
}

/// One point select inside pgtide's closure transaction (`transaction_boxed`, the `Send` form
/// a spawned task needs), run through the transaction (`&mut *tx`): pgtide sees it succeed,
/// so `COMMIT` needs no check before it and the session no reset.
pub async fn pgtide_transaction(pool: &Pool, id: i64) {
    let _: (i64, String) = pool
        .transaction_boxed(TxOptions::default(), |tx| {
            Box::pin(async move { Ok(sqlx::query_as(SQL).bind(id).fetch_one(&mut *tx).await?) })
        })
        .await
        .expect("row");
}

/// The same on the transaction's raw connection (`&mut **tx`): pgtide cannot see what ran,
/// so `COMMIT` is preceded by the check, which is the session reset (`pool::reset`).
pub async fn pgtide_transaction_raw(pool: &Pool, id: i64) {
    let _: (i64, String) = pool
        .transaction_boxed(TxOptions::default(), |tx| {
            Box::pin(async move { Ok(sqlx::query_as(SQL).bind(id).fetch_one(&mut **tx).await?) })
        })
        .await
        .expect("row");
}

/// One point select inside a sqlx transaction on the floor's connection: `BEGIN`, the
/// select, `COMMIT`.
pub async fn floor_transaction(pool: &crate::floor::BarePool, id: i64) {
    let mut conn = pool.get().await.expect("floor pool");
    let mut tx = conn.begin().await.expect("BEGIN");
    let _: (i64, String) = sqlx::query_as(SQL)
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .expect("row");
    tx.commit().await.expect("COMMIT");
}

struct Bench {
    pools: Pools,
    server: ServerState,
    database: String,
    point_script: pgbench::Script,
    range_script: pgbench::Script,
}

impl Bench {
    async fn cell(
        &self,
        client: Client,
        shape: Shape,
        tasks: usize,
        run_for: Duration,
        plan: &Plan,
    ) -> anyhow::Result<f64> {
        let pools = self.pools.clone();
        Ok(match client {
            Client::Pgtide => through_executor(pools.pgtide, shape, tasks, run_for).await,
            Client::SqlxDefault => {
                through_executor(pools.sqlx_default, shape, tasks, run_for).await
            }
            Client::SqlxNoPing => through_executor(pools.sqlx_no_ping, shape, tasks, run_for).await,
            Client::Floor | Client::FloorLifo => {
                let floor = if client == Client::Floor {
                    pools.floor
                } else {
                    pools.floor_lifo
                };
                measure(tasks, run_for, move |i| {
                    let p = floor.clone();
                    async move { floor_query(&p, shape, shape.id(i)).await }
                })
                .await
            }
            Client::DeadpoolPostgres => {
                measure(tasks, run_for, move |i| {
                    let p = pools.deadpool_postgres.clone();
                    async move { deadpool_postgres_query(&p, shape, shape.id(i)).await }
                })
                .await
            }
            Client::Single => {
                measure(tasks, run_for, move |i| {
                    let c = Arc::clone(&pools.single);
                    async move {
                        let mut c = c.lock().await;
                        sqlx_query(&mut *c, shape, shape.id(i)).await;
                    }
                })
                .await
            }
            Client::HandWritten => {
                measure(tasks, run_for, move |i| {
                    let p = pools.pgtide.clone();
                    async move {
                        let _: AuthorRow = sqlx::query_as(GET_AUTHOR_SQL)
                            .bind(shape.id(i))
                            .fetch_one(&p)
                            .await
                            .expect("row");
                    }
                })
                .await
            }
            Client::Generated => {
                measure(tasks, run_for, move |i| {
                    let p = pools.pgtide.clone();
                    async move {
                        pgtide_example::queries::authors::get_author(&p, shape.id(i))
                            .await
                            .expect("row");
                    }
                })
                .await
            }
            Client::Idempotent => {
                measure(tasks, run_for, move |i| {
                    let p = pools.pgtide.clone();
                    async move {
                        let id = shape.id(i);
                        let _: (i64, String) = p
                            .idempotent_boxed(|conn| {
                                Box::pin(async move {
                                    Ok(sqlx::query_as(SQL).bind(id).fetch_one(conn).await?)
                                })
                            })
                            .await
                            .expect("row");
                    }
                })
                .await
            }
            Client::Timeout => {
                measure(tasks, run_for, move |i| {
                    let p = pools.pgtide.clone();
                    async move {
                        let id = shape.id(i);
                        let _: (i64, String) = p
                            .with_timeout_boxed(Duration::from_secs(5), |conn| {
                                Box::pin(async move {
                                    Ok(sqlx::query_as(SQL).bind(id).fetch_one(conn).await?)
                                })
                            })
                            .await
                            .expect("row");
                    }
                })
                .await
            }
            Client::Transaction => {
                measure(tasks, run_for, move |i| {
                    let p = pools.pgtide.clone();
                    async move { pgtide_transaction(&p, shape.id(i)).await }
                })
                .await
            }
            Client::TransactionRaw => {
                measure(tasks, run_for, move |i| {
                    let p = pools.pgtide.clone();
                    async move { pgtide_transaction_raw(&p, shape.id(i)).await }
                })
                .await
            }
            Client::FloorTransaction => {
                measure(tasks, run_for, move |i| {
                    let p = pools.floor.clone();
                    async move { floor_transaction(&p, shape.id(i)).await }
                })
                .await
            }
            Client::PgBench => {
                let script = match shape {
                    Shape::Point => &self.point_script,
                    Shape::Range => &self.range_script,
                };
                let (server, database) = (&self.server, &self.database);
                let min_secs = if plan.quick { 2 } else { 3 };
                tokio::task::block_in_place(|| {
                    pgbench::measure(server, database, script, tasks, run_for, min_secs)
                })?
            }
        })
    }
}

/// Creates the bench database (with `ROWS` authors) and every pool.
pub async fn setup(db: &TestDb) -> anyhow::Result<Pools> {
    let s = db.server().clone();
    let mut conn = db.connect().await?;
    sqlx::query(
        "INSERT INTO authors (name, email, born) SELECT 'author ' || g, 'a' || g || '@example.org', \
         date '1950-01-01' + (g % 20000)::int FROM generate_series(1, $1) g",
    )
    .bind(ROWS)
    .execute(&mut conn)
    .await?;
    sqlx::query("VACUUM ANALYZE authors")
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
        floor: crate::floor::pool(sqlx_options.clone(), POOL_MAX as usize, QueueMode::Fifo)?,
        floor_lifo: crate::floor::pool(sqlx_options.clone(), POOL_MAX as usize, QueueMode::Lifo)?,
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

const SHAPES: [Shape; 2] = [Shape::Point, Shape::Range];

/// Runs the interleaved rounds; returns the query-path, generated-code and retry/timeout
/// tables.
pub async fn compare(plan: &Plan, db: &TestDb) -> anyhow::Result<Vec<Table>> {
    let pools = setup(db).await?;
    let bench = Bench {
        pools,
        server: db.server().clone(),
        database: db.name().to_owned(),
        point_script: pgbench::Script::new(
            "SELECT author_id, name FROM authors WHERE author_id = :id;",
            ROWS,
        )?,
        range_script: pgbench::Script::new(
            "SELECT author_id, name FROM authors WHERE author_id BETWEEN :id AND :id + 99;",
            ROWS - RANGE + 1,
        )?,
    };
    // Every connection is made (and warm) before the first measured cell.
    let warm = Duration::from_millis(if plan.smoke { 10 } else { 50 });
    for shape in SHAPES {
        for client in Client::ALL {
            for tasks in TASKS.into_iter().filter(|&t| client.runs(shape, t, plan)) {
                if client != Client::PgBench {
                    bench.cell(client, shape, tasks, warm, plan).await?;
                }
            }
        }
    }
    // qps[shape][client][tasks][round]
    let mut qps = vec![vec![vec![Vec::new(); TASKS.len()]; Client::ALL.len()]; SHAPES.len()];
    for round in 0..plan.rounds {
        for (s, &shape) in SHAPES.iter().enumerate() {
            for (t, &tasks) in TASKS.iter().enumerate() {
                for k in 0..Client::ALL.len() {
                    let c = (k + round) % Client::ALL.len();
                    let client = Client::ALL[c];
                    if client.runs(shape, tasks, plan) {
                        let q = bench.cell(client, shape, tasks, plan.cell, plan).await?;
                        qps[s][c][t].push(q);
                    }
                }
            }
        }
    }
    let idx = |c: Client| Client::ALL.iter().position(|&x| x == c).expect("client");
    let columns = ["1 task", "8 tasks", "32 tasks"];
    let mut tables = Vec::new();
    for (s, title) in [
        "Query path: point select by primary key (100k-row table)",
        "Query path: 100-row range select",
    ]
    .into_iter()
    .enumerate()
    .take(if plan.query_only {
        1
    } else if plan.tx_only {
        0
    } else {
        SHAPES.len()
    }) {
        let mut table = Table::new(
            title,
            "First row: pgtide's queries/s. Other rows: pgtide's queries/s ÷ that client's, per \
             round (> 1: pgtide is faster). Pools of at most 16 connections.",
            &columns,
        );
        let pg = &qps[s][idx(Client::Pgtide)];
        for client in Client::ALL {
            let shape = SHAPES[s];
            if !client.is_peer() || !TASKS.iter().any(|&t| client.runs(shape, t, plan)) {
                continue;
            }
            let mine = &qps[s][idx(client)];
            let cells = (0..TASKS.len())
                .map(|t| {
                    if client == Client::Pgtide {
                        Stat::of(mine[t].clone(), Unit::PerSec)
                    } else {
                        Stat::ratio(&pg[t], &mine[t])
                    }
                })
                .collect();
            table.row(client.label(), cells);
        }
        tables.push(table);
    }
    if plan.query_only {
        return Ok(tables);
    }
    let point = &qps[0];
    let ratio_rows = |table: &mut Table, num: Client, den: Client, label: &str| {
        let cells = (0..TASKS.len())
            .map(|t| Stat::ratio(&point[idx(num)][t], &point[idx(den)][t]))
            .collect();
        table.row(label, cells);
    };
    let qps_row = |table: &mut Table, c: Client| {
        let cells = (0..TASKS.len())
            .map(|t| Stat::of(point[idx(c)][t].clone(), Unit::PerSec))
            .collect();
        table.row(c.label(), cells);
    };
    if !plan.tx_only {
        let mut generated = Table::new(
            "Generated code vs hand-written sqlx (same SQL, same pgtide Pool)",
            "The repository's generated `get_author` (example/src/queries) and the same SELECT \
             written with `sqlx::query_as`; ratio: generated ÷ hand-written (target ≥ 0.99×).",
            &columns,
        );
        qps_row(&mut generated, Client::HandWritten);
        qps_row(&mut generated, Client::Generated);
        ratio_rows(
            &mut generated,
            Client::Generated,
            Client::HandWritten,
            "generated ÷ hand-written",
        );
        tables.push(generated);
        let mut retry = Table::new(
            "Retry and per-call timeout overhead (point select)",
            "Each row: that form's queries/s ÷ the plain `&pool` call's, per round (1.00× = free).",
            &columns,
        );
        ratio_rows(
            &mut retry,
            Client::Idempotent,
            Client::Pgtide,
            Client::Idempotent.label(),
        );
        ratio_rows(
            &mut retry,
            Client::Timeout,
            Client::Pgtide,
            Client::Timeout.label(),
        );
        tables.push(retry);
    }
    let mut transactions = Table::new(
        "Transactions: one point select inside",
        "pgtide's closure transaction with the SELECT run through it (`&mut *tx`: BEGIN, the \
         SELECT, COMMIT; pgtide saw it succeed, so no pre-COMMIT check and no session reset) \
         ÷ a sqlx transaction on the floor's connection (BEGIN, the SELECT, COMMIT), per \
         round; then the same on the raw connection (`&mut **tx`: BEGIN, the SELECT, the \
         session reset that also finds an aborted transaction, COMMIT) ÷ the sqlx one.",
        &columns,
    );
    qps_row(&mut transactions, Client::Transaction);
    ratio_rows(
        &mut transactions,
        Client::Transaction,
        Client::FloorTransaction,
        Client::FloorTransaction.label(),
    );
    ratio_rows(
        &mut transactions,
        Client::TransactionRaw,
        Client::FloorTransaction,
        Client::TransactionRaw.label(),
    );
    tables.push(transactions);
    Ok(tables)
}
