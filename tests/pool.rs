//! The pool against the real server: every pool and session key takes effect, health
//! checks, connect timeout, startup retry, stats, `&Pool` as executor, escape hatches.

mod common;

use std::time::{Duration, Instant};

use common::{backends, config, config_via, eventually, proxy};
use pgtide::config::HealthCheck;
use pgtide::{ErrorKind, Pool};
use pgtide_testkit::{ProxyMode, TestDb};

const SOON: Duration = Duration::from_secs(10);

#[tokio::test]
async fn min_size_is_opened_at_start_and_kept() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 3, 5).build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut admin = db.connect().await?;
    assert_eq!(backends(&mut admin, &cfg).await, 3);
    assert_eq!(pool.stats().size, 3);
    assert_eq!(pool.stats().idle, 3);

    // Kill one from the server side: the pool notices at checkout and opens a replacement
    // to keep the minimum.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(pool.acquire().await?);
    }
    let victim = held[0].backend_pid().await?;
    held[0].mark_suspect();
    drop(held);
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(victim)
        .execute(&mut admin)
        .await?;
    // The last connection back goes out first, so the dead one (returned first) is checked
    // out when all three are: it fails its ping and is replaced.
    let again = futures_util::future::try_join_all((0..3).map(|_| pool.acquire())).await?;
    drop(again);
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
    assert_eq!(one, 1);
    eventually("the minimum is restored", SOON, async || {
        backends(&mut admin, &cfg).await == 3 && pool.stats().size == 3
    })
    .await;
    Ok(())
}

/// While the pool opens a connection to keep `pool.min_size`, the stats show its idle
/// connections as idle, not in use, and the connect under way as no one waiting.
#[tokio::test]
async fn topping_up_to_min_size_is_not_counted_as_use() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    let cfg = config_via(&db, &proxy, 3, 4)
        .connect_timeout(Duration::from_secs(600))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let opened = proxy.accepted();
    // One connection leaves the pool; the next connect hangs, so the top-up stays under way.
    proxy.set_mode(ProxyMode::Blackhole);
    drop(pool.acquire().await?.detach());
    eventually("the top-up is connecting", SOON, async || {
        proxy.accepted() == opened + 1
    })
    .await;
    let stats = pool.stats();
    assert_eq!(
        (stats.size, stats.idle, stats.in_use, stats.waiting),
        (2, 2, 0, 0),
        "{stats}"
    );
    Ok(())
}

/// A caller whose checkout is opening a new connection has none yet: the stats count it as
/// waiting, not in use, until the connect ends (here: until the caller gives up).
#[tokio::test]
async fn a_caller_opening_a_connection_counts_as_waiting() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    let cfg = config_via(&db, &proxy, 1, 2)
        .connect_timeout(Duration::from_secs(600))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let held = pool.acquire().await?;
    let opened = proxy.accepted();
    // The second caller needs a new connection; its connect hangs.
    proxy.set_mode(ProxyMode::Blackhole);
    let caller = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.map(drop) }
    });
    eventually("the caller is connecting", SOON, async || {
        proxy.accepted() == opened + 1
    })
    .await;
    let stats = pool.stats();
    assert_eq!(
        (stats.size, stats.in_use, stats.waiting),
        (1, 1, 1),
        "{stats}"
    );
    caller.abort();
    let _ = caller.await;
    let stats = pool.stats();
    assert_eq!(
        (stats.size, stats.in_use, stats.waiting),
        (1, 1, 0),
        "{stats}"
    );
    drop(held);
    Ok(())
}

#[tokio::test]
async fn max_size_and_acquire_timeout_bound_the_pool() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    // min = max: both connections are open before the test starts, so the first two
    // checkouts do not race the 200 ms timeout with a connect on a loaded machine.
    let cfg = config(&db, 2, 2)
        .acquire_timeout(Duration::from_millis(200))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let a = pool.acquire().await?;
    let b = pool.acquire().await?;
    let started = Instant::now();
    let err = pool.acquire().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "returned promptly"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "waited the acquire timeout"
    );
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.timeout_kind(), Some(pgtide::TimeoutKind::Acquire));
    // Exhaustion: the error carries the stats, and no connect error.
    let stats = err.pool_stats().expect("a pool timeout carries stats");
    assert_eq!((stats.in_use, stats.max_size), (2, 2));
    assert!(err.last_connect_error().is_none());
    assert!(
        err.to_string().contains("2 of 2 connections in use"),
        "{err}"
    );
    let mut admin = db.connect().await?;
    assert_eq!(backends(&mut admin, &cfg).await, 2);
    let stats = pool.stats();
    assert_eq!(stats.acquire_timeouts, 1);
    assert!(stats.acquire_wait >= Duration::from_millis(200));
    drop((a, b));
    assert!(
        pool.acquire().await.is_ok(),
        "usable again once connections come back"
    );
    Ok(())
}

#[tokio::test]
async fn waiting_callers_show_in_stats() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1).build()?;
    let pool = Pool::connect(&cfg).await?;
    let held = pool.acquire().await?;
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.map(|_| ()) }
    });
    eventually("a caller waits", SOON, async || pool.stats().waiting == 1).await;
    drop(held);
    waiter.await??;
    let stats = pool.stats();
    assert_eq!(stats.acquires, 2);
    assert_eq!(stats.waiting, 0);
    Ok(())
}

/// Callers waiting for a connection are served in the order they asked, not the order they
/// are polled in, and a connection handed back goes straight to the first of them.
#[tokio::test]
async fn waiting_callers_are_served_first_come_first_served() -> anyhow::Result<()> {
    use futures_util::FutureExt;
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1).build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut held = pool.acquire().await?;
    let pid = held.backend_pid().await?;
    let mut first = Box::pin(pool.acquire());
    let mut second = Box::pin(pool.acquire());
    let mut third = Box::pin(pool.acquire());
    // One poll each, in this order, puts each in line.
    for waiter in [&mut first, &mut second, &mut third] {
        assert!(
            waiter.as_mut().now_or_never().is_none(),
            "every place is taken"
        );
    }
    assert_eq!(pool.stats().waiting, 3);
    drop(held);
    for waiter in [&mut third, &mut second] {
        assert!(waiter.as_mut().now_or_never().is_none(), "not its turn");
    }
    let mut conn = tokio::time::timeout(SOON, first).await??;
    assert_eq!(conn.backend_pid().await?, pid, "the connection handed back");
    drop(conn);
    assert!(third.as_mut().now_or_never().is_none(), "not its turn");
    let conn = tokio::time::timeout(SOON, second).await??;
    drop(conn);
    let conn = tokio::time::timeout(SOON, third).await??;
    drop(conn);
    assert_eq!(pool.stats().waiting, 0);
    Ok(())
}

/// A checkout in a task of its own: its error, if any, and how long it took.
fn spawn_timed_acquire(pool: &Pool) -> tokio::task::JoinHandle<(Option<pgtide::Error>, Duration)> {
    let pool = pool.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let err = pool.acquire().await.err();
        (err, started.elapsed())
    })
}

/// Awaits a [`spawn_timed_acquire`] (within `SOON`, else fails saying `why`) and asserts it
/// timed out waiting for a connection, after at least `timeout`.
async fn assert_acquire_times_out(
    checkout: tokio::task::JoinHandle<(Option<pgtide::Error>, Duration)>,
    timeout: Duration,
    why: &str,
) {
    let (err, waited) = tokio::time::timeout(SOON, checkout)
        .await
        .expect(why)
        .expect("the checkout's task ends");
    assert_eq!(
        err.and_then(|e| e.timeout_kind()),
        Some(pgtide::TimeoutKind::Acquire),
        "no connection came back"
    );
    assert!(waited >= timeout, "{waited:?}");
}

/// Callers in line share one timer, kept by one of them: when that one gives up, the next
/// takes the timer over, and every caller still times out after `pool.acquire_timeout`.
#[tokio::test]
async fn callers_in_line_time_out_when_the_one_keeping_time_gives_up() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let timeout = Duration::from_millis(300);
    let cfg = config(&db, 1, 1).acquire_timeout(timeout).build()?;
    let pool = Pool::connect(&cfg).await?;
    let _held = pool.acquire().await?;
    // The first in line keeps the time.
    let keeper = spawn_timed_acquire(&pool);
    eventually("the first caller waits", SOON, async || {
        pool.stats().waiting == 1
    })
    .await;
    let next = spawn_timed_acquire(&pool);
    eventually("the second caller waits", SOON, async || {
        pool.stats().waiting == 2
    })
    .await;
    keeper.abort();
    assert!(keeper.await.unwrap_err().is_cancelled());
    assert_acquire_times_out(next, timeout, "times out without the first caller's timer").await;
    // Many at once: each times out.
    let many: Vec<_> = (0..20).map(|_| spawn_timed_acquire(&pool)).collect();
    for checkout in many {
        assert_acquire_times_out(checkout, timeout, "times out").await;
    }
    assert_eq!(pool.stats().acquire_timeouts, 21);
    assert_eq!(pool.stats().waiting, 0);
    Ok(())
}

/// The caller keeping the line's time may stop being polled (its future held in a `select!`
/// whose task is busy elsewhere): the others still time out on time.
#[tokio::test]
async fn a_caller_in_line_that_is_not_polled_holds_up_no_one() -> anyhow::Result<()> {
    use futures_util::FutureExt;
    let db = TestDb::new().await?;
    let timeout = Duration::from_millis(300);
    let cfg = config(&db, 1, 1).acquire_timeout(timeout).build()?;
    let pool = Pool::connect(&cfg).await?;
    let _held = pool.acquire().await?;
    // First in line, so it keeps the time; polled once, never again.
    let mut stalled = Box::pin(pool.acquire());
    assert!(stalled.as_mut().now_or_never().is_none());
    assert_acquire_times_out(
        spawn_timed_acquire(&pool),
        timeout,
        "times out though the first caller is not polled",
    )
    .await;
    // The stalled one timed out too, told when it is polled again.
    let err = stalled.await.expect_err("no connection came back");
    assert_eq!(err.timeout_kind(), Some(pgtide::TimeoutKind::Acquire));
    assert_eq!(pool.stats().waiting, 0);
    Ok(())
}

/// The same when the time passes to a caller that is not being polled: the next caller to
/// join keeps it instead.
#[tokio::test]
async fn callers_in_line_time_out_when_the_next_to_keep_time_is_not_polled() -> anyhow::Result<()> {
    use futures_util::FutureExt;
    let db = TestDb::new().await?;
    let timeout = Duration::from_millis(300);
    let cfg = config(&db, 1, 1).acquire_timeout(timeout).build()?;
    let pool = Pool::connect(&cfg).await?;
    let held = pool.acquire().await?;
    let first = spawn_timed_acquire(&pool);
    eventually("the first caller waits", SOON, async || {
        pool.stats().waiting == 1
    })
    .await;
    // Joins behind it, polled once, never again: the newest in line.
    let mut stalled = Box::pin(pool.acquire());
    assert!(stalled.as_mut().now_or_never().is_none());
    // The first is served and leaves: the time passes to the stalled one.
    drop(held);
    let (err, _) = tokio::time::timeout(SOON, first).await??;
    assert!(err.is_none(), "served");
    assert_acquire_times_out(
        spawn_timed_acquire(&pool),
        timeout,
        "times out though the caller given the time is not polled",
    )
    .await;
    drop(stalled);
    Ok(())
}

#[tokio::test]
async fn idle_connections_above_min_close_after_idle_timeout() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 4)
        .idle_timeout(Some(Duration::from_millis(200)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let held: Vec<_> = futures_util::future::try_join_all((0..4).map(|_| pool.acquire())).await?;
    let mut admin = db.connect().await?;
    assert_eq!(backends(&mut admin, &cfg).await, 4);
    drop(held);
    eventually(
        "idle connections above the minimum close",
        SOON,
        async || backends(&mut admin, &cfg).await == 1,
    )
    .await;
    let stats = pool.stats();
    assert_eq!(stats.size, 1);
    assert!(stats.connections_closed >= 3, "{stats}");
    Ok(())
}

/// While other connections are in use, the one handed back last goes out first (LIFO); a lone
/// caller gets the one handed back before it, so one statement at a time alternates between
/// two connections, and the rest idle out.
#[tokio::test]
async fn the_last_connections_back_go_out_first_and_the_rest_idle_out() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 3)
        .idle_timeout(Some(Duration::from_millis(300)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut held = futures_util::future::try_join_all((0..3).map(|_| pool.acquire())).await?;
    let mut pids = Vec::new();
    for conn in &mut held {
        pids.push(conn.backend_pid().await?);
    }
    // Handed back in order (a `Vec` drops front to back).
    drop(held);
    // A lone caller: the one handed back before the last.
    let mut alone = pool.acquire().await?;
    assert_eq!(alone.backend_pid().await?, pids[1]);
    // With that one in use, the next caller gets the last one back.
    let mut beside = pool.acquire().await?;
    assert_eq!(beside.backend_pid().await?, pids[2]);
    drop(beside);
    drop(alone);
    // One at a time: the two most recent in turn.
    for expected in [pids[2], pids[1], pids[2]] {
        let mut conn = pool.acquire().await?;
        assert_eq!(conn.backend_pid().await?, expected);
    }
    // The third sits idle, and the idle reaper closes it (handed out in turn, none would ever
    // be idle 300 ms).
    let mut admin = db.connect().await?;
    eventually("the unused connection idles out", SOON, async || {
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
        one == 1 && backends(&mut admin, &cfg).await == 2
    })
    .await;
    let mut conn = pool.acquire().await?;
    assert_ne!(conn.backend_pid().await?, pids[0]);
    Ok(())
}

/// A checkout dropped while it health-checks a connection closes that connection (its ping's
/// answer may be half read) and gives its place back: the next checkout gets a new one.
#[tokio::test]
async fn a_checkout_dropped_during_its_health_check_closes_that_connection() -> anyhow::Result<()> {
    use futures_util::FutureExt;
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    let cfg = config_via(&db, &proxy, 1, 1)
        .health_check(HealthCheck::Always)
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let pid = pool.acquire().await?.backend_pid().await?;
    // No bytes move: the ping waits for its answer.
    proxy.stall(true);
    let mut checkout = Box::pin(pool.acquire());
    assert!(checkout.as_mut().now_or_never().is_none(), "pinging");
    let closed = pool.stats().connections_closed;
    drop(checkout);
    assert_eq!(pool.stats().connections_closed, closed + 1);
    proxy.stall(false);
    let mut conn = tokio::time::timeout(SOON, pool.acquire()).await??;
    assert_ne!(conn.backend_pid().await?, pid, "not reused");
    for (sql, expected) in [("SELECT 1", 1), ("SELECT 2", 2)] {
        let got: i32 = sqlx::query_scalar(sql).fetch_one(&mut *conn).await?;
        assert_eq!(got, expected);
    }
    Ok(())
}

#[tokio::test]
async fn connections_are_replaced_after_max_lifetime() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1)
        .max_lifetime(Some(Duration::from_millis(300)))
        .health_check(HealthCheck::Never)
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let first = pool.acquire().await?.backend_pid().await?;
    eventually("the connection is replaced", SOON, async || {
        let mut conn = pool.acquire().await.unwrap();
        conn.backend_pid().await.unwrap() != first
    })
    .await;
    assert!(pool.stats().connections_created >= 2);
    assert!(pool.stats().connections_closed >= 1);
    Ok(())
}

/// Terminates the backend behind the pool's only idle connection and waits until the server
/// has let it go.
async fn kill_idle_connection(db: &TestDb, pool: &Pool) -> anyhow::Result<i32> {
    let pid = pool.acquire().await?.backend_pid().await?;
    let mut admin = db.connect().await?;
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut admin)
        .await?;
    eventually("the backend is gone", SOON, async || {
        let alive: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)")
                .bind(pid)
                .fetch_one(&mut admin)
                .await
                .unwrap();
        !alive
    })
    .await;
    Ok(pid)
}

#[tokio::test]
async fn health_check_always_replaces_a_dead_connection_at_checkout() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1)
        .health_check(HealthCheck::Always)
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let dead = kill_idle_connection(&db, &pool).await?;
    let mut conn = pool.acquire().await?;
    assert_ne!(conn.backend_pid().await?, dead);
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *conn).await?;
    assert_eq!(one, 1);
    assert!(pool.stats().connections_closed >= 1);
    Ok(())
}

#[tokio::test]
async fn health_check_never_costs_no_round_trip_and_the_dead_connection_fails_at_use()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1).health_check(HealthCheck::Never).build()?;
    let pool = Pool::connect(&cfg).await?;
    kill_idle_connection(&db, &pool).await?;
    // No check at checkout: the first use finds the connection dead.
    let err = pgtide::query::fetch_one(&pool, sqlx::query_scalar::<_, i32>("SELECT 1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    // It was marked after the error: the next checkout checks it and replaces it.
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
    assert_eq!(one, 1);
    Ok(())
}

#[tokio::test]
async fn health_check_idle_threshold_checks_only_idle_connections() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    // Idle for an hour before a check: a freshly used connection is not checked.
    let lazy = config(&db, 1, 1)
        .health_check(HealthCheck::IdleLongerThan(Duration::from_secs(3600)))
        .build()?;
    let pool = Pool::connect(&lazy).await?;
    kill_idle_connection(&db, &pool).await?;
    assert!(
        sqlx::query("SELECT 1").execute(&pool).await.is_err(),
        "not checked: fails at use"
    );

    // Idle for a millisecond: the connection sat idle longer than that while we waited for
    // the server to drop it, so it is checked and replaced.
    let eager = config(&db, 1, 1)
        .health_check(HealthCheck::IdleLongerThan(Duration::from_millis(1)))
        .build()?;
    let pool = Pool::connect(&eager).await?;
    kill_idle_connection(&db, &pool).await?;
    sqlx::query("SELECT 1").execute(&pool).await?;
    Ok(())
}

#[tokio::test]
async fn session_settings_travel_in_the_startup_packet() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 2)
        .statement_timeout(Some(Duration::from_millis(1500)))
        .lock_timeout(Some(Duration::from_millis(700)))
        .idle_in_transaction_session_timeout(Some(Duration::from_secs(9)))
        .search_path("pg_catalog, public")
        .session_setting("work_mem", "7MB")
        .application_name("pgtide-startup-options")
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT name, current_setting(name), source FROM pg_settings
          WHERE name IN ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout',
                         'search_path', 'work_mem', 'application_name')
          ORDER BY name",
    )
    .fetch_all(&pool)
    .await?;
    let expect = [
        ("application_name", "pgtide-startup-options"),
        ("idle_in_transaction_session_timeout", "9s"),
        ("lock_timeout", "700ms"),
        ("search_path", "pg_catalog, public"),
        ("statement_timeout", "1500ms"),
        ("work_mem", "7MB"),
    ];
    for ((name, value, source), (want_name, want_value)) in rows.iter().zip(expect) {
        assert_eq!((name.as_str(), value.as_str()), (want_name, want_value));
        // `client`: set by the startup packet, not by a SET after connecting.
        assert_eq!(source, "client", "{name}");
    }
    assert_eq!(rows.len(), expect.len());
    Ok(())
}

#[tokio::test]
async fn application_name_and_search_path_take_effect() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut admin = db.connect().await?;
    sqlx::raw_sql("CREATE SCHEMA app; CREATE TABLE app.only_here (x int); INSERT INTO app.only_here VALUES (7)")
        .execute(&mut admin)
        .await?;
    let cfg = config(&db, 1, 1).search_path("app, public").build()?;
    let pool = Pool::connect(&cfg).await?;
    let x: i32 = sqlx::query_scalar("SELECT x FROM only_here")
        .fetch_one(&pool)
        .await?;
    assert_eq!(x, 7);
    assert_eq!(backends(&mut admin, &cfg).await, 1);
    Ok(())
}

#[tokio::test]
async fn connect_timeout_is_enforced_against_a_server_that_never_answers() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    proxy.set_mode(ProxyMode::Blackhole);
    let cfg = config_via(&db, &proxy, 1, 1)
        .connect_timeout(Duration::from_millis(300))
        .retry_attempts(1)
        .build()?;
    let started = Instant::now();
    let err = Pool::connect(&cfg).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.timeout_kind(), Some(pgtide::TimeoutKind::Connect));
    assert!(err.to_string().contains("connecting"), "{err}");
    assert_eq!(proxy.accepted(), 1);
    Ok(())
}

#[tokio::test]
async fn startup_retries_until_the_server_is_back() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    proxy.set_mode(ProxyMode::Refuse);
    let cfg = config_via(&db, &proxy, 1, 2)
        .retry(common::retry(50, 20, 50, Duration::from_secs(30)))
        .build()?;
    let connecting = tokio::spawn(async move { Pool::connect(&cfg).await });
    eventually("a few refused attempts", SOON, async || {
        proxy.refused() >= 2
    })
    .await;
    proxy.set_mode(ProxyMode::Forward);
    let pool = connecting.await??;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
    assert_eq!(one, 1);
    Ok(())
}

#[tokio::test]
async fn acquire_timeout_carries_the_last_connect_error() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    let cfg = config_via(&db, &proxy, 0, 1)
        .acquire_timeout(Duration::from_millis(300))
        .health_check(HealthCheck::Always)
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    proxy.set_mode(ProxyMode::Refuse);
    proxy.cut();
    let started = Instant::now();
    let err = pool.acquire().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.timeout_kind(), Some(pgtide::TimeoutKind::Acquire));
    let cause = err.last_connect_error().expect("carries the connect error");
    assert_eq!(cause.kind(), ErrorKind::Transient, "{cause}");
    assert!(err.to_string().contains("could not connect"), "{err}");
    assert!(std::error::Error::source(&err).is_some());
    assert!(pool.stats().connect_failures >= 1);
    Ok(())
}

#[tokio::test]
async fn pool_is_a_sqlx_executor_and_keeps_escape_hatches() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 2).build()?;
    let pool = Pool::connect(&cfg).await?;
    // Streaming through `&Pool`.
    use futures_util::TryStreamExt;
    let n: Vec<i32> = sqlx::query_scalar::<_, i32>("SELECT generate_series(1, 5)")
        .fetch(&pool)
        .try_collect()
        .await?;
    assert_eq!(n, [1, 2, 3, 4, 5]);
    let rows = sqlx::query("SELECT 1").fetch_all(&pool).await?;
    assert_eq!(rows.len(), 1);

    // A detached connection leaves the pool for good.
    let conn = pool.acquire().await?;
    let before = pool.stats();
    let mut raw: sqlx::PgConnection = conn.detach();
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut raw).await?;
    assert_eq!(one, 1);
    assert_eq!(pool.stats().size, before.size - 1);
    let mut unpooled = pool.connect_unpooled().await?;
    let app: String = sqlx::query_scalar("SELECT current_setting('application_name')")
        .fetch_one(&mut unpooled)
        .await?;
    assert_eq!(app, cfg.connection().application_name);
    assert_eq!(
        pool.connect_options_with_password().get_database(),
        Some(db.name())
    );
    Ok(())
}

#[tokio::test]
async fn close_refuses_checkouts_and_closes_connections() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 2, 2).build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut admin = db.connect().await?;
    assert_eq!(backends(&mut admin, &cfg).await, 2);
    pool.close().await;
    assert!(pool.is_closed());
    assert_eq!(pool.acquire().await.unwrap_err().kind(), ErrorKind::Closed);
    eventually("connections close", SOON, async || {
        backends(&mut admin, &cfg).await == 0
    })
    .await;
    Ok(())
}

#[tokio::test]
async fn dropping_the_pool_stops_maintenance_and_closes_connections() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 2, 2).build()?;
    let metrics = tokio::runtime::Handle::current().metrics();
    let tasks_before = metrics.num_alive_tasks();
    let pool = Pool::connect(&cfg).await?;
    assert!(metrics.num_alive_tasks() > tasks_before, "maintenance runs");
    drop(pool);
    eventually("the maintenance task ends", SOON, async || {
        metrics.num_alive_tasks() == tasks_before
    })
    .await;
    let mut admin = db.connect().await?;
    eventually("connections close", SOON, async || {
        backends(&mut admin, &cfg).await == 0
    })
    .await;
    Ok(())
}
