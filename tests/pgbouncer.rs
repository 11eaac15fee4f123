//! Through a real PgBouncer (Debian's `pgbouncer`, transaction mode) in front of the
//! throwaway server: pgtide's `pgbouncer = true` mode keeps statements, session limits,
//! per-call timeouts and session isolation working.

mod common;

use std::time::Duration;

use common::{SOON, eventually, unique_app_name};
use pgtide::config::{Config, ConfigBuilder, PoolSize, SslMode};
use pgtide::{ErrorKind, Pool, SecretString, TxOptions, query};
use pgtide_testkit::{Bouncer, TestDb};

/// A config for `db` through the shared PgBouncer, in PgBouncer mode.
async fn via_bouncer(
    db: &TestDb,
    max: u32,
) -> anyhow::Result<ConfigBuilder<SecretString, PoolSize>> {
    let bouncer = Bouncer::shared().await?;
    let s = db.server();
    Ok(Config::builder()
        .host(bouncer.host.clone())
        .port(bouncer.port)
        .database(db.name())
        .user(s.user.clone())
        .password(SecretString::from(s.password.clone()))
        .ssl_mode(SslMode::Disable)
        .application_name(unique_app_name())
        .pool_size(PoolSize::new(1, max)?)
        .pgbouncer(true))
}

/// Many clients share few server connections (PgBouncer's pool is
/// `pgtide_testkit::pgbouncer::POOL_SIZE`): statements with parameters, through `&Pool`, a
/// transaction and the generated-code style, each get their own result back.
#[tokio::test]
async fn statements_with_parameters_share_server_connections_safely() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    // Few client connections (slow SCRAM logins on a loaded machine), more tasks than
    // PgBouncer has server connections.
    let config = via_bouncer(&db, 6)
        .await?
        .connect_timeout(Duration::from_secs(20))
        .build()?;
    let pool = Pool::connect(&config).await?;
    let mut tasks = Vec::new();
    for task in 0..8i32 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25i32 {
                let n = task * 1000 + i;
                // A different statement text per task too: a statement bound on another
                // client's server connection would return the wrong shape or value.
                let sql = format!("SELECT $1::int + {task} - {task}");
                let got: i32 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(n)
                    .fetch_one(&pool)
                    .await?;
                assert_eq!(got, n);
                let text: String = pool
                    .transaction_boxed(TxOptions::default(), |tx| {
                        Box::pin(async move {
                            Ok(sqlx::query_scalar("SELECT $1::text || '!'")
                                .bind(n.to_string())
                                .fetch_one(&mut **tx)
                                .await?)
                        })
                    })
                    .await?;
                assert_eq!(text, format!("{n}!"));
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// PgBouncer refuses startup `options`: without `pgbouncer = true` a pool with session
/// settings cannot connect, and says why.
#[tokio::test]
async fn without_pgbouncer_mode_startup_settings_are_refused_by_pgbouncer() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let config = via_bouncer(&db, 1)
        .await?
        .pgbouncer(false)
        .retry_attempts(1)
        .build()?;
    let err = Pool::connect(&config).await.unwrap_err();
    assert!(
        err.to_string().contains("unsupported startup parameter"),
        "{err}"
    );
    Ok(())
}

/// `statement_timeout` from the configuration holds behind PgBouncer: `pg_sleep` past it is
/// cancelled by the server, on `&Pool` and in a transaction.
#[tokio::test]
async fn statement_timeout_cancels_pg_sleep_through_pgbouncer() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let config = via_bouncer(&db, 2)
        .await?
        .statement_timeout(Some(Duration::from_millis(300)))
        .lock_timeout(Some(Duration::from_millis(250)))
        .build()?;
    let pool = Pool::connect(&config).await?;
    let err = query::execute(&pool, sqlx::query("SELECT pg_sleep(5)"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.sqlstate(), Some("57014"), "{err}");
    let err = pool
        .transaction(TxOptions::default().no_retry(), async |tx| {
            query::execute(&mut **tx, sqlx::query("SELECT pg_sleep(5)")).await
        })
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("57014"), "{err}");
    // Each statement sees the limits, whichever server connection ran it.
    let (st, lt): (String, String) = query::fetch_one(
        &pool,
        sqlx::query_as(
            "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')",
        ),
    )
    .await?;
    assert_eq!((st.as_str(), lt.as_str()), ("300ms", "250ms"));
    // The pool still works.
    let one: i32 = query::fetch_one(&pool, sqlx::query_scalar("SELECT 1")).await?;
    assert_eq!(one, 1);
    Ok(())
}

/// A per-call timeout behind PgBouncer is the server's `statement_timeout`: the statement
/// stops on the server, the call returns a timeout, the connection is reused.
#[tokio::test]
async fn per_call_timeout_stops_the_statement_through_pgbouncer() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&via_bouncer(&db, 1).await?.build()?).await?;
    let err = pool
        .with_timeout(Duration::from_millis(200), async |conn| {
            query::execute(conn, sqlx::query("SELECT pg_sleep(30)")).await
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    let mut admin = db.connect().await?;
    eventually("no pg_sleep left on the server", SOON, async || {
        let running: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' \
             AND state = 'active' AND datname = current_database()",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        running == 0
    })
    .await;
    // A longer deadline than the profile's statement_timeout is honoured too, and the
    // connection came back usable.
    let slept = pool
        .with_timeout(Duration::from_secs(5), async |conn| {
            query::execute(conn, sqlx::query("SELECT pg_sleep(0.05)")).await
        })
        .await?;
    assert_eq!(slept, 1);
    assert_eq!(
        pool.stats().connections_created,
        1,
        "the connection was reused"
    );
    // Inside a transaction: the deadline holds for the call, the transaction's own
    // statement_timeout is back after it.
    let mut tx = pool.begin(TxOptions::default()).await?;
    let err = tx
        .with_timeout(Duration::from_millis(100), async |conn| {
            query::execute(conn, sqlx::query("SELECT pg_sleep(30)")).await
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    tx.rollback().await?;
    let st: String = query::fetch_one(&pool, sqlx::query_scalar("SHOW statement_timeout")).await?;
    assert_eq!(st, "30s");
    Ok(())
}

/// Session settings of one pool never reach another client of the same PgBouncer: they are
/// `SET LOCAL`, per transaction.
#[tokio::test]
async fn session_settings_do_not_leak_between_clients() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let a = Pool::connect(
        &via_bouncer(&db, 2)
            .await?
            .search_path("leaky, public")
            .session_setting("work_mem", "7MB")
            .build()?,
    )
    .await?;
    let b = Pool::connect(&via_bouncer(&db, 2).await?.build()?).await?;
    for _ in 0..20 {
        let (path, mem): (String, String) = query::fetch_one(
            &a,
            sqlx::query_as("SELECT current_setting('search_path'), current_setting('work_mem')"),
        )
        .await?;
        assert_eq!((path.as_str(), mem.as_str()), ("leaky, public", "7MB"));
        let (path, mem): (String, String) = query::fetch_one(
            &b,
            sqlx::query_as("SELECT current_setting('search_path'), current_setting('work_mem')"),
        )
        .await?;
        assert_ne!(path, "leaky, public");
        assert_ne!(mem, "7MB");
    }
    Ok(())
}

/// The read-only twin of a configuration (`Config::for_replicas`) stays read-only behind
/// PgBouncer, where its `default_transaction_read_only` is applied per transaction: a
/// write through `&Pool` or in a transaction fails with the server's `25006`, permanent.
#[tokio::test]
async fn a_read_only_pool_refuses_writes_through_pgbouncer() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let config = via_bouncer(&db, 2)
        .await?
        .connect_timeout(Duration::from_secs(20))
        .build()?
        .for_replicas();
    let pool = Pool::connect(&config).await?;
    let n: i64 =
        query::fetch_one(&pool, sqlx::query_scalar("SELECT count(*) FROM authors")).await?;
    assert!(n >= 0);
    let err = query::execute(
        &pool,
        sqlx::query("INSERT INTO authors (name) VALUES ('read-only')"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.sqlstate(), Some("25006"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Permanent);
    let err = pool
        .transaction(TxOptions::default(), async |tx| {
            sqlx::query("INSERT INTO authors (name) VALUES ('read-only')")
                .execute(&mut **tx)
                .await?;
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("25006"), "{err}");
    pool.close().await;
    Ok(())
}
