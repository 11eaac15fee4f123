//! The demo's second half (`cargo xtask demo`): the typed functions `cargo xtask gen`
//! generated from `queries/*.sql`, against the database whose URL is the first argument.

use pgtide::sqlx::Connection as _;
use pgtide::sqlx::types::{Decimal, JsonValue};
use pgtide_example::queries::{BookGenre, authors, books};

#[tokio::main(flavor = "current_thread")]
async fn main() -> pgtide::Result<()> {
    let url = std::env::args()
        .nth(1)
        .expect("usage: pgtide-example <postgres URL>");
    let mut conn = pgtide::sqlx::PgConnection::connect(&url).await?;
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
    conn.close().await?;
    Ok(())
}
