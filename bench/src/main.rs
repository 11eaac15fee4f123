//! Point selects by primary key through each pool design, in one run, on one server:
//! pgtide's pool, sqlx's `PgPool` (defaults, and with the checkout ping off), a single sqlx
//! connection, and deadpool-postgres (the baseline, 1.0×). Run with `cargo xtask bench`.
//!
//! Prints queries per second relative to the baseline; absolute numbers depend on the
//! machine, ratios much less.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pgtide::config::{Config, HealthCheck, PoolSize, SslMode};
use pgtide::{Pool, SecretString};
use pgtide_testkit::TestDb;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

const ROWS: i64 = 1000;
const POOL_MAX: u32 = 16;
const SQL: &str = "SELECT author_id, name FROM authors WHERE author_id = $1";

fn run_for() -> Duration {
    let ms = std::env::var("PGTIDE_BENCH_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    Duration::from_millis(ms)
}

/// Runs `tasks` tasks doing `one(i)` in a loop for the bench duration; returns queries/s.
async fn measure<F, Fut>(tasks: usize, one: F) -> f64
where
    F: Fn(i64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let one = Arc::new(one);
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + run_for();
    let started = Instant::now();
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

/// Queries/s at 1, 8 and 32 tasks for a pool that runs sqlx queries as `&pool` (pgtide's
/// `Pool` and sqlx's `PgPool` alike).
async fn sqlx_row<P>(pool: P) -> Vec<Option<f64>>
where
    P: Clone + Send + Sync + 'static,
    for<'c> &'c P: sqlx::PgExecutor<'c>,
{
    let mut row = Vec::new();
    for tasks in [1, 8, 32] {
        let p = pool.clone();
        row.push(Some(
            measure(tasks, move |id| {
                let p = p.clone();
                async move {
                    let _: (i64, String) = sqlx::query_as(SQL)
                        .bind(id)
                        .fetch_one(&p)
                        .await
                        .expect("row");
                }
            })
            .await,
        ));
    }
    row
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let s = db.server().clone();
    let mut setup = db.connect().await?;
    sqlx::query("INSERT INTO authors (name) SELECT 'author ' || g FROM generate_series(1, $1) g")
        .bind(ROWS)
        .execute(&mut setup)
        .await?;
    setup.close().await?;

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
    let deadpool = dp_config.create_pool(
        Some(deadpool_postgres::Runtime::Tokio1),
        tokio_postgres::NoTls,
    )?;

    let pgtide = Pool::connect(&config).await?;
    let sqlx_default = PgPoolOptions::new()
        .max_connections(POOL_MAX)
        .connect_with(sqlx_options.clone())
        .await?;
    let sqlx_no_ping = PgPoolOptions::new()
        .max_connections(POOL_MAX)
        .test_before_acquire(false)
        .connect_with(sqlx_options.clone())
        .await?;

    println!(
        "point select by primary key, {} ms per cell, pools of at most {POOL_MAX}; queries/s relative to deadpool-postgres\n",
        run_for().as_millis()
    );
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "client", "1 task", "8 tasks", "32 tasks"
    );
    let mut table: Vec<(&str, Vec<Option<f64>>)> = Vec::new();
    let mut baseline = Vec::new();
    for tasks in [1, 8, 32] {
        let p = deadpool.clone();
        baseline.push(
            measure(tasks, move |id| {
                let p = p.clone();
                async move {
                    let client = p.get().await.expect("deadpool-postgres");
                    let stmt = client.prepare_cached(SQL).await.expect("prepare");
                    client.query_one(&stmt, &[&id]).await.expect("row");
                }
            })
            .await,
        );
    }
    table.push((
        "deadpool-postgres (baseline)",
        baseline.iter().copied().map(Some).collect(),
    ));

    table.push((
        "pgtide Pool (deadpool + sqlx connections)",
        sqlx_row(pgtide).await,
    ));
    table.push((
        "sqlx PgPool, defaults (ping on checkout)",
        sqlx_row(sqlx_default).await,
    ));
    table.push((
        "sqlx PgPool, test_before_acquire(false)",
        sqlx_row(sqlx_no_ping).await,
    ));

    // One connection, one task: the driver alone, no pool.
    let conn = Arc::new(tokio::sync::Mutex::new(
        sqlx::PgConnection::connect_with(&sqlx_options).await?,
    ));
    let single = measure(1, move |id| {
        let c = Arc::clone(&conn);
        async move {
            let mut c = c.lock().await;
            let _: (i64, String) = sqlx::query_as(SQL)
                .bind(id)
                .fetch_one(&mut *c)
                .await
                .expect("row");
        }
    })
    .await;
    table.push((
        "one sqlx PgConnection, no pool",
        vec![Some(single), None, None],
    ));

    for (name, cells) in &table {
        let shown: Vec<String> = cells
            .iter()
            .zip(&baseline)
            .map(|(cell, base)| match cell {
                Some(qps) => format!("{:.2}×", qps / base),
                None => "—".to_owned(),
            })
            .collect();
        println!(
            "{name:<44} {:>10} {:>10} {:>10}",
            shown[0], shown[1], shown[2]
        );
    }
    println!(
        "\nbaseline queries/s: {}",
        baseline
            .iter()
            .map(|b| format!("{b:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    Ok(())
}
