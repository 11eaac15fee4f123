//! COPY both ways against the server: formats and options, all-or-nothing loads whose error
//! names the line, cancellation that never hands a half-finished COPY back to the pool; and
//! `copy_rows` (what `:copyfrom` queries run): `json` columns need
//! `field_json`, and the array types codegen accepts arrive with the element type the
//! column expects (codegen rejects the ones that do not: see `typemap::PgType::copy_json`).

mod common;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use common::{config, next_pid};
use pgtide::codegen_support::{Statement, copy_rows};
use pgtide::copy::{CopyIn, CopyOut};
use pgtide::sqlx::types::JsonValue;
use pgtide::{Connection, ErrorKind, Pool};
use pgtide_testkit::TestDb;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

static COPY_DOCS: Statement = Statement {
    name: "CopyDocs",
    sql: "COPY docs (j, jb, nj, tags, ns) FROM STDIN (FORMAT binary)",
};

static COPY_NAMES: Statement = Statement {
    name: "CopyNames",
    sql: "COPY names (vc) FROM STDIN (FORMAT binary)",
};

type Doc = (
    JsonValue,
    Option<JsonValue>,
    Option<Vec<String>>,
    Option<Vec<i32>>,
);

#[tokio::test]
async fn json_columns_and_accepted_arrays_copy_in_binary() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut conn = db.connect().await?;
    sqlx::query("CREATE TABLE docs (j json, jb jsonb, nj json, tags text[], ns int4[])")
        .execute(&mut conn)
        .await?;
    let doc: JsonValue = serde_json::json!({"a": [1, "é"]});
    // What generated `:copyfrom` code does: `field_json` for `json` columns.
    let rows: [Doc; 1] = [(
        doc.clone(),
        None,
        Some(vec!["x".to_owned()]),
        Some(vec![1, 2]),
    )];
    let copied = copy_rows(&mut conn, &COPY_DOCS, 5, rows, |row, copy| {
        copy.field_json(&row.0)?;
        copy.field(&row.0)?;
        copy.field_json(&row.1)?;
        copy.field(&row.2)?;
        copy.field(&row.3)
    })
    .await?;
    assert_eq!(copied, 1);
    let (j, jb, nj): (JsonValue, JsonValue, Option<JsonValue>) =
        sqlx::query_as("SELECT j, jb, nj FROM docs")
            .fetch_one(&mut conn)
            .await?;
    assert_eq!((&j, &jb, nj), (&doc, &doc, None));

    // Without `field_json` the server rejects the jsonb version byte.
    let rows: [Doc; 1] = [(doc.clone(), None, None, None)];
    let err = copy_rows(&mut conn, &COPY_DOCS, 5, rows, |row, copy| {
        copy.field(&row.0)?;
        copy.field(&row.0)?;
        copy.field(&row.1)?;
        copy.field(&row.2)?;
        copy.field(&row.3)
    })
    .await;
    assert!(err.is_err());

    // Why codegen rejects `varchar[]` columns: sqlx labels `Vec<String>` as `text[]`.
    let mut conn = db.connect().await?;
    sqlx::query("CREATE TABLE names (vc varchar[])")
        .execute(&mut conn)
        .await?;
    let rows = [vec!["x".to_owned()]];
    let err = copy_rows(&mut conn, &COPY_NAMES, 1, rows, |row, copy| copy.field(row))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("element type"), "{err}");
    Ok(())
}

#[tokio::test]
async fn generated_copyfrom_streams_many_rows_and_is_all_or_nothing() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_with_table(&db, 1).await?;
    // 50,000 rows made as they are sent (never gathered): many 64 KiB chunks.
    let rows = (1..=50_000).map(|i| (i, format!("item {i}")));
    let write: fn(&(i32, String), &mut pgtide::copy::Fields<'_>) -> pgtide::Result<()> =
        |row, copy| {
            copy.field(&row.0)?;
            copy.field(&row.1)
        };
    assert_eq!(copy_rows(&pool, &COPY_ITEMS, 2, rows, write).await?, 50_000);
    assert_eq!(count(&pool).await, 50_000);
    // A duplicate at the end: nothing of this COPY stays, and the error names the line.
    let rows = (50_001..=60_000).chain([1]).map(|i| (i, String::new()));
    let err = copy_rows(&pool, &COPY_ITEMS, 2, rows, write)
        .await
        .unwrap_err();
    assert!(err.is_constraint_violation(), "{err}");
    assert!(err.to_string().contains("line 10001"), "{err}");
    assert_eq!(count(&pool).await, 50_000);
    Ok(())
}

static COPY_ITEMS: Statement = Statement {
    name: "CopyItems",
    sql: "COPY items (id, name) FROM STDIN (FORMAT binary)",
};

async fn pool_with_table(db: &TestDb, max: u32) -> anyhow::Result<Pool> {
    let pool = Pool::connect(&config(db, 1, max).build()?).await?;
    sqlx::query("CREATE TABLE items (id int PRIMARY KEY, name text, price numeric)")
        .execute(&pool)
        .await?;
    Ok(pool)
}

async fn count(pool: &Pool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn csv_with_every_option_round_trips() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_with_table(&db, 2).await?;
    // Semicolons, a header, `-` for null, `'` quoting a field holding the delimiter.
    let csv = "id;name;price\n1;'a;b';1.50\n2;-;-\n3;plain;3\n";
    let loaded = CopyIn::table("items")
        .columns(["id", "name", "price"])
        .csv()
        .delimiter(';')
        .header(true)
        .null("-")
        .quote('\'')
        .from_reader(&pool, csv.as_bytes())
        .await?;
    assert_eq!(loaded, 3);
    let mut out = Vec::new();
    let written = CopyOut::table("items")
        .columns(["id", "name", "price"])
        .csv()
        .delimiter(';')
        .header(true)
        .null("-")
        .quote('\'')
        .to_writer(&pool, &mut out)
        .await?;
    assert_eq!(String::from_utf8(out.clone())?, csv);
    assert_eq!(written, out.len() as u64);
    Ok(())
}

#[tokio::test]
async fn encoding_option_converts_latin1_input() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_with_table(&db, 2).await?;
    // "é" in LATIN1 is the single byte 0xE9 (invalid as UTF-8).
    let data: &[u8] = b"1\tcaf\xe9\t1\n";
    CopyIn::table("items")
        .encoding("LATIN1")
        .from_reader(&pool, data)
        .await?;
    let name: String = sqlx::query_scalar("SELECT name FROM items")
        .fetch_one(&pool)
        .await?;
    assert_eq!(name, "café");
    let mut out = Vec::new();
    CopyOut::query("SELECT name FROM items")
        .encoding("LATIN1")
        .to_writer(&pool, &mut out)
        .await?;
    assert_eq!(out, b"caf\xe9\n");
    Ok(())
}

#[tokio::test]
async fn text_binary_byte_streams_and_row_streams_load() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_with_table(&db, 2).await?;
    let mut conn = pool.acquire().await?;
    // Text format from a stream of byte chunks split mid-line.
    let chunks = ["1\tone\t1.5\n2\tt", "wo\t\\N\n"].map(Ok::<_, std::io::Error>);
    let n = CopyIn::table("items")
        .from_stream(&mut conn, futures_util::stream::iter(chunks))
        .await?;
    assert_eq!(n, 2);
    // Rows encoded in binary by sqlx's own encoders, through a single connection.
    let mut single = Connection::connect(&config(&db, 1, 1).build()?).await?;
    let rows = (3..=1000).map(|i| (i, format!("n{i}")));
    let n = CopyIn::table("items")
        .columns(["id", "name"])
        .from_rows(&mut single, futures_util::stream::iter(rows))
        .await?;
    assert_eq!(n, 998);
    // Binary out of one table, binary into another: identical rows.
    let mut binary = Vec::new();
    CopyOut::table("items")
        .binary()
        .to_writer(&mut conn, &mut binary)
        .await?;
    sqlx::query("CREATE TABLE items2 (LIKE items)")
        .execute(&mut *conn)
        .await?;
    let mut tx = pool.begin(Default::default()).await?;
    let n = CopyIn::table("items2")
        .binary()
        .from_reader(&mut tx, binary.as_slice())
        .await?;
    tx.commit().await?;
    assert_eq!(n, 1000);
    let diff: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ((TABLE items EXCEPT TABLE items2) UNION ALL (TABLE items2 EXCEPT TABLE items)) d",
    )
    .fetch_one(&mut *conn)
    .await?;
    assert_eq!(diff, 0);
    Ok(())
}

#[tokio::test]
async fn a_bad_row_aborts_the_copy_and_the_error_names_its_line() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_with_table(&db, 1).await?;
    let pid = next_pid(&pool).await;
    let csv = "1,a,1\n2,b,2\n3,c,not-a-number\n4,d,4\n";
    let err = CopyIn::table("items")
        .csv()
        .from_reader(&pool, csv.as_bytes())
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("22P02"), "{err}");
    let text = err.to_string();
    assert!(
        text.ends_with("(SQLSTATE 22P02) at COPY items, line 3, column price: \"not-a-number\""),
        "{text}"
    );
    assert_eq!(count(&pool).await, 0);
    // A server-reported error ends the COPY cleanly: the connection is reused.
    assert_eq!(next_pid(&pool).await, pid);

    // A duplicate key is reported at the end, still naming its line.
    let csv = "1,a,1\n1,b,2\n";
    let err = CopyIn::table("items")
        .csv()
        .from_reader(&pool, csv.as_bytes())
        .await
        .unwrap_err();
    assert!(err.is_constraint_violation(), "{err}");
    assert!(err.to_string().contains("line 2"), "{err}");
    assert_eq!(count(&pool).await, 0);

    // A source that fails aborts the COPY: nothing is loaded.
    let chunks = [Ok("5,e,5\n"), Err("the upstream went away")];
    let err = CopyIn::table("items")
        .csv()
        .from_stream(&pool, futures_util::stream::iter(chunks))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the upstream went away"), "{err}");
    assert_eq!(count(&pool).await, 0);

    // Names are quoted: a table that does not exist is named, not injected into.
    let err = CopyIn::table("items; DROP TABLE items")
        .from_reader(&pool, "".as_bytes())
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("42P01"), "{err}");
    assert_eq!(count(&pool).await, 0);
    Ok(())
}

/// Yields `prefix`, then never anything more (a slow upstream).
struct Stalls(&'static [u8]);

impl AsyncRead for Stalls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.0.is_empty() {
            return Poll::Pending;
        }
        buf.put_slice(self.0);
        self.0 = &[];
        Poll::Ready(Ok(()))
    }
}

/// Accepts `budget` bytes, then blocks forever (a slow client) or fails.
struct Sink {
    budget: usize,
    fail: bool,
}

impl AsyncWrite for Sink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.budget == 0 {
            return if self.fail {
                Poll::Ready(Err(std::io::Error::other("disk full")))
            } else {
                Poll::Pending
            };
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        Poll::Ready(Ok(n))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_cancelled_copy_never_goes_back_to_the_pool() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = pool_with_table(&db, 1).await?;
    let limit = Duration::from_millis(300);

    // COPY in cut short by a timeout, on `&Pool` and on a checked-out connection.
    let pid = next_pid(&pool).await;
    let copy = CopyIn::table("items")
        .csv()
        .from_reader(&pool, Stalls(b"1,a,1\n"));
    assert!(tokio::time::timeout(limit, copy).await.is_err());
    let after = next_pid(&pool).await;
    assert_ne!(after, pid, "the abandoned connection was handed out again");
    let mut conn = pool.acquire().await?;
    let copy = CopyIn::table("items")
        .csv()
        .from_reader(&mut conn, Stalls(b"2,b,2\n"));
    assert!(tokio::time::timeout(limit, copy).await.is_err());
    drop(conn);
    let later = next_pid(&pool).await;
    assert_ne!(later, after);
    assert_eq!(count(&pool).await, 0);
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
    assert_eq!(one, 1);

    // Inside a transaction: the transaction's connection is not reused either.
    let mut tx = pool.begin(Default::default()).await?;
    let copy = CopyIn::table("items")
        .csv()
        .from_reader(&mut tx, Stalls(b"3,c,3\n"));
    assert!(tokio::time::timeout(limit, copy).await.is_err());
    drop(tx);
    let later = next_pid(&pool).await;
    assert_ne!(later, after);
    assert_eq!(count(&pool).await, 0);

    // COPY out to a writer that stops accepting, and to one that fails.
    let big = "SELECT g, repeat('x', 100) FROM generate_series(1, 200000) g";
    let copy = CopyOut::query(big).to_writer(
        &pool,
        Sink {
            budget: 1000,
            fail: false,
        },
    );
    assert!(tokio::time::timeout(limit, copy).await.is_err());
    let after_out = next_pid(&pool).await;
    assert_ne!(after_out, later);
    let err = CopyOut::query(big)
        .to_writer(
            &pool,
            Sink {
                budget: 1000,
                fail: true,
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_ne!(next_pid(&pool).await, after_out);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM generate_series(1, 3)")
        .fetch_one(&pool)
        .await?;
    assert_eq!(n, 3);
    assert_eq!(err.kind(), ErrorKind::Permanent);
    Ok(())
}
