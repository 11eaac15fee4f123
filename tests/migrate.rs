//! `Pool::migrate` against the real server: applies an sqlx migrations directory once,
//! idempotent, two concurrent callers both succeed and nothing runs twice.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{config, eventually};
use pgtide::{ErrorKind, Pool};
use pgtide_testkit::TestDb;
use sqlx::PgConnection;

const SOON: Duration = Duration::from_secs(20);

fn migrations(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/migrations")
        .join(name)
}

async fn effects(admin: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar("SELECT note FROM effects ORDER BY id")
        .fetch_all(admin)
        .await
        .unwrap()
}

/// The test database comes with the fixtures' own migration history; these tests start
/// from none.
async fn forget_history(admin: &mut PgConnection) {
    sqlx::query("DROP TABLE IF EXISTS _sqlx_migrations")
        .execute(admin)
        .await
        .unwrap();
}

async fn applied(admin: &mut PgConnection) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn migrate_applies_once_and_is_idempotent() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut admin = db.connect().await?;
    forget_history(&mut admin).await;
    let pool = Pool::connect(&config(&db, 1, 2).build()?).await?;
    pool.migrate(migrations("ok")).await?;
    pool.migrate(migrations("ok")).await?;
    assert_eq!(effects(&mut admin).await, ["first", "second"]);
    assert_eq!(applied(&mut admin).await, 2);
    Ok(())
}

#[tokio::test]
async fn a_missing_directory_is_an_error_naming_it() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let dir = migrations("no-such-dir");
    let err = pool.migrate(&dir).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    Ok(())
}

/// Sessions of this database waiting in `pg_advisory_lock(` (sqlx's migration lock).
async fn waiting_for_the_migration_lock(admin: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' \
         AND position('pg_advisory_lock(' in query) > 0",
    )
    .fetch_one(admin)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_callers_one_applies_both_succeed() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = Pool::connect(&config(&db, 2, 2).build()?).await?;
    let mut admin = db.connect().await?;
    forget_history(&mut admin).await;
    // The first migration waits for this lock, so the second caller surely arrives while
    // the first one is applying.
    sqlx::query("SELECT pg_advisory_lock(7707)")
        .execute(&mut admin)
        .await?;
    let first = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.migrate(migrations("blocking")).await })
    };
    eventually("the first caller applies", SOON, async || {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND position('migration_in_flight_marker' in query) > 0 AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap()
            > 0
    })
    .await;
    let second = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.migrate(migrations("blocking")).await })
    };
    eventually(
        "the second caller waits for sqlx's lock",
        SOON,
        async || waiting_for_the_migration_lock(&mut admin).await == 1,
    )
    .await;
    sqlx::query("SELECT pg_advisory_unlock(7707)")
        .execute(&mut admin)
        .await?;
    first.await??;
    second.await??;
    // Each migration's side effect happened exactly once.
    assert_eq!(effects(&mut admin).await, ["first", "second"]);
    assert_eq!(applied(&mut admin).await, 2);
    Ok(())
}
