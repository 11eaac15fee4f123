//! `cargo xtask demo`: pgtide at work against the throwaway server.

use sqlx::Connection;

use crate::cluster;

const DEMO_DB: &str = "pgtide_demo";

pub fn run() -> anyhow::Result<()> {
    let state = cluster::up(false)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(demo(state))
}

async fn demo(state: pgtide_testkit::ServerState) -> anyhow::Result<()> {
    let mut admin = sqlx::PgConnection::connect(&state.url("postgres")).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        r#"DROP DATABASE IF EXISTS "{DEMO_DB}" WITH (FORCE)"#
    )))
    .execute(&mut admin)
    .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        r#"CREATE DATABASE "{DEMO_DB}""#
    )))
    .execute(&mut admin)
    .await?;
    admin.close().await?;

    let mut conn = sqlx::PgConnection::connect(&state.url(DEMO_DB)).await?;
    let migrations = pgtide_testkit::workspace_root().join("migrations-fixtures");
    let migrator = sqlx::migrate::Migrator::new(migrations.as_path()).await?;
    migrator.run(&mut conn).await?;
    println!(
        "applied {} fixture migrations to `{DEMO_DB}`",
        migrator.iter().count()
    );

    // The typed functions `cargo xtask gen` generated from queries/*.sql, in their own
    // binary: xtask must build even while the generated code is stale (that is when
    // `cargo xtask gen` is needed).
    let status = std::process::Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--package", "pgtide-example", "--"])
        .arg(state.url(DEMO_DB))
        .current_dir(pgtide_testkit::workspace_root())
        .env("SQLX_OFFLINE", "true")
        .env_remove("DATABASE_URL")
        .status()?;
    anyhow::ensure!(status.success(), "the example binary failed ({status})");
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&mut conn)
        .await?;
    println!("\nserver: {version}");
    conn.close().await?;
    Ok(())
}
