//! One guard owns a pooled connection's state: work abandoned midway (its future dropped)
//! never hands the connection out again, and the abandoned statement is stopped on the
//! server. Each test uses a pool of one, so the next checkout would get the same connection.

mod common;

use std::time::Duration;

use common::{config, next_checkout_is_clean, none_running, running};
use pgtide::codegen_support::{Statement, copy_rows};
use pgtide::{ErrorKind, Pool, TxOptions};
use pgtide_testkit::TestDb;

async fn pool_of_one(db: &TestDb) -> anyhow::Result<Pool> {
    let cfg = config(db, 1, 1)
        .connect_timeout(Duration::from_secs(2))
        .build()?;
    Ok(Pool::connect(&cfg).await?)
}

/// The table whose one row the lock tests lock (`UPDATE locked SET id = 1 WHERE id = 1`).
async fn create_locked_row(admin: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    sqlx::raw_sql("CREATE TABLE locked (id int PRIMARY KEY); INSERT INTO locked VALUES (1)")
        .execute(admin)
        .await?;
    Ok(())
}

/// `admin` can update the locked row within 20 s: the lock went with the terminated backend,
/// long before the abandoned statement (a minute) or any `statement_timeout` would have ended.
async fn the_row_lock_is_free(admin: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    sqlx::query("SET lock_timeout = '20s'")
        .execute(&mut *admin)
        .await?;
    sqlx::query("UPDATE locked SET id = 1 WHERE id = 1")
        .execute(&mut *admin)
        .await?;
    Ok(())
}

#[tokio::test]
async fn dropped_pool_executor_future_discards_and_stops_the_statement() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_of_one(&db).await?;
    let mut admin = db.connect().await?;
    let marker = "abandoned_executor_call";
    let sql = format!("SELECT pg_sleep(60) AS {marker}");
    let call = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool);
    tokio::select! {
        _ = call => panic!("the statement sleeps for a minute"),
        () = running(&mut admin, marker) => {}
    }
    next_checkout_is_clean(&pool).await;
    none_running(&mut admin, marker).await;
    assert!(pool.stats().connections_closed >= 1);
    Ok(())
}

#[tokio::test]
async fn copy_dropped_mid_send_never_comes_back_with_an_open_copy() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_of_one(&db).await?;
    let mut admin = db.connect().await?;
    // Each row takes the server a moment, so the client is still sending when dropped.
    sqlx::raw_sql(
        "CREATE TABLE slow_copy (n int, pad text);
         CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN PERFORM pg_sleep(0.01); RETURN NEW; END $$;
         CREATE TRIGGER slow BEFORE INSERT ON slow_copy FOR EACH ROW EXECUTE FUNCTION slow_row();",
    )
    .execute(&mut admin)
    .await?;
    static COPY: Statement = Statement {
        name: "CopySlow",
        sql: "COPY slow_copy (n, pad) FROM STDIN (FORMAT binary)",
    };
    let pad = "x".repeat(1000);
    let rows = (0..20_000_i32).map(|n| (n, pad.clone()));
    let mut conn = pool.acquire().await?;
    {
        let send = copy_rows(&mut conn, &COPY, 2, rows, |row, copy| {
            copy.field(&row.0)?;
            copy.field(&row.1)
        });
        tokio::select! {
            _ = send => panic!("20,000 rows at 10 ms each take minutes"),
            () = async {
                common::eventually("the COPY has processed rows", Duration::from_secs(20), async || {
                    let n: Option<i64> = sqlx::query_scalar(
                        "SELECT max(tuples_processed) FROM pg_stat_progress_copy",
                    )
                    .fetch_one(&mut admin)
                    .await
                    .unwrap();
                    n.unwrap_or(0) > 0
                })
                .await
            } => {}
        }
    }
    drop(conn);
    next_checkout_is_clean(&pool).await;
    none_running(&mut admin, "slow_copy").await;
    let copied: i64 = sqlx::query_scalar("SELECT count(*) FROM slow_copy")
        .fetch_one(&mut admin)
        .await?;
    assert_eq!(copied, 0, "an abandoned COPY copies nothing");
    Ok(())
}

#[tokio::test]
async fn nested_per_call_timeout_dropped_inside_a_body_discards_the_connection()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_of_one(&db).await?;
    let mut admin = db.connect().await?;
    let marker = "abandoned_nested_call";
    let mut admin2 = db.connect().await?;
    let err = pool
        .transaction(TxOptions::default().no_retry(), async |tx| {
            let sql = format!("SELECT pg_sleep(60) AS {marker}");
            let inner = tx.with_timeout(Duration::from_secs(120), async |c| {
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(c).await?;
                Ok(())
            });
            // The body gives up on the inner call (its future is dropped mid-statement) and
            // returns Ok as if nothing happened.
            tokio::select! {
                _ = inner => panic!("the statement sleeps for a minute"),
                () = running(&mut admin2, marker) => {}
            }
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("abandoned"), "{err}");
    next_checkout_is_clean(&pool).await;
    none_running(&mut admin, marker).await;
    Ok(())
}

#[tokio::test]
async fn a_transaction_dropped_mid_statement_releases_its_locks_at_once() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_of_one(&db).await?;
    let mut admin = db.connect().await?;
    create_locked_row(&mut admin).await?;
    let marker = "abandoned_locking_body";
    let body = pool.transaction(TxOptions::default(), async |tx| {
        sqlx::query("UPDATE locked SET id = 1 WHERE id = 1")
            .execute(&mut **tx)
            .await?;
        let sql = format!("SELECT pg_sleep(60) AS {marker}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut **tx)
            .await?;
        Ok(())
    });
    tokio::select! {
        _ = body => panic!("the statement sleeps for a minute"),
        () = running(&mut admin, marker) => {}
    }
    the_row_lock_is_free(&mut admin).await?;
    none_running(&mut admin, marker).await;
    next_checkout_is_clean(&pool).await;
    Ok(())
}

/// A transaction you hold (`pool.begin()`) whose statement future is dropped: its rollback
/// cannot run behind the statement, so after the connect timeout the backend is terminated
/// (the row lock goes with it), not left running until `statement_timeout`.
#[tokio::test]
async fn a_held_transaction_dropped_mid_statement_releases_its_locks() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_of_one(&db).await?;
    let mut admin = db.connect().await?;
    create_locked_row(&mut admin).await?;
    let marker = "abandoned_held_transaction";
    {
        let mut tx = pool.begin(TxOptions::default()).await?;
        sqlx::query("UPDATE locked SET id = 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        let sql = format!("SELECT pg_sleep(60) AS {marker}");
        let statement = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx);
        tokio::select! {
            _ = statement => panic!("the statement sleeps for a minute"),
            () = running(&mut admin, marker) => {}
        }
    }
    the_row_lock_is_free(&mut admin).await?;
    none_running(&mut admin, marker).await;
    next_checkout_is_clean(&pool).await;
    Ok(())
}

/// Nesting the other way round: a per-call timeout inside a body completes (its count goes
/// back), then the body is dropped mid-statement: the body's own count still discards it.
#[tokio::test]
async fn a_body_dropped_after_a_completed_nested_call_discards_the_connection() -> anyhow::Result<()>
{
    let db = TestDb::new().await?;
    let pool = pool_of_one(&db).await?;
    let mut admin = db.connect().await?;
    let marker = "abandoned_after_nested_call";
    let body = pool.transaction(TxOptions::default().no_retry(), async |tx| {
        tx.with_timeout(Duration::from_secs(5), async |c| {
            sqlx::query("SELECT 1").execute(c).await?;
            Ok(())
        })
        .await?;
        let sql = format!("SELECT pg_sleep(60) AS {marker}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut **tx)
            .await?;
        Ok(())
    });
    tokio::select! {
        _ = body => panic!("the statement sleeps for a minute"),
        () = running(&mut admin, marker) => {}
    }
    next_checkout_is_clean(&pool).await;
    none_running(&mut admin, marker).await;
    Ok(())
}

#[tokio::test]
async fn prepare_and_describe_errors_are_observed() -> anyhow::Result<()> {
    use sqlx::Executor;
    let db = TestDb::new().await?;
    let pool = pool_of_one(&db).await?;
    let mut admin = db.connect().await?;
    for call in ["prepare", "describe"] {
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&pool)
            .await?;
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&mut admin)
            .await?;
        // The connection is dead; the call fails with a lost connection, which the guard
        // sees: the connection is discarded, not handed out again.
        let sql = sqlx::SqlSafeStr::into_sql_str("SELECT 1");
        let failed = match call {
            "prepare" => (&pool).prepare(sql).await.is_err(),
            _ => (&pool).describe(sql).await.is_err(),
        };
        assert!(failed, "{call} on a terminated backend");
        next_checkout_is_clean(&pool).await;
        let now: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&pool)
            .await?;
        assert_ne!(now, pid, "{call}: the dead connection was discarded");
    }
    Ok(())
}
