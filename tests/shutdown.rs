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
async fn a_holder_past_the_grace_period_is_reported_and_closed_on_hand_back() -> anyhow::Result<()>
{
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 2).build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut held = pool.acquire().await?;
    let outcome = pool.close_within(Duration::from_millis(20)).await;
    assert_eq!(outcome.still_in_use, 1);
    // The held connection still works for its holder.
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *held).await?;
    assert_eq!(one, 1);
    drop(held);
    let mut admin = db.connect().await?;
    eventually("the handed-back connection closes", SOON, async || {
        backends(&mut admin, &cfg).await == 0
    })
    .await;
    assert_eq!(pool.close().await.still_in_use, 0);
    Ok(())
}
