//! `COPY` both ways, streamed: bulk loads from any [`AsyncRead`](tokio::io::AsyncRead), byte
//! stream or row stream, and bulk exports of a table or a query to any
//! [`AsyncWrite`](tokio::io::AsyncWrite), in CSV, text or binary.
//!
//! Memory stays flat whatever the size: data moves in chunks of [`CHUNK`] bytes, never
//! gathered in memory (`tests/copy_memory.rs` moves ≥ 100 MB each way and checks the
//! process's peak RSS).
//!
//! - **All or nothing.** A row the server rejects aborts the whole `COPY`: the table is
//!   unchanged, and the error says where, as the server reported it
//!   (`COPY books, line 3, column price: "abc"`). The server only reports it once it has read
//!   the row, so the rest of the input is still sent (and discarded) before the error comes.
//! - **Cancelled midway** (a dropped future, a timeout): a pooled connection is discarded,
//!   never handed out again half-way through a `COPY`; a transaction's connection too. A
//!   connection of your own ([`Connection`](crate::Connection), `&mut PgConnection`) is left
//!   mid-protocol: close it.
//! - Names are quoted as identifiers and options as string literals, so they can hold any
//!   character; a `CopyOut::query` is SQL you wrote, like any query.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! # let db = pgtide_testkit::TestDb::new().await?;
//! # let pool = pgtide::Pool::connect(&pgtide::config::Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?).await?;
//! use pgtide::copy::{CopyIn, CopyOut};
//!
//! let csv = "name;email\nLe Guin;ursula@example.org\nJemisin;\n";
//! let loaded = CopyIn::table("authors")
//!     .columns(["name", "email"])
//!     .csv()
//!     .delimiter(';')
//!     .header(true)
//!     .from_reader(&pool, csv.as_bytes())
//!     .await?;
//! assert_eq!(loaded, 2);
//!
//! let mut out = Vec::new();
//! CopyOut::query("SELECT name, email FROM authors ORDER BY name")
//!     .csv()
//!     .null("-")
//!     .to_writer(&pool, &mut out)
//!     .await?;
//! assert_eq!(out, b"Jemisin,-\nLe Guin,ursula@example.org\n");
//! # Ok(()) }
//! ```

mod binary;
mod in_;
mod out;

pub use binary::{CopyRow, Fields};
pub use in_::CopyIn;
pub use out::CopyOut;

pub(crate) use binary::BinaryEncoder;
pub(crate) use in_::copy_encoded;

use std::fmt::Write as _;

use crate::error::Error;

/// Bytes per `CopyData` message, and the size of the read buffer for sources.
pub const CHUNK: usize = 64 * 1024;

/// The data format of a `COPY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CopyFormat {
    /// PostgreSQL's text format: tab-separated, `\N` for null, backslash escapes (the
    /// server's default).
    #[default]
    Text,
    /// Comma-separated values, quoted where needed, empty unquoted field for null.
    Csv,
    /// PostgreSQL's binary format (what [`CopyIn::from_rows`] sends).
    Binary,
}

impl CopyFormat {
    fn sql(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Csv => "csv",
            Self::Binary => "binary",
        }
    }
}

/// The options of a `COPY` statement; set through [`CopyIn`] and [`CopyOut`]. Unset
/// options take the server's defaults; options a format does not allow (a delimiter for
/// binary) are refused by the server with an error naming the option.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CopyOptions {
    pub(crate) format: CopyFormat,
    pub(crate) delimiter: Option<char>,
    pub(crate) header: Option<bool>,
    pub(crate) null: Option<String>,
    pub(crate) quote: Option<char>,
    pub(crate) escape: Option<char>,
    pub(crate) encoding: Option<String>,
}

impl CopyOptions {
    /// `(FORMAT csv, DELIMITER ';', …)`.
    fn sql(&self) -> String {
        let mut out = format!("(FORMAT {}", self.format.sql());
        let mut text = |name: &str, value: &str| {
            let _ = write!(out, ", {name} {}", literal(value));
        };
        if let Some(d) = self.delimiter {
            text("DELIMITER", d.encode_utf8(&mut [0; 4]));
        }
        if let Some(n) = &self.null {
            text("NULL", n);
        }
        if let Some(q) = self.quote {
            text("QUOTE", q.encode_utf8(&mut [0; 4]));
        }
        if let Some(e) = self.escape {
            text("ESCAPE", e.encode_utf8(&mut [0; 4]));
        }
        if let Some(e) = &self.encoding {
            text("ENCODING", e);
        }
        if let Some(h) = self.header {
            let _ = write!(out, ", HEADER {h}");
        }
        out.push(')');
        out
    }

    /// A NUL character cannot travel in a statement: refuse it before the server does.
    fn check(&self) -> Result<(), Error> {
        let chars = [self.delimiter, self.quote, self.escape];
        let strings = [self.null.as_deref(), self.encoding.as_deref()];
        if chars.contains(&Some('\0')) || strings.iter().flatten().any(|s| s.contains('\0')) {
            return Err(invalid("COPY options cannot contain a NUL character"));
        }
        Ok(())
    }
}

/// Setters shared by [`CopyIn`] and [`CopyOut`] (one list, documented once).
macro_rules! option_setters {
    () => {
        /// The data format (default text). See also [`csv`](Self::csv) and
        /// [`binary`](Self::binary).
        pub fn format(mut self, format: $crate::copy::CopyFormat) -> Self {
            self.options.format = format;
            self
        }

        /// CSV format.
        pub fn csv(self) -> Self {
            self.format($crate::copy::CopyFormat::Csv)
        }

        /// Binary format.
        pub fn binary(self) -> Self {
            self.format($crate::copy::CopyFormat::Binary)
        }

        /// The field delimiter (`DELIMITER`; default tab for text, comma for CSV).
        pub fn delimiter(mut self, delimiter: char) -> Self {
            self.options.delimiter = Some(delimiter);
            self
        }

        /// Whether the first line holds column names (`HEADER`; default false). Loading,
        /// the line is skipped; exporting, it is written.
        pub fn header(mut self, header: bool) -> Self {
            self.options.header = Some(header);
            self
        }

        /// The string that stands for null (`NULL`; default `\N` for text, an empty
        /// unquoted field for CSV).
        pub fn null(mut self, null: impl Into<String>) -> Self {
            self.options.null = Some(null.into());
            self
        }

        /// The CSV quote character (`QUOTE`; default `"`).
        pub fn quote(mut self, quote: char) -> Self {
            self.options.quote = Some(quote);
            self
        }

        /// The CSV escape character (`ESCAPE`; default the quote character).
        pub fn escape(mut self, escape: char) -> Self {
            self.options.escape = Some(escape);
            self
        }

        /// The encoding of the data (`ENCODING`, e.g. `LATIN1`; default the client
        /// encoding, UTF-8 for sqlx).
        pub fn encoding(mut self, encoding: impl Into<String>) -> Self {
            self.options.encoding = Some(encoding.into());
            self
        }
    };
}
pub(crate) use option_setters;

/// A table name, optionally schema-qualified, and its columns, quoted as identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Relation {
    pub(crate) schema: Option<String>,
    pub(crate) table: String,
    pub(crate) columns: Vec<String>,
}

impl Relation {
    pub(crate) fn new(table: impl Into<String>) -> Self {
        Self {
            schema: None,
            table: table.into(),
            columns: Vec::new(),
        }
    }

    /// `"schema"."table" ("a", "b")`.
    fn sql(&self) -> Result<String, Error> {
        let mut out = String::new();
        if let Some(schema) = &self.schema {
            out.push_str(&ident(schema)?);
            out.push('.');
        }
        out.push_str(&ident(&self.table)?);
        if !self.columns.is_empty() {
            let cols: Result<Vec<_>, _> = self.columns.iter().map(|c| ident(c)).collect();
            let _ = write!(out, " ({})", cols?.join(", "));
        }
        Ok(out)
    }
}

/// `name` as a quoted SQL identifier.
fn ident(name: &str) -> Result<String, Error> {
    if name.is_empty() || name.contains('\0') {
        return Err(invalid(format!(
            "COPY: {name:?} is not a valid table or column name"
        )));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// `value` as an escape string literal: correct whatever `standard_conforming_strings` is.
fn literal(value: &str) -> String {
    format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// An error in what the caller asked for (nothing was sent).
fn invalid(message: impl Into<String>) -> Error {
    Error::Permanent {
        source: sqlx::Error::InvalidArgument(message.into()),
    }
}

/// A failure of the caller's source or sink (not the server's): permanent, with the cause.
fn io_failure(what: &str, err: impl std::fmt::Display) -> Error {
    Error::Permanent {
        source: sqlx::Error::Io(std::io::Error::other(format!("{what}: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_options_are_quoted() {
        let mut rel = Relation::new("we\"ird");
        rel.schema = Some("s".into());
        rel.columns = vec!["a b".into()];
        assert_eq!(rel.sql().unwrap(), r#""s"."we""ird" ("a b")"#);
        let options = CopyOptions {
            format: CopyFormat::Csv,
            delimiter: Some('\''),
            null: Some(r"\N".into()),
            header: Some(true),
            ..CopyOptions::default()
        };
        assert_eq!(
            options.sql(),
            r"(FORMAT csv, DELIMITER E'\'', NULL E'\\N', HEADER true)"
        );
        assert!(Relation::new("").sql().is_err());
        let nul = CopyOptions {
            null: Some("\0".into()),
            ..CopyOptions::default()
        };
        assert!(nul.check().is_err());
    }
}
