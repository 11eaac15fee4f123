//! Faults under load, against real servers: a server restarted mid-run (a private server of
//! the test's own), backends killed mid-query, 1,000 tasks aborted mid-operation, a pool
//! exhausted, a network that hangs or crawls (a proxy), and the per-call deadline's own
//! paths (`SET LOCAL` inside transactions, a bounded cancel at `max_connections`).
//!
//! Every wait polls server or pool state with a deadline; nothing sleeps to synchronise.
//! They run in `cargo xtask test` one at a time (the nextest test group `faults`, see
//! `.config/nextest.toml`), and every bound is the configured timeouts plus [`slack`]: a
//! bound catches a hang (each scenario would otherwise wait minutes: `pg_sleep(300)`, a
//! stalled proxy), it does not measure speed. The measured times are printed.
//! Each test prints its figures (`cargo nextest run --no-capture --test faults` shows them);
//! `cargo xtask chaos` runs them alone with a tight slack, `--soak` the restart scenario
//! longer (`PGTIDE_CHAOS_ROUNDS`).

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{config, config_via, eventually, next_checkout_is_clean, next_pid, proxy};
use futures_util::StreamExt as _;
use pgtide::config::{Config, PoolSize, SslMode};
use pgtide::{ErrorKind, Pool, SecretString, SessionReset, TimeoutKind, TxOptions, query};
use pgtide_testkit::{PrivateServer, ProxyMode, TestDb};
use sqlx::{Connection as _, PgConnection};

/// What a bound allows beyond the configured timeouts it is derived from: 15 s in the suite
/// (a 2-core machine running several builds can stall a process for seconds), or
/// `PGTIDE_FAULT_SLACK_SECS` (`cargo xtask chaos` sets 2).
fn slack() -> Duration {
    let secs = std::env::var("PGTIDE_FAULT_SLACK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    Duration::from_secs(secs)
}

/// A config for the private server's `postgres` database.
fn private_config(
    server: &PrivateServer,
    min: u32,
    max: u32,
) -> pgtide::config::ConfigBuilder<SecretString, PoolSize> {
    Config::builder()
        .host(server.host())
        .port(server.port())
        .database("postgres")
        .user(server.user())
        .password(SecretString::from(server.password().to_owned()))
        .ssl_mode(SslMode::Disable)
        .application_name(common::unique_app_name())
        .pool_size(PoolSize::new(min, max).unwrap())
}

async fn show_statement_timeout(pool: &Pool) -> String {
    let mut conn = pool.acquire().await.expect("a connection");
    sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&mut *conn)
        .await
        .expect("SHOW")
}

/// A per-call timeout inside a transaction sets its backstop with `SET LOCAL`: a body that
/// fails inside a savepoint (so the deadline's `RESET` fails too) and is rolled back to the
/// savepoint cannot leave the backstop on the pooled session after `COMMIT`.
#[tokio::test]
async fn a_per_call_timeout_inside_a_transaction_leaves_no_backstop_on_the_session()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    // No reset between borrowers: only the transaction's own rules keep the session clean.
    pool.set_session_reset(SessionReset::Never);
    let before = show_statement_timeout(&pool).await;
    pool.transaction(TxOptions::default().no_retry(), async |tx| {
        let failed = tx
            .with_timeout(Duration::from_secs(20), async |conn| {
                sqlx::raw_sql("SAVEPOINT inner_work")
                    .execute(&mut *conn)
                    .await?;
                query::execute(conn, sqlx::query("SELECT 1/0")).await
            })
            .await;
        assert!(failed.is_err(), "division by zero");
        sqlx::raw_sql("ROLLBACK TO SAVEPOINT inner_work")
            .execute(&mut **tx)
            .await?;
        Ok(())
    })
    .await?;
    let after = show_statement_timeout(&pool).await;
    assert_eq!(after, before, "the backstop (41s) stayed on the session");
    Ok(())
}

/// At `max_connections` the cancel of a statement past its deadline cannot get a session
/// (sqlx hides the cancel key, so the cancel protocol message is out of reach): the call
/// still returns within deadline + connect_timeout (cancel) + connect_timeout (`RESET`), and
/// the connection, its statement possibly still running, is discarded.
#[tokio::test]
async fn the_cancel_path_is_bounded_at_max_connections() -> anyhow::Result<()> {
    let server = PrivateServer::start_new()?;
    // Shorter than the server-side backstop's grace (1 s past the deadline), so the cancel
    // attempt gives up before the server ends the statement: the case under test. On a
    // loaded machine one connect can take longer: the pool's first connect is retried.
    let connect_timeout = Duration::from_secs(1);
    let deadline = Duration::from_secs(2);
    let pool = Pool::connect(
        &private_config(&server, 1, 1)
            .connect_timeout(connect_timeout)
            .retry(common::retry(30, 100, 1000, Duration::from_secs(120)))
            .build()?,
    )
    .await?;
    let first = next_pid(&pool).await;
    // Take every other slot (superuser slots included): nobody else gets a session.
    let mut fillers = Vec::new();
    while fillers.len() < 40 {
        match PgConnection::connect(&server.url("postgres")).await {
            Ok(conn) => fillers.push(conn),
            Err(err) => {
                assert!(err.to_string().contains("too many clients"), "{err}");
                break;
            }
        }
    }
    assert!(
        fillers.len() < 40,
        "the server refused a session at max_connections"
    );
    // Nominal: the deadline, the cancel's connect, the `RESET`'s connect. The statement
    // sleeps far longer than the bound, so a cancel path that waits for it fails.
    let bound = deadline + connect_timeout * 2 + slack();
    let started = Instant::now();
    let result = tokio::time::timeout(
        bound,
        pool.with_timeout(deadline, async |conn| {
            query::execute(conn, sqlx::query("SELECT pg_sleep(300)")).await
        }),
    )
    .await
    .expect("the deadline's cancel path is bounded");
    let took = started.elapsed();
    let err = result.expect_err("past its deadline");
    assert_eq!(
        err.timeout_kind(),
        Some(TimeoutKind::ClientDeadline),
        "{err}"
    );
    println!(
        "faults: deadline {deadline:?} at max_connections returned after {took:?} (bound {bound:?})"
    );
    drop(fillers);
    let next = next_pid(&pool).await;
    assert_ne!(
        next, first,
        "the connection whose statement may still run was discarded"
    );
    Ok(())
}

/// One restart scenario: 8 writers insert unique ids in transactions and record the ids
/// whose commit was acknowledged; the server stops (`immediate` or `fast`) and starts again
/// mid-run. Returns (acknowledged, lost, duplicated, recovery time).
async fn restart_under_load(
    server: &PrivateServer,
    immediate: bool,
    round: u64,
) -> anyhow::Result<(usize, usize, usize, Duration)> {
    let cfg = private_config(server, 2, 10)
        .connect_timeout(Duration::from_secs(2))
        .acquire_timeout(Duration::from_secs(30))
        .retry(common::retry(1000, 20, 100, Duration::from_secs(30)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let table = format!("acked_{round}");
    // No unique key: a duplicate must be visible, not refused.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (id bigint NOT NULL)"
    )))
    .execute(&pool)
    .await?;
    let insert = format!("INSERT INTO {table} (id) VALUES ($1)");
    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for writer in 0..8u64 {
        let (pool, stop, acks, insert) = (pool.clone(), stop.clone(), acks.clone(), insert.clone());
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut failed = 0u64;
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let id = (writer * 10_000_000 + n) as i64;
                let done = pool
                    .transaction_boxed(TxOptions::default(), |tx| {
                        let sql = sqlx::AssertSqlSafe(insert.clone());
                        Box::pin(async move {
                            sqlx::query(sql).bind(id).execute(&mut **tx).await?;
                            Ok(())
                        })
                    })
                    .await;
                match done {
                    Ok(_) => {
                        acked.push(id);
                        acks.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => failed += 1,
                }
            }
            (acked, failed)
        }));
    }
    let acked_at_least = async |count: u64| {
        eventually(
            &format!("{count} acknowledged commits"),
            Duration::from_secs(120),
            async || acks.load(Ordering::Relaxed) >= count,
        )
        .await;
    };
    acked_at_least(200).await;
    tokio::task::block_in_place(|| {
        if immediate {
            server.stop_immediate()?;
        } else {
            server.stop()?;
        }
        server.start()
    })?;
    // `start` returns once the server accepts connections: from here, the pool must serve
    // a fresh statement within 2 s.
    let accepting = Instant::now();
    let healthy_within = Duration::from_secs(2) + slack();
    let probe = tokio::time::timeout(
        healthy_within,
        pool.idempotent(async |conn| {
            query::fetch_one(conn, sqlx::query_scalar::<_, i32>("SELECT 1")).await
        }),
    )
    .await;
    let recovery = accepting.elapsed();
    assert_eq!(
        probe.expect("the pool serves within 2 s (+ slack) of the server accepting")?,
        1
    );
    let resumed = acks.load(Ordering::Relaxed) + 100;
    acked_at_least(resumed).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    let mut failed = 0;
    for writer in writers {
        let (ids, f) = writer.await?;
        acked.extend(ids);
        failed += f;
    }
    let stored: Vec<i64> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT id FROM {table}")))
            .fetch_all(&pool)
            .await?;
    let mut seen = HashSet::new();
    let duplicated = stored.iter().filter(|id| !seen.insert(**id)).count();
    let lost = acked.iter().filter(|id| !seen.contains(id)).count();
    // No leaks: nothing in use, and the server sees exactly the pool's open connections.
    let mut admin = PgConnection::connect(&server.url("postgres")).await?;
    eventually("no connection in use or leaked", common::SOON, async || {
        let stats = pool.stats();
        stats.in_use == 0 && i64::from(stats.size) == common::backends(&mut admin, &cfg).await
    })
    .await;
    println!(
        "faults: restart ({}) round {round}: {} acknowledged, {lost} lost, {duplicated} duplicated, \
         {failed} failed calls, recovery {recovery:?} after the server accepted; {}",
        if immediate { "immediate" } else { "fast" },
        acked.len(),
        pool.stats()
    );
    pool.close_within(Duration::from_secs(5)).await;
    Ok((acked.len(), lost, duplicated, recovery))
}

/// Rounds of the restart scenario (alternating immediate and fast): 2 in the suite,
/// `PGTIDE_CHAOS_ROUNDS` for a soak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restarts_under_load_lose_no_acknowledged_commit() -> anyhow::Result<()> {
    let rounds: u64 = std::env::var("PGTIDE_CHAOS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let server = PrivateServer::start_new()?;
    let (mut acked, mut lost, mut duplicated, mut worst) = (0, 0, 0, Duration::ZERO);
    for round in 0..rounds {
        let (a, l, d, r) = restart_under_load(&server, round % 2 == 0, round).await?;
        acked += a;
        lost += l;
        duplicated += d;
        worst = worst.max(r);
    }
    println!(
        "faults: restarts: {rounds} rounds, {acked} commits acknowledged, {lost} lost, \
         {duplicated} duplicated, slowest recovery {worst:?}"
    );
    assert_eq!((lost, duplicated), (0, 0));
    Ok(())
}

/// `pg_terminate_backend` on pool connections mid-query: an idempotent read recovers by
/// running again; a statement not marked idempotent returns a transient error; the dead
/// connections are replaced.
#[tokio::test]
async fn killed_backends_are_retried_when_idempotent_reported_otherwise_and_replaced()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 2, 2)
        .retry(common::retry(5, 10, 50, Duration::from_secs(20)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut admin = db.connect().await?;
    let app = cfg.connection().application_name.clone();
    let kill = async |admin: &mut PgConnection, marker: &str| -> Vec<i32> {
        common::running(admin, marker).await;
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 \
             AND position($2 in query) > 0",
        )
        .bind(&app)
        .bind(marker)
        .fetch_all(&mut *admin)
        .await
        .unwrap();
        for pid in &pids {
            sqlx::query("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .execute(&mut *admin)
                .await
                .unwrap();
        }
        pids
    };

    let mut attempts = 0;
    let read = pool.idempotent(async |conn| {
        attempts += 1;
        let sql = if attempts == 1 {
            "SELECT count(*) FROM counters, pg_sleep(300) /* kill-read */"
        } else {
            "SELECT count(*) FROM counters"
        };
        query::fetch_one(conn, sqlx::query_scalar::<_, i64>(sql)).await
    });
    let (read, killed_read) = tokio::join!(read, kill(&mut admin, "kill-read"));
    assert_eq!(read?, 2);
    assert_eq!(attempts, 2, "the read ran again");

    let sum = async |admin: &mut PgConnection| -> i64 {
        sqlx::query_scalar("SELECT sum(value)::int8 FROM counters")
            .fetch_one(admin)
            .await
            .unwrap()
    };
    let before = sum(&mut admin).await;
    let write = query::execute(
        &pool,
        sqlx::query(
            "UPDATE counters SET value = value + 1 WHERE (SELECT true FROM pg_sleep(300)) /* kill-write */",
        ),
    );
    let (write, killed_write) = tokio::join!(write, kill(&mut admin, "kill-write"));
    let err = write.expect_err("its backend was terminated");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert_eq!(
        sum(&mut admin).await,
        before,
        "the write was not committed, let alone twice"
    );

    let dead: HashSet<i32> = killed_read.into_iter().chain(killed_write).collect();
    assert_eq!(dead.len(), 2);
    for _ in 0..4 {
        next_checkout_is_clean(&pool).await;
        assert!(
            !dead.contains(&next_pid(&pool).await),
            "a dead connection was handed out"
        );
    }
    eventually("no connection in use", common::SOON, async || {
        pool.stats().in_use == 0
    })
    .await;
    Ok(())
}

/// 1,000 tasks aborted mid-operation (a query, a transaction, a `COPY`, a stream), in 4
/// rounds of 250 on a pool of 10 (each round aborted once all 10 connections are busy on the
/// server, the other 240 tasks waiting for one): afterwards no session is left busy or
/// `idle in transaction`, nothing is in use, and the next 1,000 queries each get their own
/// result. `PGTIDE_CHAOS_ROUNDS` (the soak) multiplies the rounds by 10.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_aborted_tasks_leave_nothing_behind() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    // Waiting tasks wait as long as it takes: on a loaded machine opening the 10
    // connections (again after each round's aborts discard them) can outlast the default
    // acquire timeout, and waiters that give up would never make the pool busy.
    let cfg = config(&db, 10, 10)
        .acquire_timeout(Duration::from_secs(600))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut admin = db.connect().await?;
    let app = cfg.connection().application_name.clone();
    let busy_on_server = async |admin: &mut PgConnection| -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
             AND state IN ('active', 'idle in transaction')",
        )
        .bind(&app)
        .fetch_one(admin)
        .await
        .unwrap()
    };
    let rounds = std::env::var("PGTIDE_CHAOS_ROUNDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(4, |soak| soak * 10);
    let mut aborted = 0;
    let mut mid_operation = 0;
    for _round in 0..rounds {
        let mut tasks = Vec::new();
        for i in 0..250 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                match i % 4 {
                    0 => {
                        let _ = sqlx::query("SELECT pg_sleep(60)").execute(&pool).await;
                    }
                    1 => {
                        let _ = pool
                            .transaction_boxed(TxOptions::default(), |tx| {
                                Box::pin(async move {
                                    sqlx::query("UPDATE counters SET value = value + 1")
                                        .execute(&mut **tx)
                                        .await?;
                                    sqlx::query("SELECT pg_sleep(60)").execute(&mut **tx).await?;
                                    Ok(())
                                })
                            })
                            .await;
                    }
                    2 => {
                        let rows = futures_util::stream::iter([Ok::<_, std::io::Error>(
                            b"aborted,1\n".to_vec(),
                        )])
                        .chain(futures_util::stream::pending());
                        let _ = pgtide::copy::CopyIn::table("counters")
                            .csv()
                            .from_stream(&pool, rows)
                            .await;
                    }
                    _ => {
                        let mut rows = sqlx::query_scalar::<_, i32>(
                            "SELECT g FROM generate_series(1, 100000) g WHERE pg_sleep(0.05) IS NOT NULL",
                        )
                        .fetch(&pool);
                        let _ = rows.next().await;
                        std::future::pending::<()>().await;
                    }
                }
            }));
        }
        eventually(
            "10 connections busy on the server",
            Duration::from_secs(120),
            async || pool.stats().in_use == 10 && busy_on_server(&mut admin).await >= 10,
        )
        .await;
        mid_operation += 10;
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            assert!(task.await.unwrap_err().is_cancelled());
            aborted += 1;
        }
    }
    eventually(
        "nothing in use, nothing busy or idle in transaction",
        Duration::from_secs(60),
        async || pool.stats().in_use == 0 && busy_on_server(&mut admin).await == 0,
    )
    .await;
    let value: i64 = sqlx::query_scalar("SELECT sum(value)::int8 FROM counters")
        .fetch_one(&mut admin)
        .await?;
    let copied: i64 = sqlx::query_scalar("SELECT count(*) FROM counters WHERE name = 'aborted'")
        .fetch_one(&mut admin)
        .await?;
    assert_eq!(
        (value, copied),
        (0, 0),
        "no aborted transaction or COPY committed"
    );
    let mut answers = Vec::new();
    for i in 0..1000i32 {
        let pool = pool.clone();
        answers.push(tokio::spawn(async move {
            let got: i32 = sqlx::query_scalar("SELECT $1::int4")
                .bind(i)
                .fetch_one(&pool)
                .await
                .expect("a query after the aborts");
            (i, got)
        }));
    }
    for answer in answers {
        let (asked, got) = answer.await?;
        assert_eq!(asked, got);
    }
    let stats = pool.stats();
    println!(
        "faults: {aborted} tasks aborted ({mid_operation} of them mid-statement on the server), \
         then 1000 queries answered their own; leaked 0; {stats}"
    );
    assert_eq!(stats.in_use, 0);
    Ok(())
}

/// Demand above `max_size`: the callers that cannot get a connection time out after
/// `acquire_timeout` with the pool's statistics; afterwards the pool serves normally.
#[tokio::test]
async fn exhaustion_times_out_with_pool_stats_and_recovers() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(
        &config(&db, 2, 2)
            .acquire_timeout(Duration::from_millis(300))
            .build()?,
    )
    .await?;
    // Both connections open before the slow queries take them: opening one under load can
    // take longer than the 300 ms the waiters below are given.
    eventually("both connections open", common::SOON, async || {
        pool.stats().idle == 2
    })
    .await;
    let mut admin = db.connect().await?;
    // Slow queries: they wait for a lock the test holds.
    sqlx::query("SELECT pg_advisory_lock(7)")
        .execute(&mut admin)
        .await?;
    let mut slow = Vec::new();
    for _ in 0..2 {
        let pool = pool.clone();
        slow.push(tokio::spawn(async move {
            sqlx::query("SELECT pg_advisory_lock(7), pg_advisory_unlock(7)")
                .execute(&pool)
                .await
        }));
    }
    eventually("both connections busy", common::SOON, async || {
        pool.stats().in_use == 2
    })
    .await;
    let mut waiters = Vec::new();
    for _ in 0..4 {
        let pool = pool.clone();
        waiters.push(tokio::spawn(async move {
            sqlx::query("SELECT 1")
                .execute(&pool)
                .await
                .map_err(pgtide::Error::from)
        }));
    }
    for waiter in waiters {
        let err = waiter.await?.expect_err("no connection for it");
        assert_eq!(err.timeout_kind(), Some(TimeoutKind::Acquire), "{err}");
        let stats = err.pool_stats().expect("stats in the error");
        assert_eq!((stats.in_use, stats.max_size), (2, 2), "{stats}");
        assert!(
            err.to_string().contains("2 of 2 connections in use"),
            "{err}"
        );
    }
    sqlx::query("SELECT pg_advisory_unlock(7)")
        .execute(&mut admin)
        .await?;
    for s in slow {
        s.await??;
    }
    for i in 0..20i32 {
        let got: i32 =
            query::fetch_one(&pool, sqlx::query_scalar("SELECT $1::int4").bind(i)).await?;
        assert_eq!(got, i);
    }
    assert!(pool.stats().acquire_timeouts >= 4);
    Ok(())
}

/// A network that crawls or hangs (a proxy that delays or stalls bytes): a slow but moving
/// network is not mistaken for a dead one; a hung one trips the connect timeout and the
/// statement deadline within their bounds, and the stalled connection is not reused.
#[tokio::test]
async fn slow_and_stalled_networks_keep_connect_and_statement_bounds() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    // Long enough for a connect on a loaded machine; the bounds are derived from it.
    let connect_timeout = Duration::from_secs(5);
    let pool = Pool::connect(
        &config_via(&db, &proxy, 1, 1)
            .connect_timeout(connect_timeout)
            .build()?,
    )
    .await?;
    let first = next_pid(&pool).await;

    // Slow: every chunk held 50 ms. A deadline of 5 s (+ slack) is met.
    proxy.set_delay(Duration::from_millis(50));
    let got = pool
        .with_timeout(Duration::from_secs(5) + slack(), async |conn| {
            query::fetch_one(conn, sqlx::query_scalar::<_, i32>("SELECT 7")).await
        })
        .await?;
    assert_eq!(got, 7);
    proxy.set_delay(Duration::ZERO);

    // Stalled, on a connection already checked out: the deadline passes (the backstop's
    // `SET` or the statement gets no answer; a cancel could not get through either, bounded
    // by the connect timeout): the call ends within deadline + 2 × connect_timeout, and the
    // connection is discarded.
    let mut conn = pool.acquire().await?;
    proxy.stall(true);
    let deadline = Duration::from_millis(500);
    let bound = deadline + connect_timeout * 2 + slack();
    let err = tokio::time::timeout(
        bound,
        conn.with_timeout(deadline, async |conn| {
            query::fetch_one(conn, sqlx::query_scalar::<_, i32>("SELECT 8")).await
        }),
    )
    .await
    .expect("the statement deadline holds on a stalled network")
    .expect_err("nothing came back");
    assert_eq!(
        err.timeout_kind(),
        Some(TimeoutKind::ClientDeadline),
        "{err}"
    );
    drop(conn);

    // A new connection through a network that never answers: the connect timeout holds.
    proxy.set_mode(ProxyMode::Blackhole);
    let err = tokio::time::timeout(connect_timeout + slack(), pool.connect_unpooled())
        .await
        .expect("the connect timeout holds")
        .expect_err("nothing answers");
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::Connect), "{err}");

    proxy.stall(false);
    proxy.set_mode(ProxyMode::Forward);
    let next = next_pid(&pool).await;
    assert_ne!(next, first, "the stalled connection was discarded");
    next_checkout_is_clean(&pool).await;
    Ok(())
}
