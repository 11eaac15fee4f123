//! Query helpers on pool, connection and transaction; per-call timeouts that cancel on the
//! server; the executor contract generated code relies on.

mod common;

use std::time::{Duration, Instant};

use common::{activity, config, eventually};
use pgtide::{ErrorKind, Pool, TxOptions, query};
use pgtide_testkit::TestDb;

/// What generated code looks like: generic over sqlx's executor.
async fn get_author<'e, E: pgtide::sqlx::PgExecutor<'e>>(
    db: E,
    id: i64,
) -> pgtide::Result<(i64, String)> {
    pgtide::observe::statement(
        "GetAuthor",
        query::fetch_one(
            db,
            sqlx::query_as("SELECT author_id, name FROM authors WHERE author_id = $1").bind(id),
        ),
    )
    .await
}

#[tokio::test]
async fn helpers_and_generated_style_functions_run_on_pool_connection_and_transaction()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 2).build()?).await?;
    let id: i64 = query::fetch_one(
        &pool,
        sqlx::query_scalar("INSERT INTO authors (name) VALUES ('Ada') RETURNING author_id"),
    )
    .await?;
    assert_eq!(get_author(&pool, id).await?.1, "Ada");
    let mut conn = pool.acquire().await?;
    assert_eq!(get_author(&mut *conn, id).await?.1, "Ada");
    let none: Option<i64> = query::fetch_optional(
        &mut *conn,
        sqlx::query_scalar("SELECT author_id FROM authors WHERE author_id = -1"),
    )
    .await?;
    assert_eq!(none, None);
    drop(conn);
    let mut tx = pool.begin(TxOptions::default()).await?;
    assert_eq!(get_author(&mut *tx, id).await?.1, "Ada");
    let changed = query::execute(
        &mut *tx,
        sqlx::query("UPDATE authors SET bio = 'x' WHERE author_id = $1").bind(id),
    )
    .await?;
    assert_eq!(changed, 1);
    let rows = query::fetch_all(&mut *tx, sqlx::query("SELECT * FROM counters")).await?;
    assert_eq!(rows.len(), 2);
    tx.commit().await?;
    let err = get_author(&pool, -1).await.unwrap_err();
    assert_eq!(err.to_string(), "no row returned by `GetAuthor`");
    Ok(())
}

#[tokio::test]
async fn a_short_per_call_timeout_cancels_on_the_server_and_keeps_the_connection()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1)
        .statement_timeout(Some(Duration::from_secs(30)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut conn = pool.acquire().await?;
    let pid = conn.backend_pid().await?;
    let started = Instant::now();
    let err = conn
        .with_timeout(Duration::from_millis(200), async |c| {
            query::execute(c, sqlx::query("SELECT pg_sleep(5)")).await
        })
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(
        err.timeout_kind(),
        Some(pgtide::TimeoutKind::ClientDeadline)
    );
    assert!(err.to_string().contains("cancelled on the server"), "{err}");
    // The server is no longer running the sleep: the same backend is idle.
    let mut admin = db.connect().await?;
    let app = &cfg.connection().application_name;
    eventually("the backend is idle", Duration::from_secs(5), async || {
        activity(&mut admin, app)
            .await
            .iter()
            .any(|(p, state, query)| {
                *p == pid && state.as_deref() == Some("idle") && !query.contains("pg_sleep")
            })
    })
    .await;
    // Same connection, usable, back at the profile's statement_timeout.
    assert_eq!(conn.backend_pid().await?, pid);
    let limit: String = sqlx::query_scalar("SELECT current_setting('statement_timeout')")
        .fetch_one(&mut *conn)
        .await?;
    assert_eq!(limit, "30s");
    Ok(())
}

#[tokio::test]
async fn a_longer_per_call_timeout_outlasts_the_profile() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1)
        .statement_timeout(Some(Duration::from_millis(100)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    // The profile's 100 ms would cut this short ...
    let err = query::execute(&pool, sqlx::query("SELECT pg_sleep(0.3)"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    // ... a call with a longer timeout runs to the end.
    let n = pool
        .with_timeout(Duration::from_secs(5), async |c| {
            query::execute(c, sqlx::query("SELECT pg_sleep(0.3)")).await
        })
        .await?;
    assert_eq!(n, 1);
    Ok(())
}

#[tokio::test]
async fn a_timeout_inside_a_transaction_aborts_it_and_leaves_the_pool_usable() -> anyhow::Result<()>
{
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let mut tx = pool.begin(TxOptions::default()).await?;
    let err = tx
        .with_timeout(Duration::from_millis(150), async |c| {
            query::execute(c, sqlx::query("SELECT pg_sleep(5)")).await
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    tx.rollback().await?;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
    assert_eq!(one, 1);
    Ok(())
}

#[tokio::test]
async fn a_per_call_timeout_dropped_by_the_caller_does_not_leak_its_session_state()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1)
        .statement_timeout(Some(Duration::from_secs(30)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let first_pid = pool.acquire().await?.backend_pid().await?;
    let closed = pool.stats().connections_closed;
    let outer = tokio::time::timeout(
        Duration::from_millis(100),
        pool.with_timeout(Duration::from_secs(60), async |conn| {
            query::execute(conn, sqlx::query("SELECT pg_sleep(20)")).await
        }),
    )
    .await;
    assert!(outer.is_err(), "the outer timeout fired first");

    // The next checkout is prompt (not queued behind the sleeping statement) and sees the
    // profile's statement_timeout, not the per-call backstop.
    let mut conn = tokio::time::timeout(Duration::from_secs(5), pool.acquire())
        .await
        .expect("the next checkout is not blocked")?;
    let setting: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&mut *conn)
        .await?;
    assert_eq!(setting, "30s");
    assert_ne!(
        conn.backend_pid().await?,
        first_pid,
        "the abandoned connection was replaced"
    );
    assert_eq!(pool.stats().connections_closed, closed + 1);
    drop(conn);
    // Do not leave the abandoned statement sleeping on the server.
    let mut admin = db.connect().await?;
    sqlx::query("SELECT pg_cancel_backend($1)")
        .bind(first_pid)
        .execute(&mut admin)
        .await?;
    Ok(())
}

#[tokio::test]
async fn huge_timeouts_do_not_panic() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1).acquire_timeout(Duration::MAX).build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut conn = pool.acquire().await?;
    // Clamped to PostgreSQL's largest statement_timeout (INT_MAX ms).
    let setting: String = conn
        .with_timeout(Duration::MAX, async |conn| {
            query::fetch_one(conn, sqlx::query_scalar("SHOW statement_timeout")).await
        })
        .await?;
    assert_eq!(setting, "2147483647ms");
    Ok(())
}
