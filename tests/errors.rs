//! Each error kind provoked for real, with what it exposes.

mod common;

use std::time::{Duration, Instant};

use common::{config, config_via, proxy};
use pgtide::{Error, ErrorKind, Pool, SecretString, query};
use pgtide_testkit::{ProxyMode, TestDb};

#[tokio::test]
async fn wrong_password_is_auth_and_not_retried() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    let cfg = config_via(&db, &proxy, 1, 1)
        .retry(common::retry(5, 10, 10, Duration::from_secs(10)))
        .build()?;
    // Same config, wrong password: rebuild through the builder.
    let s = db.server();
    let bad = pgtide::config::Config::builder()
        .host(proxy.host())
        .port(proxy.port())
        .database(db.name())
        .user(s.user.clone())
        .password(SecretString::from("not-the-password"))
        .ssl_mode(pgtide::config::SslMode::Disable)
        .retry(cfg.retry().clone())
        .pool_size(pgtide::config::PoolSize::new(1, 1)?)
        .build()?;
    let err = Pool::connect(&bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert_eq!(err.sqlstate(), Some("28P01"));
    assert!(!err.is_retryable());
    assert_eq!(
        proxy.accepted(),
        1,
        "authentication failures are not retried"
    );
    assert!(!err.to_string().contains("not-the-password"));
    assert!(!format!("{err:?}").contains("not-the-password"));
    Ok(())
}

#[tokio::test]
async fn unknown_database_is_permanent() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1)
        .database("no_such_database_here")
        .build()?;
    let err = Pool::connect(&cfg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    assert_eq!(err.sqlstate(), Some("3D000"));
    assert!(err.to_string().contains("no_such_database_here"), "{err}");
    Ok(())
}

#[tokio::test]
async fn statement_timeout_is_timeout() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1)
        .statement_timeout(Some(Duration::from_millis(100)))
        .build()?;
    let pool = Pool::connect(&cfg).await?;
    let err = query::execute(&pool, sqlx::query("SELECT pg_sleep(5)"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.timeout_kind(), Some(pgtide::TimeoutKind::Statement));
    assert_eq!(err.sqlstate(), Some("57014"));
    assert!(!err.is_retryable());
    assert!(
        std::error::Error::source(&err).is_some(),
        "keeps the source chain"
    );
    Ok(())
}

#[tokio::test]
async fn unique_violation_is_permanent_and_names_the_constraint() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let insert = "INSERT INTO authors (name, email) VALUES ('A', 'same@example.org')";
    query::execute(&pool, sqlx::query(insert)).await?;
    let err = query::execute(&pool, sqlx::query(insert))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(err.is_constraint_violation());
    assert_eq!(err.sqlstate(), Some("23505"));
    assert_eq!(err.constraint(), Some("authors_email_key"));
    assert_eq!(err.table(), Some("authors"));
    assert!(!err.is_retryable());

    let err = query::execute(
        &pool,
        sqlx::query("INSERT INTO books (author_id, title, pages) VALUES (1, 't', -1)"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.constraint(), Some("books_pages_check"));
    let err = query::execute(
        &pool,
        sqlx::query("INSERT INTO authors (name) VALUES (NULL)"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.sqlstate(), Some("23502"));
    assert_eq!(err.column(), Some("name"));
    Ok(())
}

#[tokio::test]
async fn bad_sql_is_permanent_and_missing_row_is_not_found() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let err = query::execute(&pool, sqlx::query("SELEC 1"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.sqlstate()),
        (ErrorKind::Permanent, Some("42601"))
    );
    let err = query::fetch_one(
        &pool,
        sqlx::query_scalar::<_, String>("SELECT name FROM authors WHERE author_id = -1"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = pgtide::observe::statement(
        "GetAuthor",
        query::fetch_one(
            &pool,
            sqlx::query_scalar::<_, String>("SELECT name FROM authors WHERE author_id = -1"),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "no row returned by `GetAuthor`");
    Ok(())
}

#[tokio::test]
async fn server_down_is_transient_and_after_the_budget_the_cause_is_returned() -> anyhow::Result<()>
{
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    proxy.set_mode(ProxyMode::Refuse);
    let cfg = config_via(&db, &proxy, 1, 1)
        .retry(common::retry(4, 10, 20, Duration::from_secs(10)))
        .build()?;
    let started = Instant::now();
    let err = Pool::connect(&cfg).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(err.is_retryable());
    assert!(err.is_connection_lost());
    assert!(matches!(err.as_sqlx(), Some(sqlx::Error::Io(_))), "{err:?}");
    assert_eq!(proxy.accepted(), 4, "every attempt was made");

    // A budget shorter than the delays stops earlier, with the same cause.
    let proxy2 = common::proxy(&db).await;
    proxy2.set_mode(ProxyMode::Refuse);
    let cfg = config_via(&db, &proxy2, 1, 1)
        .retry(common::retry(100, 50, 50, Duration::from_millis(120)))
        .build()?;
    let err = Pool::connect(&cfg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(
        (2..=4).contains(&proxy2.accepted()),
        "{}",
        proxy2.accepted()
    );
    Ok(())
}

#[tokio::test]
async fn serialization_failure_is_transient() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 2, 2).build()?).await?;
    let opts = pgtide::TxOptions::serializable();
    let mut a = pool.begin(opts).await?;
    let mut b = pool.begin(opts).await?;
    let read = "SELECT sum(value)::bigint FROM counters";
    let _: i64 = sqlx::query_scalar(read).fetch_one(&mut *a).await?;
    let _: i64 = sqlx::query_scalar(read).fetch_one(&mut *b).await?;
    sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'visits'")
        .execute(&mut *a)
        .await?;
    sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'loans'")
        .execute(&mut *b)
        .await?;
    a.commit().await?;
    let err: Error = b.commit().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert_eq!(err.sqlstate(), Some("40001"));
    assert!(err.is_retryable());
    assert!(!err.is_connection_lost());
    Ok(())
}

#[test]
fn pool_timeout_round_trips_through_sqlx_errors() {
    let timeout = Error::timeout(
        pgtide::error::TimeoutKind::Acquire,
        "waiting for a pooled connection",
        None,
    );
    let through: sqlx::Error = sqlx::Error::Io(std::io::Error::other(timeout));
    let back = Error::from(through);
    assert_eq!(back.kind(), ErrorKind::Timeout);
    assert_eq!(back.timeout_kind(), Some(pgtide::TimeoutKind::Acquire));
}

#[tokio::test]
async fn lock_timeout_is_timeout() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    // Another session holds the row lock.
    let mut admin = db.connect().await?;
    sqlx::raw_sql("BEGIN; UPDATE counters SET value = 1 WHERE name = 'visits'")
        .execute(&mut admin)
        .await?;
    let err = pool
        .transaction(pgtide::TxOptions::default().no_retry(), async |tx| {
            query::execute(&mut **tx, sqlx::query("SET LOCAL lock_timeout = '50ms'")).await?;
            query::execute(
                &mut **tx,
                sqlx::query("UPDATE counters SET value = 2 WHERE name = 'visits'"),
            )
            .await
        })
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("55P03"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.timeout_kind(), Some(pgtide::TimeoutKind::LockWait));
    assert!(!err.is_retryable());
    sqlx::raw_sql("ROLLBACK").execute(&mut admin).await?;
    Ok(())
}

#[tokio::test]
async fn idle_in_transaction_timeout_is_timeout() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let mut tx = pool.begin(pgtide::TxOptions::default()).await?;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("SET idle_in_transaction_session_timeout = '100ms'")
        .execute(&mut *tx)
        .await?;
    // Wait (bounded) until the server ended the idle session.
    let mut admin = db.connect().await?;
    common::eventually(
        "the idle transaction is terminated",
        Duration::from_secs(20),
        async || {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = $1")
                .bind(pid)
                .fetch_one(&mut admin)
                .await
                .unwrap();
            n == 0
        },
    )
    .await;
    let err = query::execute(&mut *tx, sqlx::query("SELECT 1"))
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("25P03"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(
        err.timeout_kind(),
        Some(pgtide::TimeoutKind::IdleInTransaction)
    );
    drop(tx);
    // The pool replaces the dead connection.
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
    assert_eq!(one, 1);
    Ok(())
}

#[tokio::test]
async fn a_statement_cancelled_by_another_client_is_told_apart_from_statement_timeout()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let mut conn = pool.acquire().await?;
    let pid = conn.backend_pid().await?;
    let mut admin = db.connect().await?;
    let marker = "cancelled_by_a_client";
    let sql = format!("SELECT pg_sleep(60) AS {marker}");
    let run = query::execute(&mut *conn, sqlx::query(sqlx::AssertSqlSafe(sql)));
    let cancel = async {
        common::running(&mut admin, marker).await;
        sqlx::query("SELECT pg_cancel_backend($1)")
            .bind(pid)
            .execute(&mut admin)
            .await
            .unwrap();
    };
    let (result, ()) = tokio::join!(run, cancel);
    let err = result.unwrap_err();
    assert_eq!(err.sqlstate(), Some("57014"), "{err}");
    assert_eq!(
        err.timeout_kind(),
        Some(pgtide::TimeoutKind::Cancelled),
        "{err}"
    );
    Ok(())
}
