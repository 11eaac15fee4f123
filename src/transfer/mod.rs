//! CSV between PostgreSQL and files, stdin/stdout and object stores (feature `transfer`).
//!
//! [`import`] loads a CSV object into a table in one transaction (all rows or none), through
//! `COPY … FROM STDIN`; [`export`] writes a table's or a query's rows as CSV through
//! `COPY … TO STDOUT`. Where the data lives is a string:
//!
//! | location | needs feature |
//! |---|---|
//! | `-` (stdin for import, stdout for export), a local path, `file:///abs/path` | `transfer` |
//! | `s3://bucket/key` | `s3` |
//! | `az://container/path`, `abfs://container@account.dfs.core.windows.net/path` | `azure` |
//! | `gs://bucket/key` (imports tested against fake-gcs-server; exports untested: no emulator serves the XML API uploads) | `gcp` |
//!
//! Both stream: an import reads the object a chunk at a time, an export uploads it in parts
//! (multipart once it outgrows 8 MiB, two parts in flight), so memory stays flat whatever
//! the size. A name ending in `.gz` is gunzipped on import and gzipped on export.
//!
//! Imports sniff what the caller leaves open from the first 64 KiB: the encoding (BOM, else
//! UTF-8 when valid, else windows-1252; transcoded to UTF-8), the delimiter (`,` `;` tab
//! `|`), whether the first line is a header, and with [`ImportOptions::create`] the column
//! types of a new table.
//!
//! Cloud credentials and endpoints come from the provider's standard environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_REGION`, `AWS_ENDPOINT`, `AZURE_STORAGE_ACCOUNT_NAME`,
//! `AZURE_STORAGE_ACCESS_KEY`, `GOOGLE_SERVICE_ACCOUNT`, …), then [`StorageOptions`]. The
//! store retries throttling (429/503), server errors and network failures itself with the
//! pool's retry policy (attempts, base and max delay, budget); a refused credential is not
//! retried. Failures are [`Error::Storage`] with a [`StorageErrorKind`], naming the object
//! by its URL without credentials. Each transfer runs in a `pgtide.transfer` span that
//! records the URL, bytes, rows (lines for an export) and milliseconds.
//!
//! ```no_run
//! # async fn run(pool: &pgtide::Pool) -> Result<(), pgtide::transfer::Error> {
//! use pgtide::transfer::{self, ExportOptions, ImportOptions, Source};
//! let done = transfer::import(pool, "orders.csv.gz", &ImportOptions::new("orders").create(true)).await?;
//! println!("{} rows", done.rows);
//! transfer::export(pool, &Source::query("SELECT * FROM orders"), "-", &ExportOptions::new().header(true)).await?;
//! # Ok(()) }
//! ```

mod aws_profile;
mod classify;
mod configured;
mod create;
mod decode;
mod error;
mod export;
mod import;
mod io;
mod location;
mod sniff;

use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

pub use classify::{ValueClass, column_class};
pub use error::{Error, StorageErrorKind};
pub use location::StorageOptions;

use crate::Pool;

/// How far a transfer is: bytes read from the source (import) or written as CSV (export),
/// and lines of CSV so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes read (import: of the object as stored, compressed or not) or written (export:
    /// CSV before compression).
    pub bytes: u64,
    /// Lines of CSV so far.
    pub lines: u64,
}

/// A progress callback, called after each chunk.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Whether the first line of the file holds column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Header {
    /// Guessed: the first line is a header when its names are the table's columns, or when
    /// it is all text while later lines hold numbers, booleans or dates.
    #[default]
    Auto,
    /// The first line is a header.
    Yes,
    /// The first line is data.
    No,
}

/// What [`import`] does.
#[derive(Clone)]
pub struct ImportOptions {
    table: String,
    create: bool,
    delimiter: Option<char>,
    header: Header,
    encoding: Option<String>,
    null: Option<String>,
    max_line: u64,
    storage: StorageOptions,
    progress: Option<ProgressFn>,
}

/// The longest line an import accepts by default (16 MiB): PostgreSQL's `COPY` holds a whole
/// line in server memory (a field cannot be streamed), several times over.
pub const DEFAULT_MAX_LINE: u64 = 16 * 1024 * 1024;

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("table", &self.table)
            .field("create", &self.create)
            .field("delimiter", &self.delimiter)
            .field("header", &self.header)
            .field("encoding", &self.encoding)
            .field("null", &self.null)
            .field("max_line", &self.max_line)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl ImportOptions {
    /// Load into `table` (one name, quoted as an identifier); everything else sniffed.
    pub fn new(table: impl Into<String>) -> Self {
        Self {
            table: table.into(),
            create: false,
            delimiter: None,
            header: Header::Auto,
            encoding: None,
            null: None,
            max_line: DEFAULT_MAX_LINE,
            storage: StorageOptions::new(),
            progress: None,
        }
    }

    /// Create the table when it is missing, with column types inferred from the first rows
    /// (default: off, a missing table is an error). With it, an existing table whose columns
    /// are not the header's is an error listing the differences.
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// The field delimiter (default: sniffed among `,` `;` tab `|`, else `,`).
    pub fn delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = Some(delimiter);
        self
    }

    /// Whether the first line is a header (default: [`Header::Auto`]).
    pub fn header(mut self, header: Header) -> Self {
        self.header = header;
        self
    }

    /// The file's encoding by its WHATWG label (`utf-8`, `latin1`, `utf-16le`, …; default:
    /// BOM, else UTF-8 when valid, else windows-1252).
    pub fn encoding(mut self, label: impl Into<String>) -> Self {
        self.encoding = Some(label.into());
        self
    }

    /// The string that stands for null (default: an empty unquoted field).
    pub fn null(mut self, null: impl Into<String>) -> Self {
        self.null = Some(null.into());
        self
    }

    /// The longest line accepted, in bytes (default: [`DEFAULT_MAX_LINE`]); a longer line
    /// is an error naming it, and nothing is imported.
    pub fn max_line_bytes(mut self, bytes: u64) -> Self {
        self.max_line = bytes;
        self
    }

    /// Object store options (default: the environment's).
    pub fn storage(mut self, storage: StorageOptions) -> Self {
        self.storage = storage;
        self
    }

    /// Called with the progress after each chunk (default: none).
    pub fn progress(mut self, progress: ProgressFn) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// What [`export`] does.
#[derive(Clone, Default)]
pub struct ExportOptions {
    delimiter: Option<char>,
    header: bool,
    encoding: Option<String>,
    storage: StorageOptions,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for ExportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportOptions")
            .field("delimiter", &self.delimiter)
            .field("header", &self.header)
            .field("encoding", &self.encoding)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl ExportOptions {
    /// Comma-separated, no header, UTF-8.
    pub fn new() -> Self {
        Self::default()
    }

    /// The field delimiter (default `,`).
    pub fn delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = Some(delimiter);
        self
    }

    /// Write the column names first (default: off).
    pub fn header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }

    /// The encoding the server converts to (a PostgreSQL name such as `LATIN1`; default UTF8).
    pub fn encoding(mut self, encoding: impl Into<String>) -> Self {
        self.encoding = Some(encoding.into());
        self
    }

    /// Object store options (default: the environment's).
    pub fn storage(mut self, storage: StorageOptions) -> Self {
        self.storage = storage;
        self
    }

    /// Called with the progress after each chunk written (default: none).
    pub fn progress(mut self, progress: ProgressFn) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// What an export reads: a whole table or a query's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Every row of a table (one name, quoted as an identifier).
    Table(String),
    /// The rows of a `SELECT` (or `VALUES`, `TABLE`, `WITH …`).
    Query(String),
}

impl Source {
    /// A whole table.
    pub fn table(name: impl Into<String>) -> Self {
        Self::Table(name.into())
    }

    /// A query's rows.
    pub fn query(sql: impl Into<String>) -> Self {
        Self::Query(sql.into())
    }
}

/// A finished import.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ImportSummary {
    /// Rows loaded.
    pub rows: u64,
    /// Bytes read from the source (as stored: compressed for `.gz`).
    pub bytes: u64,
    /// The encoding read (its WHATWG name).
    pub encoding: &'static str,
    /// The delimiter used.
    pub delimiter: char,
    /// Whether the first line was a header.
    pub header: bool,
    /// How long it took.
    pub elapsed: Duration,
    /// The source, without credentials.
    pub url: String,
}

/// A finished export.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExportSummary {
    /// Bytes of CSV written (before compression).
    pub bytes: u64,
    /// Lines of CSV written (a quoted field with a line break counts its lines).
    pub lines: u64,
    /// How long it took.
    pub elapsed: Duration,
    /// The destination, without credentials.
    pub url: String,
}

/// Loads the CSV at `source` into `options`' table, in one transaction: every row or none.
/// See the [module docs](self) for the locations and what is sniffed.
pub async fn import(
    pool: &Pool,
    source: &str,
    options: &ImportOptions,
) -> Result<ImportSummary, Error> {
    let span = tracing::info_span!(
        "pgtide.transfer",
        direction = "import",
        url = %location::redact(source),
        table = %options.table,
        bytes = tracing::field::Empty,
        rows = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
        error = tracing::field::Empty,
    );
    let result = import::run(pool, source, options)
        .instrument(span.clone())
        .await;
    match &result {
        Ok(s) => {
            span.record("bytes", s.bytes);
            span.record("rows", s.rows);
            span.record("duration_ms", s.elapsed.as_millis() as u64);
        }
        Err(e) => {
            span.record("error", tracing::field::display(e));
        }
    }
    result
}

/// Writes `source`'s rows as CSV to `target`. A failure aborts the upload: no object (or
/// file) is left behind. See the [module docs](self) for the locations.
pub async fn export(
    pool: &Pool,
    source: &Source,
    target: &str,
    options: &ExportOptions,
) -> Result<ExportSummary, Error> {
    let span = tracing::info_span!(
        "pgtide.transfer",
        direction = "export",
        url = %location::redact(target),
        bytes = tracing::field::Empty,
        rows = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
        error = tracing::field::Empty,
    );
    let result = export::run(pool, source, target, options)
        .instrument(span.clone())
        .await;
    match &result {
        Ok(s) => {
            span.record("bytes", s.bytes);
            span.record("rows", s.lines);
            span.record("duration_ms", s.elapsed.as_millis() as u64);
        }
        Err(e) => {
            span.record("error", tracing::field::display(e));
        }
    }
    result
}
