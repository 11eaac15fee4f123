//! The test harness itself: every test gets its own database with the fixtures applied.

use pgtide_testkit::TestDb;

#[tokio::test]
async fn each_test_gets_a_fresh_database_with_fixtures() -> anyhow::Result<()> {
    let a = TestDb::new().await?;
    let b = TestDb::new().await?;
    assert_ne!(a.name(), b.name());

    let mut conn = a.connect().await?;
    sqlx::query("INSERT INTO authors (name) VALUES ('only in a')")
        .execute(&mut conn)
        .await?;
    let in_a: i64 = sqlx::query_scalar("SELECT count(*) FROM authors")
        .fetch_one(&mut conn)
        .await?;
    let in_b: i64 = sqlx::query_scalar("SELECT count(*) FROM authors")
        .fetch_one(&mut b.connect().await?)
        .await?;
    assert_eq!((in_a, in_b), (1, 0));

    let seeded: i64 = sqlx::query_scalar("SELECT count(*) FROM counters")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(seeded, 2, "the seed migration ran");
    Ok(())
}

#[tokio::test]
async fn the_server_demands_a_password() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let server = db.server();
    let wrong = format!(
        "postgres://{}:wrong@{}:{}/{}",
        server.user,
        server.host,
        server.port,
        db.name()
    );
    let err = sqlx::PgConnection::connect(&wrong).await.unwrap_err();
    let code = err
        .as_database_error()
        .and_then(|e| e.code().map(|c| c.into_owned()));
    assert_eq!(
        code.as_deref(),
        Some("28P01"),
        "scram-sha-256 rejects a wrong password: {err}"
    );
    Ok(())
}

use sqlx::Connection as _;
