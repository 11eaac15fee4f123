//! Retry: idempotent work survives the server going away mid-read; nothing else is retried
//! silently. "Server down" is a TCP proxy we control in front of the shared server (tests run
//! in parallel against it, so nobody stops it): cutting the proxy drops every connection,
//! refusing mode makes reconnects fail, forwarding again is "server back". One test stops and
//! starts a real server of its own (`PrivateServer`), as an administrator would.

mod common;

use std::time::Duration;

use common::{activity, config_via, eventually, proxy};
use pgtide::SecretString;
use pgtide::config::{Config, PoolSize, SslMode};
use pgtide::{ErrorKind, Pool, query};
use pgtide_testkit::{PrivateServer, ProxyMode, TestDb};
use sqlx::Connection as _;

#[tokio::test]
async fn an_idempotent_read_in_flight_survives_the_server_going_down_and_up() -> anyhow::Result<()>
{
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    let cfg = config_via(&db, &proxy, 1, 2)
        .retry(common::retry(20, 20, 100, Duration::from_secs(30)))
        .acquire_timeout(Duration::from_secs(20))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut attempts = 0;
    let read = pool.idempotent(async |conn| {
        attempts += 1;
        query::fetch_one(
            conn,
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM counters, pg_sleep(2)"),
        )
        .await
    });
    let mut admin = db.connect().await?;
    let app = cfg.connection().application_name.clone();
    let orchestrate = async {
        eventually("the read is running", Duration::from_secs(10), async || {
            activity(&mut admin, &app)
                .await
                .iter()
                .any(|(_, state, q)| state.as_deref() == Some("active") && q.contains("pg_sleep"))
        })
        .await;
        // Server down: live connections drop, new ones are refused.
        proxy.set_mode(ProxyMode::Refuse);
        proxy.cut();
        eventually(
            "a reconnect was refused",
            Duration::from_secs(10),
            async || proxy.refused() >= 1,
        )
        .await;
        // Server back.
        proxy.set_mode(ProxyMode::Forward);
    };
    let (result, ()) = tokio::join!(read, orchestrate);
    assert_eq!(result?, 2);
    assert!(attempts >= 2, "the read ran again: {attempts}");
    Ok(())
}

#[tokio::test]
async fn a_statement_not_marked_idempotent_is_not_retried() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    let cfg = config_via(&db, &proxy, 1, 1)
        .retry(common::retry(5, 10, 10, Duration::from_secs(10)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut admin = db.connect().await?;
    let app = cfg.connection().application_name.clone();
    let write = query::execute(
        &pool,
        sqlx::query(
            "UPDATE counters SET value = value + 1 WHERE name = 'visits' AND (SELECT true FROM pg_sleep(2))",
        ),
    );
    let cut = async {
        eventually(
            "the write is running",
            Duration::from_secs(10),
            async || {
                activity(&mut admin, &app)
                    .await
                    .iter()
                    .any(|(_, state, q)| {
                        state.as_deref() == Some("active") && q.contains("pg_sleep")
                    })
            },
        )
        .await;
        proxy.cut();
    };
    let (result, ()) = tokio::join!(write, cut);
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(err.is_connection_lost());
    // Only the pool's one connection was ever opened: no second attempt.
    assert_eq!(proxy.accepted(), 1);
    Ok(())
}

#[tokio::test]
async fn idempotent_work_does_not_retry_permanent_errors() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    let pool = Pool::connect(&config_via(&db, &proxy, 1, 1).build()?).await?;
    let mut attempts = 0;
    let err = pool
        .idempotent(async |conn| {
            attempts += 1;
            query::execute(conn, sqlx::query("SELECT 1/0")).await
        })
        .await
        .unwrap_err();
    assert_eq!((err.kind(), attempts), (ErrorKind::Permanent, 1));
    Ok(())
}

#[tokio::test]
async fn idempotent_work_dropped_midway_does_not_block_the_next_checkout() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&common::config(&db, 1, 1).build()?).await?;
    let first_pid = pool.acquire().await?.backend_pid().await?;
    let outer = tokio::time::timeout(
        Duration::from_millis(100),
        pool.idempotent(async |conn| {
            query::execute(conn, sqlx::query("SELECT pg_sleep(20)")).await
        }),
    )
    .await;
    assert!(outer.is_err(), "the outer timeout fired");
    let mut conn = tokio::time::timeout(Duration::from_secs(5), pool.acquire())
        .await
        .expect("the next checkout is not queued behind the abandoned statement")?;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *conn).await?;
    assert_eq!(one, 1);
    assert_ne!(
        conn.backend_pid().await?,
        first_pid,
        "the abandoned connection was replaced"
    );
    drop(conn);
    let mut admin = db.connect().await?;
    sqlx::query("SELECT pg_cancel_backend($1)")
        .bind(first_pid)
        .execute(&mut admin)
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_read_survives_a_real_server_stop_and_start() -> anyhow::Result<()> {
    let server = PrivateServer::start_new()?;
    let app = "pgtide-stop-start";
    let cfg = Config::builder()
        .host(server.host())
        .port(server.port())
        .user(server.user())
        .database("postgres")
        .password(SecretString::from(server.password().to_owned()))
        .ssl_mode(SslMode::Disable)
        .application_name(app)
        .retry(common::retry(40, 50, 500, Duration::from_secs(60)))
        .acquire_timeout(Duration::from_secs(30))
        .pool_size(PoolSize::new(1, 2)?)
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut admin = sqlx::PgConnection::connect(&server.url("postgres")).await?;

    let mut attempts = 0;
    let read = pool.idempotent(async |conn| {
        attempts += 1;
        query::fetch_one(
            conn,
            sqlx::query_scalar::<_, i64>("SELECT 42::bigint FROM pg_sleep(2)"),
        )
        .await
    });
    let orchestrate = async {
        eventually("the read is running", Duration::from_secs(10), async || {
            activity(&mut admin, app)
                .await
                .iter()
                .any(|(_, state, q)| state.as_deref() == Some("active") && q.contains("pg_sleep"))
        })
        .await;
        drop(admin);
        // `pg_ctl stop -m fast`: the running read is terminated (57P01), the server goes away;
        // then it comes back on the same port.
        tokio::task::block_in_place(|| server.stop()).expect("server stops");
        tokio::task::block_in_place(|| server.start()).expect("server starts again");
    };
    let (result, ()) = tokio::join!(read, orchestrate);
    assert_eq!(result?, 42);
    assert!(
        attempts >= 2,
        "the read ran again after the restart: {attempts}"
    );
    assert!(pool.stats().connections_created >= 2, "{}", pool.stats());
    Ok(())
}

/// A statement run through `&pool` inside a transaction body is not part of the transaction:
/// it may have committed on its own connection. When its reply is lost, the body must not
/// run again (that would insert twice). The proxy forwards the `INSERT` to the server, which
/// commits it, and then drops the client's side of that one connection.
#[tokio::test]
async fn a_pool_statement_inside_a_transaction_body_is_never_repeated() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut admin = db.connect().await?;
    sqlx::raw_sql("CREATE TABLE once_only (id bigint PRIMARY KEY DEFAULT 1)")
        .execute(&mut admin)
        .await?;
    let proxy = proxy(&db).await;
    let cfg = config_via(&db, &proxy, 1, 3)
        .retry(common::retry(5, 10, 10, Duration::from_secs(10)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    proxy.cut_after_forwarding("INSERT INTO once_only /* through the pool */");
    let capture = pgtide_testkit::Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut runs = 0;
    let result = pool
        .transaction(pgtide::TxOptions::default(), async |tx| {
            runs += 1;
            query::fetch_one(&mut **tx, sqlx::query_scalar::<_, i32>("SELECT 1")).await?;
            // Wrong on purpose: `&pool`, not `&mut **tx`.
            sqlx::raw_sql("INSERT INTO once_only /* through the pool */ DEFAULT VALUES")
                .execute(&pool)
                .await?;
            Ok(())
        })
        .await;
    let err = result.expect_err("the reply of the INSERT was lost");
    assert_eq!(proxy.tripped(), 1);
    assert!(err.is_connection_lost(), "{err}");
    assert_eq!(
        runs, 1,
        "the body ran again after a statement outside it may have committed"
    );
    // The server runs the forwarded INSERT on its own time (the client already saw the
    // connection go): wait for it to commit; the body did not run again, so it is the only one.
    common::eventually("the INSERT committed", common::SOON, async || {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM once_only")
            .fetch_one(&mut admin)
            .await
            .unwrap()
            == 1
    })
    .await;
    assert!(
        capture.text().contains("not part of the transaction"),
        "a warning names the mistake"
    );
    Ok(())
}

/// The same body using its own transaction (`&mut **tx`) is still retried when its
/// connection is lost before `COMMIT`: nothing of it committed.
#[tokio::test]
async fn a_body_that_only_uses_its_transaction_is_still_retried() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut admin = db.connect().await?;
    sqlx::raw_sql("CREATE TABLE once_only (id bigint PRIMARY KEY DEFAULT 1)")
        .execute(&mut admin)
        .await?;
    let proxy = proxy(&db).await;
    let cfg = config_via(&db, &proxy, 1, 3)
        .retry(common::retry(5, 10, 10, Duration::from_secs(10)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    proxy.cut_after_forwarding("INSERT INTO once_only /* in the transaction */");
    let mut runs = 0;
    pool.transaction(pgtide::TxOptions::default(), async |tx| {
        runs += 1;
        sqlx::raw_sql("INSERT INTO once_only /* in the transaction */ DEFAULT VALUES")
            .execute(&mut **tx)
            .await?;
        Ok(())
    })
    .await?;
    assert_eq!(proxy.tripped(), 1);
    assert_eq!(runs, 2);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM once_only")
        .fetch_one(&mut admin)
        .await?;
    assert_eq!(rows, 1);
    Ok(())
}
