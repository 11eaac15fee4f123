//! Rotating credentials against the real server: a password provider is consulted for each
//! new connection, so a pool keeps growing after `ALTER ROLE … PASSWORD`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::unique_app_name;
use pgtide::config::{Config, PoolSize, SslMode};
use pgtide::{ErrorKind, Pool, SecretString};
use pgtide_testkit::TestDb;

fn config_as(db: &TestDb, user: &str, password: &str) -> anyhow::Result<Config> {
    let s = db.server();
    Ok(Config::builder()
        .host(s.host.clone())
        .port(s.port)
        .database(db.name())
        .user(user)
        .password(SecretString::from(password))
        .ssl_mode(SslMode::Disable)
        .application_name(unique_app_name())
        .pool_size(PoolSize::new(1, 3)?)
        .build()?)
}

async fn set_password(
    admin: &mut sqlx::PgConnection,
    role: &str,
    password: &str,
) -> anyhow::Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER ROLE {role} PASSWORD '{password}'"
    )))
    .execute(admin)
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_rotated_password_is_used_for_the_next_new_connection() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut admin = db.connect().await?;
    let role = format!(
        "cred_{}",
        db.name().replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE ROLE {role} LOGIN PASSWORD 'one'"
    )))
    .execute(&mut admin)
    .await?;
    let cfg = config_as(&db, &role, "one")?;
    let pool = Pool::connect(&cfg).await?;
    let current = Arc::new(Mutex::new(String::from("one")));
    let calls = Arc::new(AtomicUsize::new(0));
    {
        let (current, calls) = (Arc::clone(&current), Arc::clone(&calls));
        pool.set_password_provider(move || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(SecretString::from(current.lock().unwrap().clone()))
        });
    }
    let first = pool.acquire().await?;

    // Mid-run rotation: the server and the secret change; the open connection keeps working.
    set_password(&mut admin, &role, "two").await?;
    *current.lock().unwrap() = String::from("two");
    // The configuration's password no longer works...
    let stale = Pool::connect(&cfg).await.unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::Auth, "{stale}");

    // ...but the pool opens its next connection with the provider's.
    let before = calls.load(Ordering::SeqCst);
    let second = pool.acquire().await?;
    assert!(
        calls.load(Ordering::SeqCst) > before,
        "the provider was asked"
    );
    assert_eq!(pool.stats().size, 2);
    let users: Vec<String> = sqlx::query_scalar(
        "SELECT usename::text FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&cfg.connection().application_name)
    .fetch_all(&mut admin)
    .await?;
    assert_eq!(users.len(), 2);
    drop((first, second));
    Ok(())
}

#[tokio::test]
async fn a_failing_provider_fails_the_connect_naming_it() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let s = db.server();
    let cfg = config_as(&db, &s.user, &s.password)?;
    let pool = Pool::connect(&cfg).await?;
    pool.set_password_provider(|| Err("secret file unreadable".into()));
    let err = pool.connect_unpooled().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    assert!(err.to_string().contains("password provider"), "{err}");
    assert!(err.to_string().contains("secret file unreadable"), "{err}");
    Ok(())
}
