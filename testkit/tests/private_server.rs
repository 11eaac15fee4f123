//! `PrivateServer`: password authentication, and a real stop and start.

use pgtide_testkit::PrivateServer;
use sqlx::Connection;

async fn answer(url: &str) -> anyhow::Result<i32> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok(one)
}

#[tokio::test]
async fn a_private_server_wants_its_password_and_survives_stop_and_start() -> anyhow::Result<()> {
    let server = tokio::task::spawn_blocking(PrivateServer::start_new).await??;
    assert_eq!(answer(&server.url("postgres")).await?, 1);

    // No `trust` on TCP: a wrong password is refused (28P01), and no password at all.
    let wrong = format!(
        "postgres://{}:not-the-password@{}:{}/postgres?sslmode=disable",
        server.user(),
        server.host(),
        server.port()
    );
    let err = answer(&wrong).await.unwrap_err();
    let code = err
        .downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code().map(|c| c.into_owned()));
    assert_eq!(code.as_deref(), Some("28P01"), "{err:#}");
    let none = format!(
        "postgres://{}@{}:{}/postgres?sslmode=disable",
        server.user(),
        server.host(),
        server.port()
    );
    answer(&none).await.expect_err("no password is refused");
    assert!(!format!("{server:?}").contains(server.password()));

    let server = tokio::task::spawn_blocking(move || {
        server.stop()?;
        server.start()?;
        anyhow::Ok(server)
    })
    .await??;
    assert_eq!(answer(&server.url("postgres")).await?, 1);
    Ok(())
}
