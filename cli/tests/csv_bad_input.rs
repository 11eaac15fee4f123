//! `pgtide import` on bad files: a truncated file, bytes invalid in the declared encoding, an
//! unclosed quote, a row with too many columns, a 100 MB field. Each is a clear error naming
//! the line, and the table is left as it was (the import is one transaction).

mod support;

use pgtide_testkit::TestDb;
use sqlx::Connection as _;
use support::*;

const PEOPLE: &str = "CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL, born date)";

struct Setup {
    db: TestDb,
    dir: std::path::PathBuf,
    password: String,
}

impl Setup {
    async fn new(name: &str) -> anyhow::Result<Self> {
        let db = TestDb::new().await?;
        let dir = fresh_dir(name);
        std::fs::write(dir.join("pgtide.toml"), connection_toml(&db))?;
        let mut conn = sqlx::PgConnection::connect(&db.url()).await?;
        sqlx::raw_sql(PEOPLE).execute(&mut conn).await?;
        sqlx::raw_sql("INSERT INTO people VALUES (100, 'Before', NULL)")
            .execute(&mut conn)
            .await?;
        let password = db.server().password.clone();
        Ok(Self { db, dir, password })
    }

    /// Imports `bytes` (with `args`), expects failure; returns stderr.
    fn import_fails(&self, file: &str, bytes: &[u8], args: &[&str]) -> String {
        std::fs::write(self.dir.join(file), bytes).unwrap();
        let mut all = vec!["import", file, "--table", "people"];
        all.extend(args);
        let o = pgtide_env(&self.dir, &all, &[(PASSWORD_VAR, self.password.as_str())]);
        let _ = std::fs::remove_file(self.dir.join(file));
        assert_eq!(
            o.status.code(),
            Some(1),
            "{file}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        stderr(&o)
    }

    async fn unchanged(&self) -> anyhow::Result<()> {
        let mut conn = sqlx::PgConnection::connect(&self.db.url()).await?;
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT id || ':' || name FROM people ORDER BY id")
                .fetch_all(&mut conn)
                .await?;
        assert_eq!(rows, ["100:Before"], "the table is unchanged");
        Ok(())
    }
}

#[tokio::test]
async fn a_truncated_file_names_its_last_line() -> anyhow::Result<()> {
    let s = Setup::new("csv-bad-truncated").await?;
    let err = s.import_fails("cut.csv", b"id,name,born\n1,One,2000-01-01\n2,Tw", &[]);
    assert!(err.contains("line 3"), "{err}");
    s.unchanged().await
}

#[tokio::test]
async fn bytes_invalid_in_the_declared_encoding_name_the_line() -> anyhow::Result<()> {
    let s = Setup::new("csv-bad-encoding").await?;
    let err = s.import_fails(
        "bytes.csv",
        b"id,name,born\n1,One,2000-01-01\n2,Bad \xFF\xFE byte,\n",
        &["--encoding", "utf-8"],
    );
    assert!(err.contains("line 3"), "{err}");
    assert!(err.to_lowercase().contains("utf-8"), "{err}");
    s.unchanged().await
}

#[tokio::test]
async fn an_unclosed_quote_names_the_line() -> anyhow::Result<()> {
    let s = Setup::new("csv-bad-quote").await?;
    let err = s.import_fails(
        "quote.csv",
        b"id,name,born\n1,One,2000-01-01\n2,\"Unclosed,2000-01-01\n3,Three,\n",
        &[],
    );
    assert!(err.contains("line "), "{err}");
    assert!(err.contains("quote"), "{err}");
    s.unchanged().await
}

#[tokio::test]
async fn a_row_with_too_many_columns_names_the_line() -> anyhow::Result<()> {
    let s = Setup::new("csv-bad-columns").await?;
    let err = s.import_fails(
        "wide.csv",
        b"id,name,born\n1,One,2000-01-01\n2,Two,2000-01-01,extra\n",
        &[],
    );
    assert!(err.contains("line 3"), "{err}");
    s.unchanged().await
}

#[tokio::test]
async fn a_100_mb_field_is_a_clear_error_naming_the_line() -> anyhow::Result<()> {
    let s = Setup::new("csv-bad-huge").await?;
    let mut bytes = b"id,name,born\n1,One,2000-01-01\n2,".to_vec();
    bytes.resize(bytes.len() + 100 * 1024 * 1024, b'x');
    bytes.extend_from_slice(b",2000-01-01\n");
    let err = s.import_fails("huge.csv", &bytes, &[]);
    assert!(err.contains("line 3 is longer than 16 MiB"), "{err}");
    assert!(err.contains("--max-line-mb"), "{err}");
    s.unchanged().await
}

/// Far into a UTF-8 file (past the sniffing sample and the first chunks, where the bytes are
/// checked in place rather than transcoded), a byte that is not UTF-8 still names its line.
#[tokio::test]
async fn a_bad_byte_deep_in_a_utf8_file_names_its_line() -> anyhow::Result<()> {
    let s = Setup::new("csv-bad-deep-byte").await?;
    let mut bytes = b"id,name,born\n".to_vec();
    for id in 1..=40_000 {
        let name = if id == 35_000 { "Bad \u{FFFD}" } else { "Zoë" };
        bytes.extend_from_slice(format!("{id},{name} {id:020},2000-01-01\n").as_bytes());
    }
    let at = bytes
        .windows(3)
        .position(|w| w == "\u{FFFD}".as_bytes())
        .expect("the marker");
    bytes.splice(at..at + 3, [0xFF]);
    assert!(at > 1024 * 1024, "past the first chunks: {at}");
    let err = s.import_fails("deep.csv", &bytes, &[]);
    assert!(err.contains("line 35001:"), "{err}");
    assert!(err.contains("UTF-8"), "{err}");
    s.unchanged().await
}

/// A UTF-8 file whose last character is cut short by its end fails naming the last line.
#[tokio::test]
async fn a_character_cut_by_the_end_of_the_file_names_the_last_line() -> anyhow::Result<()> {
    let s = Setup::new("csv-bad-cut-char").await?;
    let err = s.import_fails(
        "cut-char.csv",
        b"id,name,born\n1,One,2000-01-01\n2,Zo\xC3",
        &["--encoding", "utf-8"],
    );
    assert!(err.contains("line 3:"), "{err}");
    assert!(err.contains("UTF-8"), "{err}");
    s.unchanged().await
}
