//! Generated query functions run in `pgtide.statement` spans named after their query, on a
//! pgtide `Pool`, a pooled connection and a transaction alike.

use pgtide::codegen_support::TryStreamExt;
use pgtide::config::{Config, PoolSize, SslMode};
use pgtide::sqlx::types::JsonValue;
use pgtide::{ErrorKind, Pool, SecretString, TxOptions};
use pgtide_example::queries::{BookGenre, authors, books};
use pgtide_testkit::{Capture, TestDb};
use tracing_subscriber::fmt::format::FmtSpan;

/// The closing line of the `pgtide.statement` span of `name`.
fn closed_span<'a>(out: &'a str, name: &str) -> &'a str {
    let needle = format!("db.statement.name=\"{name}\"");
    out.lines()
        .find(|l| l.contains("pgtide.statement") && l.contains(&needle) && l.contains("close"))
        .unwrap_or_else(|| panic!("no closed span for {name} in:\n{out}"))
}

#[tokio::test]
async fn generated_functions_name_their_statement_in_spans() -> anyhow::Result<()> {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let db = TestDb::new().await?;
    let server = db.server();
    let config = Config::builder()
        .host(server.host.clone())
        .port(server.port)
        .database(db.name())
        .user(server.user.clone())
        .password(SecretString::from(server.password.clone()))
        .ssl_mode(SslMode::Disable)
        .pool_size(PoolSize::new(1, 2)?)
        .build()?;
    let pool = Pool::connect(&config).await?;

    let author_id =
        authors::create_author(&pool, "Le Guin", Some("ul@example.org"), None, None).await?;
    let missing = authors::get_author(&pool, author_id + 1000)
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);

    let empty = JsonValue::Object(Default::default());
    let copied = pool
        .transaction(TxOptions::default(), async |tx| {
            let rows = ["Earthsea", "Lathe of Heaven"].map(|title| books::CopyBooksParams {
                author_id,
                title,
                isbn: None,
                genre: BookGenre::Fiction,
                tags: &[],
                price: None,
                metadata: &empty,
            });
            books::copy_books(tx, rows).await
        })
        .await?;
    assert_eq!(copied, 2);

    let mut conn = pool.acquire().await?;
    let streamed: Vec<_> = books::stream_books(&mut *conn).try_collect().await?;
    assert_eq!(streamed.len(), 2);
    drop(conn);

    let out = capture.text();
    let create = closed_span(&out, "CreateAuthor");
    assert!(create.contains("db.rows=1"), "{create}");
    assert!(
        create.contains(&format!("db.name=\"{}\"", db.name())),
        "{create}"
    );
    assert!(create.contains("db.system=\"postgresql\""), "{create}");
    let get = closed_span(&out, "GetAuthor");
    assert!(get.contains("error.kind=\"not_found\""), "{get}");
    let copy = closed_span(&out, "CopyBooks");
    assert!(copy.contains("db.rows=2"), "{copy}");
    let stream = closed_span(&out, "StreamBooks");
    assert!(stream.contains("db.rows=2"), "{stream}");
    assert!(
        !out.contains(&server.password),
        "the password never reaches the logs"
    );
    assert!(
        !out.contains("ul@example.org"),
        "parameter values never reach the logs"
    );
    Ok(())
}
