//! The demo's application half (`cargo xtask demo` runs it against a fresh database):
//! config from the environment → pool → generated queries → results.
//!
//! Run it yourself with `DATABASE_URL` (and `PGPASSWORD`, `PGTIDE_DEFAULT__*`) pointing at a
//! database that has `migrations-fixtures/` applied.

use std::time::Duration;

use pgtide::codegen_support::TryStreamExt;
use pgtide::config::Config;
use pgtide::copy::{CopyIn, CopyOut};
use pgtide::listener::ListenerEvent;
use pgtide::sqlx::types::{Decimal, JsonValue};
use pgtide::{Pool, TxOptions, query, sqlx};
use pgtide_example::queries::{BookGenre, authors, books, loans};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Configuration, layered: defaults < file < PG* < DATABASE_URL < PGTIDE_* < code.
    let loaded = Config::loader().load_explained()?;
    println!("effective configuration (password redacted):\n{loaded}");
    let config = loaded.into_config();

    // 2. The pool: session limits sent at connect, TLS verified against the cluster's CA.
    let pool = Pool::connect(&config).await?;

    // 3. Generated, typed queries run on `&pool`, a connection or a transaction.
    let author_id = authors::create_author(
        &pool,
        "Ursula K. Le Guin",
        Some("ursula@example.org"),
        Some("Earthsea, the Hainish cycle"),
        None,
    )
    .await?;

    // COPY three books inside a transaction: all or nothing.
    let empty = JsonValue::Object(Default::default());
    let copied = pool
        .transaction(TxOptions::default(), async |tx| {
            let rows = [
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
            });
            books::copy_books(tx, rows).await
        })
        .await?;
    println!("copied {copied} books with `books::copy_books` (binary COPY, one transaction)");

    let rows = books::list_books_with_authors(&pool).await?;
    let genres = books::list_books_by_genre(&pool, &BookGenre::ALL).await?;
    println!(
        "\n{:<22} {:<24} {:<12} {:>7}",
        "author", "title", "genre", "price"
    );
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
    let stats = books::book_stats(&pool, author_id).await?;
    println!(
        "\n{} books, {} in total (`books::book_stats`)",
        stats.books,
        stats.total_price.unwrap_or_default()
    );

    // 4. Errors say what to do: a unique violation names its constraint.
    let duplicate =
        authors::create_author(&pool, "Someone", Some("ursula@example.org"), None, None)
            .await
            .expect_err("the email is unique");
    println!(
        "\nduplicate author: {duplicate}\n  kind {}, constraint {:?}, retryable {}",
        duplicate.kind(),
        duplicate.constraint(),
        duplicate.is_retryable()
    );

    // A per-call timeout shorter than the profile's is cancelled on the server, and the
    // pool stays healthy.
    let slow = pool
        .with_timeout(Duration::from_millis(200), async |conn| {
            query::execute(conn, sqlx::query("SELECT pg_sleep(2)")).await
        })
        .await
        .expect_err("200 ms is not enough for pg_sleep(2)");
    println!("slow query: {slow} (kind {})", slow.kind());

    let loaned = pool
        .idempotent(async |conn| loans::open_loans(conn).await)
        .await?;
    println!("open loans: {}", loaned.len());

    // 5. Moving data: a listener, a stream, a COPY round trip, a notification.
    let mut listener = pool.listener().await?; // its own connection, reconnects when lost
    listener.listen("books").await?;

    let mut streamed = books::stream_books(&pool);
    let mut count = 0;
    while let Some(book) = streamed.try_next().await? {
        count += 1;
        println!("  streamed: {}", book.title);
    }
    println!("streamed {count} books with `books::stream_books` (row by row, memory flat)");

    let mut csv = Vec::new();
    CopyOut::query("SELECT title, price FROM books ORDER BY title")
        .csv()
        .header(true)
        .to_writer(&pool, &mut csv)
        .await?;
    let mut conn = pool.acquire().await?;
    sqlx::query("CREATE TEMP TABLE price_list (title text, price numeric)")
        .execute(&mut *conn)
        .await?;
    let loaded = CopyIn::table("price_list")
        .csv()
        .header(true)
        .from_reader(&mut conn, csv.as_slice())
        .await?;
    println!(
        "COPY round trip: {} CSV bytes out of `books`, {loaded} rows back into a temp table",
        csv.len()
    );
    sqlx::query("DROP TABLE price_list")
        .execute(&mut *conn)
        .await?;
    drop(conn);

    sqlx::query("SELECT pg_notify('books', $1)")
        .bind(format!("{copied} books copied"))
        .execute(&pool)
        .await?;
    match tokio::time::timeout(Duration::from_secs(5), listener.recv()).await?? {
        ListenerEvent::Notification(n) => {
            println!("notification on `{}`: {}", n.channel, n.payload)
        }
        ListenerEvent::Reconnected => println!("listener reconnected (notifications may be lost)"),
    }

    let version: String = query::fetch_one(&pool, sqlx::query_scalar("SELECT version()")).await?;
    println!("\nserver: {version}");
    println!("pool:   {}", pool.stats());
    pool.close().await;
    Ok(())
}
