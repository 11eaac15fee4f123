//! `cargo xtask demo`: pgtide at work against the throwaway server.

use pgtide::sqlx::types::{Decimal, JsonValue};
use pgtide_example::queries::{BookGenre, authors, books};
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

    // The typed functions `cargo xtask gen` generated from queries/*.sql.
    let author_id = authors::create_author(
        &mut conn,
        "Ursula K. Le Guin",
        Some("ursula@example.org"),
        Some("Earthsea, the Hainish cycle"),
        None,
    )
    .await?;
    let empty = JsonValue::Object(Default::default());
    let copied = books::copy_books(
        &mut conn,
        [
            ("A Wizard of Earthsea", BookGenre::Fiction, 899),
            ("The Dispossessed", BookGenre::Fiction, 1150),
            ("Steering the Craft", BookGenre::NonFiction, 1400),
        ]
        .map(|(title, genre, cents)| books::CopyBooksParams {
            author_id,
            title,
            isbn: None,
            genre,
            tags: &[],
            price: Some(Decimal::new(cents, 2)),
            metadata: &empty,
        }),
    )
    .await?;
    println!("copied {copied} books with `books::copy_books` (binary COPY)");
    let rows = books::list_books_with_authors(&mut conn).await?;
    println!(
        "\n{:<22} {:<24} {:<12} {:>7}",
        "author", "title", "genre", "price"
    );
    let genres = books::list_books_by_genre(&mut conn, &BookGenre::ALL).await?;
    for row in &rows {
        let genre = genres
            .iter()
            .find(|b| b.title == row.title)
            .map_or("?".to_owned(), |b| b.genre.to_string());
        println!(
            "{:<22} {:<24} {:<12} {:>7}",
            row.author_name.as_deref().unwrap_or("-"),
            row.title,
            genre,
            row.price.map(|p| p.to_string()).unwrap_or_default()
        );
    }
    let stats = books::book_stats(&mut conn, author_id).await?;
    println!(
        "\n{} books, {} in total (`books::book_stats`)",
        stats.books,
        stats.total_price.unwrap_or_default()
    );
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&mut conn)
        .await?;
    println!("\nserver: {version}");
    conn.close().await?;
    Ok(())
}
