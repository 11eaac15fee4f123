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

    conn.close().await?;

    // Everything else happens in the example binary, as in an application: config from the
    // environment → pool → generated queries → results. It is a separate binary because
    // xtask must build even while the generated code is stale (that is when `cargo xtask
    // gen` is needed).
    let url = format!(
        "postgres://{}@{}:{}/{DEMO_DB}",
        state.user, state.host, state.port
    );
    let mut example = std::process::Command::new(env!("CARGO"));
    example
        .args(["run", "--quiet", "--package", "pgtide-example"])
        .current_dir(pgtide_testkit::workspace_root())
        .env("SQLX_OFFLINE", "true")
        .env("DATABASE_URL", url)
        .env("PGPASSWORD", &state.password)
        .env("PGTIDE_DEFAULT__APPLICATION_NAME", "pgtide-demo")
        .env("PGTIDE_DEFAULT__POOL__MAX_SIZE", "8")
        .env("PGTIDE_DEFAULT__STATEMENT_TIMEOUT", "5s");
    if let Some(tls) = &state.tls {
        example
            .env("PGTIDE_DEFAULT__SSLMODE", "verify-full")
            .env("PGTIDE_DEFAULT__SSLROOTCERT", &tls.ca_cert);
    }
    let status = example.status()?;
    anyhow::ensure!(status.success(), "the example binary failed ({status})");
    Ok(())
}
