//! `Pool::close` against the real server: checkouts refused at once, work in flight
//! finishes, every connection closed with a `Terminate` message, idempotent.

mod common;

use std::time::Duration;

use common::{backends, config, eventually, running};
use pgtide::{ErrorKind, Pool};
use pgtide_testkit::TestDb;
use sqlx::PgConnection;

const SOON: Duration = Duration::from_secs(10);

/// Sessions of this database that ended without a `Terminate` message (PostgreSQL 14+).
async fn abandoned(admin: &mut PgConnection, db: &TestDb) -> i64 {
    sqlx::query("SELECT pg_stat_clear_snapshot()")
        .execute(&mut *admin)
        .await
        .unwrap();
    sqlx::query_scalar("SELECT sessions_abandoned FROM pg_stat_database WHERE datname = $1")
        .bind(db.name())
        .fetch_one(admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn close_waits_for_queries_in_flight_then_terminates_every_connection() -> anyhow::Result<()>
{
    let db = TestDb::new().await?;
    let cfg = config(&db, 3, 3).build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut admin = db.connect().await?;
    let abandoned_before = abandoned(&mut admin, &db).await;

    // A query in flight: it waits for a lock the test holds.
    sqlx::query("SELECT pg_advisory_lock(42)")
        .execute(&mut admin)
        .await?;
    let worker = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let got: i32 = sqlx::query_scalar(
                "SELECT 7 FROM (SELECT pg_advisory_lock_shared(42)) AS in_flight_marker",
            )
            .fetch_one(&pool)
            .await?;
            Ok::<i32, sqlx::Error>(got)
        })
    };
    running(&mut admin, "in_flight_marker").await;

    let closing = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.close_within(SOON * 3).await })
    };
    eventually("the pool is closed", SOON, async || pool.is_closed()).await;
    // New checkouts are refused at once while the query is still running.
    assert_eq!(pool.acquire().await.unwrap_err().kind(), ErrorKind::Closed);
    let err = sqlx::query("SELECT 1").execute(&pool).await.unwrap_err();
    assert!(matches!(err, sqlx::Error::PoolClosed), "{err:?}");
    assert!(
        !closing.is_finished(),
        "close waits for the query in flight"
    );
    assert_eq!(
        backends(&mut admin, &cfg).await,
        1,
        "idle ones closed at once"
    );

    // The query finishes normally; close returns with nothing left in use.
    sqlx::query("SELECT pg_advisory_unlock(42)")
        .execute(&mut admin)
        .await?;
    assert_eq!(worker.await??, 7);
    let outcome = closing.await?;
    assert_eq!(outcome.closed_idle, 2);
    assert_eq!(outcome.still_in_use, 0);
    eventually("every connection is closed", SOON, async || {
        backends(&mut admin, &cfg).await == 0
    })
    .await;
    assert_eq!(pool.stats().size, 0);
    // Each session said goodbye (`Terminate`), none was just cut off.
    assert_eq!(abandoned(&mut admin, &db).await, abandoned_before);
    Ok(())
}

#[tokio::test]
async fn close_twice_in_a_row_is_harmless() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 2, 2).build()?;
    let pool = Pool::connect(&cfg).await?;
    let first = pool.close().await;
    assert_eq!((first.closed_idle, first.still_in_use), (2, 0));
    let second = pool.close().await;
    assert_eq!((second.closed_idle, second.still_in_use), (0, 0));
    assert!(pool.is_closed());
    assert_eq!(pool.acquire().await.unwrap_err().kind(), ErrorKind::Closed);
    let mut admin = db.connect().await?;
    assert_eq!(backends(&mut admin, &cfg).await, 0);
    Ok(())
}

#[tokio::test]
async fn a_query_running_past_the_grace_period_is_terminated_and_the_pool_closes()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 2).build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut admin = db.connect().await?;
    let sleeper = {
        let pool = pool.clone();
        tokio::spawn(async move {
            sqlx::query("SELECT pg_sleep(600), 'straggler_marker'")
                .execute(&pool)
                .await
                .map(|_| ())
        })
    };
    running(&mut admin, "straggler_marker").await;

    let outcome = pool.close_within(Duration::from_millis(200)).await;
    assert_eq!(outcome.terminated, 1, "{outcome:?}");
    // The sleeper's statement was stopped on the server, not left running for 600 s.
    let err = sleeper.await?.unwrap_err();
    let err = pgtide::Error::from(err);
    assert!(err.is_connection_lost(), "{err:?}");
    eventually("every backend is gone", SOON, async || {
        backends(&mut admin, &cfg).await == 0
    })
    .await;
    eventually("the pool is empty", SOON, async || pool.stats().size == 0).await;
    assert_eq!(pool.close().await.still_in_use, 0);
    Ok(())
}

#[tokio::test]
async fn an_idle_holder_past_the_grace_period_finds_its_connection_terminated() -> anyhow::Result<()>
{
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 2).build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut held = pool.acquire().await?;
    let outcome = pool.close_within(Duration::from_millis(20)).await;
    assert_eq!((outcome.still_in_use, outcome.terminated), (1, 1));
    let mut admin = db.connect().await?;
    eventually("the held backend is gone", SOON, async || {
        backends(&mut admin, &cfg).await == 0
    })
    .await;
    // The holder learns on its next statement; handing it back empties the pool.
    let err = sqlx::query("SELECT 1")
        .execute(&mut *held)
        .await
        .unwrap_err();
    assert!(pgtide::Error::from(err).is_connection_lost());
    drop(held);
    eventually("the pool is empty", SOON, async || pool.stats().size == 0).await;
    assert_eq!(pool.close().await.still_in_use, 0);
    Ok(())
}

/// An application's runtime shuts down (its `main` returns) while a task holds the last
/// clone of the pool and a connection: no `close` was called, yet every session ends with
/// `Terminate`, none is just cut off.
#[test]
fn a_runtime_shutting_down_with_the_pool_in_use_ends_every_session_cleanly() -> anyhow::Result<()> {
    let outside = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let db = outside.block_on(TestDb::new())?;
    let cfg = config(&db, 2, 3).build()?;
    let mut admin = outside.block_on(db.connect())?;
    let abandoned_before = outside.block_on(abandoned(&mut admin, &db));

    let app = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    app.block_on(async {
        let pool = Pool::connect(&cfg).await?;
        let (holding, held) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut conn = pool.acquire().await.expect("a checkout");
            let one: i32 = sqlx::query_scalar("SELECT 1")
                .fetch_one(&mut *conn)
                .await
                .expect("a query");
            let _ = holding.send(one);
            // Never finishes: dropped by the runtime's shutdown, connection and pool with it.
            std::future::pending::<()>().await;
            drop((conn, pool));
        });
        assert_eq!(held.await?, 1);
        anyhow::Ok(())
    })?;
    assert_eq!(outside.block_on(backends(&mut admin, &cfg)), 2);
    app.shutdown_timeout(Duration::from_secs(5));

    outside.block_on(async {
        eventually("every session ended", SOON, async || {
            backends(&mut admin, &cfg).await == 0
        })
        .await;
        assert_eq!(
            abandoned(&mut admin, &db).await,
            abandoned_before,
            "each session ended with Terminate, none was cut off"
        );
    });
    Ok(())
}
