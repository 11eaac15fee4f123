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

    let author_id: i64 =
        sqlx::query_scalar("INSERT INTO authors (name, email) VALUES ($1, $2) RETURNING author_id")
            .bind("Ursula K. Le Guin")
            .bind("ursula@example.org")
            .fetch_one(&mut conn)
            .await?;
    for (title, genre, price) in [
        ("A Wizard of Earthsea", "fiction", "8.99"),
        ("The Dispossessed", "fiction", "11.50"),
        ("Steering the Craft", "non_fiction", "14.00"),
    ] {
        sqlx::query(
            "INSERT INTO books (author_id, title, genre, price) VALUES ($1, $2, $3::book_genre, $4::numeric)",
        )
        .bind(author_id)
        .bind(title)
        .bind(genre)
        .bind(price)
        .execute(&mut conn)
        .await?;
    }
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT a.name, b.title, b.genre::text, b.price::text
           FROM books b JOIN authors a USING (author_id) ORDER BY b.title",
    )
    .fetch_all(&mut conn)
    .await?;
    println!(
        "\n{:<22} {:<24} {:<12} {:>7}",
        "author", "title", "genre", "price"
    );
    for (author, title, genre, price) in rows {
        println!("{author:<22} {title:<24} {genre:<12} {price:>7}");
    }
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&mut conn)
        .await?;
    println!("\nserver: {version}");
    conn.close().await?;
    Ok(())
}
