//! `cargo xtask demo`: pgtide at work against the throwaway server.

use std::time::Duration;

use pgtide::config::{Config, PoolSize, SslMode};
use pgtide::{Pool, SecretString, TxOptions, query};
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

    // From here on, everything goes through pgtide: config → pool → queries → stats.
    let tls = state.tls.as_ref();
    let mut builder = Config::builder()
        .host(state.host.clone())
        .port(state.port)
        .database(DEMO_DB)
        .user(state.user.clone())
        .password(SecretString::from(state.password.clone()))
        .application_name("pgtide-demo")
        .statement_timeout(Some(Duration::from_secs(5)));
    if let Some(tls) = tls {
        builder = builder
            .ssl_mode(SslMode::VerifyFull)
            .ssl_root_cert(&tls.ca_cert);
    }
    let config = builder.pool_size(PoolSize::new(2, 8)?).build()?;
    let pool = Pool::connect(&config).await?;

    let author_id: i64 = query::fetch_one(
        &pool,
        sqlx::query_scalar("INSERT INTO authors (name, email) VALUES ($1, $2) RETURNING author_id")
            .bind("Ursula K. Le Guin")
            .bind("ursula@example.org"),
    )
    .await?;

    // One transaction for the books: all or nothing, retried on serialization conflicts.
    let books = pool
        .transaction(TxOptions::serializable(), async |tx| {
            let mut added = 0;
            for (title, genre, price) in [
                ("A Wizard of Earthsea", "fiction", "8.99"),
                ("The Dispossessed", "fiction", "11.50"),
                ("Steering the Craft", "non_fiction", "14.00"),
            ] {
                added += query::execute(
                    &mut **tx,
                    sqlx::query(
                        "INSERT INTO books (author_id, title, genre, price) \
                         VALUES ($1, $2, $3::book_genre, $4::numeric)",
                    )
                    .bind(author_id)
                    .bind(title)
                    .bind(genre)
                    .bind(price),
                )
                .await?;
            }
            Ok(added)
        })
        .await?;
    println!("added {books} books in one transaction");

    // The same email again: a constraint violation, named.
    let duplicate = query::execute(
        &pool,
        sqlx::query("INSERT INTO authors (name, email) VALUES ('Someone', 'ursula@example.org')"),
    )
    .await
    .expect_err("the email is unique");
    println!(
        "duplicate author: {} (kind {}, constraint {:?})",
        duplicate,
        duplicate.kind(),
        duplicate.constraint()
    );

    let rows: Vec<(String, String, String, String)> = pool
        .idempotent(async |conn| {
            query::fetch_all(
                conn,
                sqlx::query_as(
                    "SELECT a.name, b.title, b.genre::text, b.price::text
                       FROM books b JOIN authors a USING (author_id) ORDER BY b.title",
                ),
            )
            .await
        })
        .await?;
    println!(
        "\n{:<22} {:<24} {:<12} {:>7}",
        "author", "title", "genre", "price"
    );
    for (author, title, genre, price) in rows {
        println!("{author:<22} {title:<24} {genre:<12} {price:>7}");
    }

    // A per-call timeout shorter than the profile's: cancelled on the server.
    let slow = pool
        .with_timeout(Duration::from_millis(200), async |conn| {
            query::execute(conn, sqlx::query("SELECT pg_sleep(2)")).await
        })
        .await
        .expect_err("200 ms is not enough for pg_sleep(2)");
    println!("\nslow query: {slow}");

    let version: String = query::fetch_one(&pool, sqlx::query_scalar("SELECT version()")).await?;
    println!("\nserver: {version}");
    println!("pool:   {}", pool.stats());
    pool.close();
    Ok(())
}
