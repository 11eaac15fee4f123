//! Transactions: commit, rollback on error and panic, options, whole-body retry.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::config;
use pgtide::{ErrorKind, IsolationLevel, Pool, SessionReset, TxOptions, query};
use pgtide_testkit::TestDb;
use tokio::sync::Barrier;

async fn visits(pool: &Pool) -> i64 {
    sqlx::query_scalar("SELECT value FROM counters WHERE name = 'visits'")
        .fetch_one(pool)
        .await
        .unwrap()
}

const BUMP: &str = "UPDATE counters SET value = value + 1 WHERE name = 'visits'";

#[tokio::test]
async fn ok_commits_err_rolls_back() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 2).build()?).await?;
    let n = pool
        .transaction(TxOptions::default(), async |tx| {
            query::execute(&mut **tx, sqlx::query(BUMP)).await
        })
        .await?;
    assert_eq!((n, visits(&pool).await), (1, 1));

    let err = pool
        .transaction(TxOptions::default(), async |tx| {
            query::execute(&mut **tx, sqlx::query(BUMP)).await?;
            query::execute(&mut **tx, sqlx::query("SELECT 1/0")).await
        })
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("22012"));
    assert_eq!(visits(&pool).await, 1, "rolled back");
    Ok(())
}

#[tokio::test]
async fn panic_rolls_back_and_resumes() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let p = pool.clone();
    let joined = tokio::spawn(async move {
        p.transaction(TxOptions::default(), async |tx| {
            query::execute(&mut **tx, sqlx::query(BUMP)).await?;
            panic!("boom");
            #[allow(unreachable_code)]
            Ok(())
        })
        .await
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(visits(&pool).await, 0, "rolled back");
    // The one connection is usable and outside any transaction.
    let mut conn = pool.acquire().await?;
    assert_outside_transaction(&mut conn).await;
    Ok(())
}

/// `SAVEPOINT` fails with `25P01` outside a transaction block and succeeds inside one: a
/// check that cannot pass on a session left inside a transaction.
async fn assert_outside_transaction(conn: &mut sqlx::PgConnection) {
    match sqlx::raw_sql("SAVEPOINT pgtide_probe")
        .execute(&mut *conn)
        .await
    {
        Err(err) => assert_eq!(
            err.as_database_error().and_then(|e| e.code()).as_deref(),
            Some("25P01"),
            "{err}"
        ),
        Ok(_) => panic!("the connection was handed out inside a transaction"),
    }
}

#[tokio::test]
async fn a_begin_cancelled_in_flight_does_not_leave_the_connection_in_a_transaction()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1)
        .health_check(pgtide::config::HealthCheck::Never)
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    // Poll `begin` once and drop it: with the connection idle and no health check, the
    // first poll checks out and sends `BEGIN`, and usually returns before the reply arrives.
    // Try until one attempt was dropped in flight (bounded).
    let mut dropped_in_flight = 0;
    for _ in 0..200 {
        // The probe below had the raw session, so the connection is reset in the background
        // before it is available again: start each attempt with it idle.
        common::eventually(
            "the connection is idle again",
            Duration::from_secs(10),
            async || pool.stats().idle == 1,
        )
        .await;
        let created = pool.stats().connections_created;
        let mut begin = Box::pin(pool.begin(TxOptions::default()));
        // A transaction that did begin is dropped here too (rolled back in the background).
        let pending = futures_util::FutureExt::now_or_never(begin.as_mut()).is_none();
        drop(begin);
        let mut conn = pool.acquire().await?;
        assert_outside_transaction(&mut conn).await;
        drop(conn);
        if pending {
            dropped_in_flight += 1;
            assert!(
                pool.stats().connections_created > created,
                "the abandoned connection was discarded"
            );
            if dropped_in_flight == 5 {
                break;
            }
        }
    }
    assert!(dropped_in_flight > 0, "no attempt was dropped in flight");
    Ok(())
}

#[tokio::test]
async fn a_transaction_cancelled_in_flight_is_not_reused_inside_it() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    // The body is stuck in a statement; an outer timeout drops the whole transaction.
    let outer = tokio::time::timeout(
        Duration::from_millis(100),
        pool.transaction(TxOptions::default(), async |tx| {
            query::execute(&mut **tx, sqlx::query(BUMP)).await?;
            query::execute(&mut **tx, sqlx::query("SELECT pg_sleep(20)")).await
        }),
    )
    .await;
    assert!(outer.is_err(), "the outer timeout fired");
    let mut conn = tokio::time::timeout(Duration::from_secs(5), pool.acquire())
        .await
        .expect("the next checkout is not blocked behind the abandoned statement")?;
    assert_outside_transaction(&mut conn).await;
    drop(conn);
    assert_eq!(
        visits(&pool).await,
        0,
        "the abandoned transaction did not commit"
    );
    Ok(())
}

#[tokio::test]
async fn options_take_effect() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    for (opts, want) in [
        (TxOptions::default(), ("read committed", "off", "off")),
        (
            TxOptions::default().isolation(IsolationLevel::RepeatableRead),
            ("repeatable read", "off", "off"),
        ),
        (
            TxOptions::serializable().read_only().deferrable(),
            ("serializable", "on", "on"),
        ),
    ] {
        let got: (String, String, String) = pool
            .transaction(opts, async |tx| {
                query::fetch_one(
                    &mut **tx,
                    sqlx::query_as(
                        "SELECT current_setting('transaction_isolation'),
                                current_setting('transaction_read_only'),
                                current_setting('transaction_deferrable')",
                    ),
                )
                .await
            })
            .await?;
        assert_eq!((got.0.as_str(), got.1.as_str(), got.2.as_str()), want);
    }
    let err = pool
        .transaction(TxOptions::default().read_only(), async |tx| {
            query::execute(&mut **tx, sqlx::query(BUMP)).await
        })
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("25006"));
    Ok(())
}

/// Two serializable transactions read both counters, then each writes one: one of them must
/// fail with 40001. The barrier makes both read before either writes, so the conflict is
/// certain on the first attempt; the retry runs alone and commits.
#[tokio::test]
async fn serialization_conflict_is_resolved_by_automatic_retry() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 2, 2)
        .retry(common::retry(5, 10, 50, Duration::from_secs(20)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let barrier = Arc::new(Barrier::new(2));
    let runs = Arc::new(AtomicU32::new(0));
    let txn = |name: &'static str| {
        let (pool, barrier, runs) = (pool.clone(), Arc::clone(&barrier), Arc::clone(&runs));
        async move {
            pool.transaction(TxOptions::serializable(), async |tx| {
                let first = runs.fetch_add(1, Ordering::SeqCst) < 2;
                let _: i64 = query::fetch_one(
                    &mut **tx,
                    sqlx::query_scalar("SELECT sum(value)::bigint FROM counters"),
                )
                .await?;
                if first {
                    barrier.wait().await;
                }
                query::execute(
                    &mut **tx,
                    sqlx::query("UPDATE counters SET value = value + 1 WHERE name = $1").bind(name),
                )
                .await
            })
            .await
        }
    };
    // Concurrent on one task (the closure API's futures borrow their captures; see
    // `transaction_boxed` for spawning).
    let (a, b) = tokio::join!(txn("visits"), txn("loans"));
    assert_eq!(a?, 1);
    assert_eq!(b?, 1);
    assert!(runs.load(Ordering::SeqCst) >= 3, "one of them ran again");
    let total: i64 = sqlx::query_scalar("SELECT sum(value)::bigint FROM counters")
        .fetch_one(&pool)
        .await?;
    assert_eq!(total, 2, "both committed exactly once");
    Ok(())
}

#[tokio::test]
async fn no_retry_returns_the_conflict() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 2).build()?).await?;
    let mut calls = 0;
    let err = pool
        .transaction(TxOptions::serializable().no_retry(), async |tx| {
            calls += 1;
            query::execute(
                &mut **tx,
                sqlx::query("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; END $$"),
            )
            .await
        })
        .await
        .unwrap_err();
    assert_eq!((err.kind(), calls), (ErrorKind::Transient, 1));
    let mut calls = 0;
    let err = pool
        .transaction(TxOptions::serializable(), async |tx| {
            calls += 1;
            query::execute(
                &mut **tx,
                sqlx::query("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; END $$"),
            )
            .await
        })
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("40001"));
    assert_eq!(
        calls,
        pool.config().retry().attempts,
        "retried up to the attempts"
    );
    Ok(())
}

#[tokio::test]
async fn manual_begin_commit_rollback_and_drop() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let mut tx = pool.begin(TxOptions::default()).await?;
    sqlx::query(BUMP).execute(&mut *tx).await?;
    tx.commit().await?;
    assert_eq!(visits(&pool).await, 1);

    let mut tx = pool.begin(TxOptions::default()).await?;
    sqlx::query(BUMP).execute(&mut *tx).await?;
    tx.rollback().await?;
    assert_eq!(visits(&pool).await, 1);

    let mut tx = pool.begin(TxOptions::default()).await?;
    sqlx::query(BUMP).execute(&mut *tx).await?;
    drop(tx);
    // The single connection comes back only after the rollback.
    assert_eq!(visits(&pool).await, 1);
    Ok(())
}

#[tokio::test]
async fn boxed_bodies_run_in_spawned_tasks_and_retry_too() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 2).build()?).await?;
    let calls = Arc::new(AtomicU32::new(0));
    let (p, c) = (pool.clone(), Arc::clone(&calls));
    let n = tokio::spawn(async move {
        p.transaction_boxed(TxOptions::serializable(), |tx| {
            let c = Arc::clone(&c);
            Box::pin(async move {
                if c.fetch_add(1, Ordering::SeqCst) == 0 {
                    // First attempt: a serialization failure, as the server reports it.
                    query::execute(
                        &mut **tx,
                        sqlx::query("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; END $$"),
                    )
                    .await?;
                }
                query::execute(&mut **tx, sqlx::query(BUMP)).await
            })
        })
        .await
    })
    .await??;
    assert_eq!((n, calls.load(Ordering::SeqCst)), (1, 2));
    assert_eq!(visits(&pool).await, 1);
    Ok(())
}

#[tokio::test]
async fn a_body_that_swallows_an_error_does_not_report_a_silent_rollback_as_success()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let err = pool
        .transaction(TxOptions::default(), async |tx| {
            query::execute(&mut **tx, sqlx::query(BUMP)).await?;
            // The error is swallowed, but the transaction is aborted: COMMIT would roll back.
            let _ = query::execute(&mut **tx, sqlx::query("SELECT 1/0")).await;
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("25P02"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert_eq!(visits(&pool).await, 0, "nothing committed");

    // The manual API says so too, and the connection is reused afterwards.
    let created = pool.stats().connections_created;
    let mut tx = pool.begin(TxOptions::default()).await?;
    let _ = sqlx::query("SELECT 1/0").execute(&mut *tx).await;
    let err = tx.commit().await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("25P02"));
    let mut conn = pool.acquire().await?;
    assert_outside_transaction(&mut conn).await;
    assert_eq!(
        pool.stats().connections_created,
        created,
        "the connection was reused"
    );
    Ok(())
}

/// Write skew between two serializable transactions: T1 (manual) reads `b` and writes `a`,
/// T2 (`Pool::transaction`) reads `a` and writes `b`; T1 commits while T2 is still open, so
/// T2's `COMMIT` fails with 40001. The retry runs T2 again on the same connection: a
/// conflict reported by `COMMIT` does not cost a new connection.
#[tokio::test]
async fn a_conflict_at_commit_is_retried_without_replacing_the_connection() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 2, 2)
        .retry(common::retry(5, 10, 50, Duration::from_secs(20)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    sqlx::query("INSERT INTO counters (name, value) VALUES ('a', 0), ('b', 0)")
        .execute(&pool)
        .await?;
    let created = pool.stats().connections_created;
    let closed = pool.stats().connections_closed;

    let mut t1 = pool.begin(TxOptions::serializable()).await?;
    sqlx::query("SELECT value FROM counters WHERE name = 'b'")
        .execute(&mut *t1)
        .await?;
    sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'a'")
        .execute(&mut *t1)
        .await?;

    let (wrote_tx, wrote_rx) = tokio::sync::oneshot::channel::<()>();
    let (committed_tx, committed_rx) = tokio::sync::oneshot::channel::<()>();
    let runs = AtomicU32::new(0);
    let signals = std::sync::Mutex::new(Some((wrote_tx, committed_rx)));
    let t2 = pool.transaction(TxOptions::serializable(), async |tx| {
        runs.fetch_add(1, Ordering::SeqCst);
        sqlx::query("SELECT value FROM counters WHERE name = 'a'")
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'b'")
            .execute(&mut **tx)
            .await?;
        let first = signals.lock().unwrap().take();
        if let Some((wrote, committed)) = first {
            wrote.send(()).unwrap();
            committed.await.unwrap();
        }
        Ok(())
    });
    let t1 = async {
        wrote_rx.await?;
        t1.commit().await?;
        committed_tx.send(()).unwrap();
        anyhow::Ok(())
    };
    let (t2, t1) = tokio::join!(t2, t1);
    t1?;
    t2?;
    let runs = runs.load(Ordering::SeqCst);
    assert_eq!(runs, 2, "T2 failed once at COMMIT and ran again");
    let values: Vec<i64> =
        sqlx::query_scalar("SELECT value FROM counters WHERE name IN ('a', 'b') ORDER BY name")
            .fetch_all(&pool)
            .await?;
    assert_eq!(values, [1, 1]);
    let stats = pool.stats();
    assert_eq!(
        (stats.connections_created, stats.connections_closed),
        (created, closed),
        "no connection was replaced across the retry"
    );
    Ok(())
}

/// Two transactions each lock one row, wait for the other at a barrier, then take the
/// other's row: PostgreSQL's deadlock detector aborts one with 40P01, which is run again
/// (without the barrier) after the other committed.
#[tokio::test]
async fn a_deadlock_is_resolved_by_automatic_retry() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 2, 2)
        .retry(common::retry(5, 10, 50, Duration::from_secs(30)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let barrier = Barrier::new(2);
    let runs = AtomicU32::new(0);
    let codes = std::sync::Mutex::new(Vec::new());
    let bump = |name: &'static str| {
        sqlx::query("UPDATE counters SET value = value + 1 WHERE name = $1").bind(name)
    };
    let txn = |first: &'static str, second: &'static str| {
        let (barrier, runs, codes) = (&barrier, &runs, &codes);
        let first_run = AtomicU32::new(0);
        pool.transaction(TxOptions::default(), async move |tx| {
            runs.fetch_add(1, Ordering::SeqCst);
            query::execute(&mut **tx, bump(first)).await?;
            if first_run.fetch_add(1, Ordering::SeqCst) == 0 {
                barrier.wait().await;
            }
            let second = query::execute(&mut **tx, bump(second)).await;
            if let Err(err) = &second {
                codes
                    .lock()
                    .unwrap()
                    .push(err.sqlstate().map(str::to_owned));
            }
            second
        })
    };
    let (a, b) = tokio::join!(txn("visits", "loans"), txn("loans", "visits"));
    a?;
    b?;
    assert_eq!(*codes.lock().unwrap(), [Some("40P01".to_owned())]);
    assert_eq!(runs.load(Ordering::SeqCst), 3, "one side ran twice");
    let both: Vec<i64> =
        sqlx::query_scalar("SELECT value FROM counters WHERE name IN ('visits', 'loans')")
            .fetch_all(&pool)
            .await?;
    assert_eq!(both, [2, 2]);
    Ok(())
}

/// A transaction whose statements all ran through it (`&mut *tx` in a body, `&mut tx` for
/// `pool.begin()`'s) and returned `Ok` cannot be aborted: `COMMIT` is sent without the check
/// before it (no `SELECT 1` reaches the server), and, as the statements only read and wrote
/// rows, without the session reset (a setting left on the session survives). A statement
/// through it that failed brings the check back; the raw connection (`&mut **tx`) brings the
/// reset back.
#[tokio::test]
async fn statements_through_the_transaction_commit_without_the_check_or_the_reset()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = common::proxy(&db).await;
    let cfg = common::config_via(&db, &proxy, 1, 1)
        .retry(common::retry(3, 10, 10, Duration::from_secs(10)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    // A setting left on the session by a borrower under the `Never` policy: any reset
    // removes it.
    pool.set_session_reset(SessionReset::Never);
    sqlx::query("SELECT set_config('app.marker', 'kept', false)")
        .execute(&pool)
        .await?;
    pool.set_session_reset(SessionReset::AfterRawUse);
    let marker = async || -> String {
        sqlx::query_scalar("SELECT coalesce(current_setting('app.marker', true), '')")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(marker().await, "kept");

    // Any check sent from now on trips the proxy (once): its connection is lost.
    proxy.cut_after_forwarding("SELECT 1");
    let (before, bumped) = pool
        .transaction(TxOptions::default(), async |tx| {
            let before: i64 =
                sqlx::query_scalar("SELECT value FROM counters WHERE name = 'visits'")
                    .fetch_one(&mut *tx)
                    .await?;
            let bumped = query::execute(&mut *tx, sqlx::query(BUMP)).await?;
            Ok((before, bumped))
        })
        .await?;
    assert_eq!((before, bumped, visits(&pool).await), (0, 1, 1));
    let mut tx = pool.begin(TxOptions::default()).await?;
    sqlx::query(BUMP).execute(&mut tx).await?;
    tx.commit().await?;
    assert_eq!(visits(&pool).await, 2);
    assert_eq!(proxy.tripped(), 0, "no check was sent before COMMIT");
    assert_eq!(marker().await, "kept", "no session reset ran");

    // A failed statement through the transaction, swallowed: the check is sent (and trips
    // the proxy: lost before `COMMIT`, so the body runs again), and reports the abort.
    let runs = AtomicU32::new(0);
    let err = pool
        .transaction(TxOptions::default(), async |tx| {
            runs.fetch_add(1, Ordering::SeqCst);
            query::execute(&mut *tx, sqlx::query(BUMP)).await?;
            let _ = query::execute(&mut *tx, sqlx::query("SELECT 2/0")).await;
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("25P02"), "{err}");
    assert_eq!(proxy.tripped(), 1, "the check was sent");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(visits(&pool).await, 2, "nothing committed");

    // The raw connection: the session is reset before `COMMIT`.
    pool.set_session_reset(SessionReset::Never);
    sqlx::query("SELECT set_config('app.marker', 'kept', false)")
        .execute(&pool)
        .await?;
    pool.set_session_reset(SessionReset::AfterRawUse);
    assert_eq!(marker().await, "kept");
    pool.transaction(TxOptions::default(), async |tx| {
        query::execute(&mut **tx, sqlx::query(BUMP)).await
    })
    .await?;
    assert_eq!(visits(&pool).await, 3);
    assert_eq!(marker().await, "", "the raw connection's session was reset");
    Ok(())
}

/// An aborted transaction through the executor (`&mut *tx`): `COMMIT` is not reported as
/// success, and the connection is reused outside any transaction (sqlx's own transaction
/// depth back at 0: a new `begin` works and a sqlx savepoint inside it too).
#[tokio::test]
async fn an_aborted_transaction_through_the_executor_reports_25p02_and_the_connection_is_reused()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let created = pool.stats().connections_created;
    let err = pool
        .transaction(TxOptions::default(), async |tx| {
            query::execute(&mut *tx, sqlx::query(BUMP)).await?;
            let _ = query::execute(&mut *tx, sqlx::query("SELECT 1/0")).await;
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("25P02"), "{err}");
    assert_eq!(visits(&pool).await, 0, "nothing committed");

    let mut tx = pool.begin(TxOptions::default()).await?;
    let _ = sqlx::query("SELECT 1/0").execute(&mut tx).await;
    let err = tx.commit().await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("25P02"), "{err}");

    // A statement that fails to parse aborts the transaction too.
    let mut tx = pool.begin(TxOptions::default()).await?;
    sqlx::query(BUMP).execute(&mut tx).await?;
    let parsed =
        sqlx::Executor::prepare(&mut tx, sqlx::SqlSafeStr::into_sql_str("SELEC broken")).await;
    assert!(parsed.is_err());
    let err = tx.commit().await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("25P02"), "{err}");
    assert_eq!(visits(&pool).await, 0, "nothing committed");

    let mut tx = pool.begin(TxOptions::default()).await?;
    {
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
        sqlx::query(BUMP).execute(&mut *savepoint).await?;
        savepoint.commit().await?;
    }
    sqlx::query(BUMP).execute(&mut tx).await?;
    tx.commit().await?;
    assert_eq!(visits(&pool).await, 2);
    let mut conn = pool.acquire().await?;
    assert_outside_transaction(&mut conn).await;
    drop(conn);
    assert_eq!(pool.stats().connections_created, created, "reused");

    // A result stream dropped before its end counts as unseen: the check runs, and reads the
    // error the stream left unread (the connection, out of step, is not reused). Nothing of
    // the transaction is committed.
    let mut tx = pool.begin(TxOptions::default()).await?;
    sqlx::query(BUMP).execute(&mut tx).await?;
    {
        let mut rows =
            sqlx::query_scalar::<_, i32>("SELECT 1/(2 - g) FROM generate_series(1, 3) g")
                .fetch(&mut tx);
        let first = futures_util::StreamExt::next(&mut rows).await;
        assert!(matches!(first, Some(Ok(1))), "{first:?}");
    }
    let err = tx.commit().await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("22012"), "{err}");
    assert_eq!(visits(&pool).await, 2, "nothing committed");
    Ok(())
}

/// A body that opened a savepoint (a sqlx transaction on `&mut **tx`), failed inside it and
/// rolled back to it commits the rest; one that swallowed the savepoint's error without
/// rolling back to it reports `25P02` and commits nothing.
#[tokio::test]
async fn a_body_with_a_savepoint_commits_what_the_savepoint_did_not_undo() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let created = pool.stats().connections_created;
    pool.transaction(TxOptions::default(), async |tx| {
        query::execute(&mut *tx, sqlx::query(BUMP)).await?;
        let mut savepoint = sqlx::Connection::begin(&mut **tx).await?;
        sqlx::query(BUMP).execute(&mut *savepoint).await?;
        assert!(
            sqlx::query("SELECT 1/0")
                .execute(&mut *savepoint)
                .await
                .is_err()
        );
        savepoint.rollback().await?;
        query::execute(&mut *tx, sqlx::query(BUMP)).await?;
        Ok(())
    })
    .await?;
    assert_eq!(visits(&pool).await, 2, "the savepoint's bump was undone");

    let err = pool
        .transaction(TxOptions::default(), async |tx| {
            query::execute(&mut *tx, sqlx::query(BUMP)).await?;
            sqlx::raw_sql("SAVEPOINT inner_work")
                .execute(&mut *tx)
                .await?;
            let _ = query::execute(&mut *tx, sqlx::query("SELECT 1/0")).await;
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("25P02"), "{err}");
    assert_eq!(visits(&pool).await, 2, "nothing committed");
    let mut conn = pool.acquire().await?;
    assert_outside_transaction(&mut conn).await;
    assert_eq!(pool.stats().connections_created, created, "reused");
    Ok(())
}
