//! `Connection::connect`: one connection without a pool, with the pool's TLS, session
//! limits, connect timeout, connect retry and errors.

mod common;

use std::time::Duration;

use common::{SOON, config, config_via, eventually, proxy};
use pgtide::config::SslMode;
use pgtide::{Connection, ErrorKind, SecretString};
use pgtide_testkit::{ProxyMode, TestDb};

#[tokio::test]
async fn session_settings_and_tls_are_the_pools() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 1)
        .statement_timeout(Some(Duration::from_millis(1500)))
        .search_path("pg_catalog, public")
        .application_name("pgtide-single")
        .ssl_mode(SslMode::Require)
        .build()?;
    let mut conn = Connection::connect(&cfg).await?;
    let (timeout, source, app, ssl): (String, String, String, bool) = sqlx::query_as(
        "SELECT current_setting('statement_timeout'), (SELECT source FROM pg_settings WHERE name = 'statement_timeout'),
                current_setting('application_name'), (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
    )
    .fetch_one(&mut *conn)
    .await?;
    assert_eq!((timeout.as_str(), source.as_str()), ("1500ms", "client"));
    assert_eq!((app.as_str(), ssl), ("pgtide-single", true));
    // The statement timeout is the server's: it fires as it would on a pooled connection.
    let err = pgtide::query::execute(&mut *conn, sqlx::query("SELECT pg_sleep(5)"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    let debug = format!("{conn:?}");
    assert!(!debug.contains(&db.server().password), "{debug}");
    conn.close().await?;
    Ok(())
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_at_once() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let s = db.server();
    let cfg = pgtide::config::Config::builder()
        .host(s.host.clone())
        .port(s.port)
        .database(db.name())
        .user(s.user.clone())
        .password(SecretString::from("not-the-password"))
        .ssl_mode(SslMode::Disable)
        .retry(common::retry(5, 1000, 1000, Duration::from_secs(30)))
        .pool_size(pgtide::config::PoolSize::new(1, 1)?)
        .build()?;
    let started = std::time::Instant::now();
    let err = Connection::connect(&cfg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    // Not retried: five attempts with 1 s pauses would take 4 s.
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(!err.to_string().contains("not-the-password"));
    Ok(())
}

#[tokio::test]
async fn connect_is_retried_until_the_server_is_back_and_times_out_otherwise() -> anyhow::Result<()>
{
    let db = TestDb::new().await?;
    let proxy = proxy(&db).await;
    proxy.set_mode(ProxyMode::Refuse);
    let cfg = config_via(&db, &proxy, 1, 1)
        .retry(common::retry(50, 20, 50, Duration::from_secs(30)))
        .build()?;
    let connecting = tokio::spawn(async move { Connection::connect(&cfg).await });
    eventually("a few refused attempts", SOON, async || {
        proxy.refused() >= 2
    })
    .await;
    proxy.set_mode(ProxyMode::Forward);
    let mut conn = connecting.await??;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *conn).await?;
    assert_eq!(one, 1);

    proxy.set_mode(ProxyMode::Blackhole);
    let cfg = config_via(&db, &proxy, 1, 1)
        .connect_timeout(Duration::from_millis(300))
        .retry_attempts(1)
        .build()?;
    let err = Connection::connect(&cfg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("connecting"), "{err}");
    Ok(())
}
