//! `COPY … FROM STDIN`: a reader, a byte stream or a row stream into a table.

use futures_core::Stream;
use futures_util::StreamExt;
use sqlx::PgConnection;
use sqlx::postgres::PgCopyIn;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{
    BinaryEncoder, CHUNK, CopyFormat, CopyOptions, CopyRow, Relation, io_failure, option_setters,
};
use crate::error::{Error, Result};
use crate::observe;
use crate::target::Target;

/// A `COPY table (columns) FROM STDIN (options)`: loads a table from a reader, a byte
/// stream or a row stream, and returns the number of rows the server loaded. See the
/// [module docs](crate::copy) for what happens on bad data and cancellation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a COPY does nothing until `from_reader`, `from_stream` or `from_rows` runs it"]
pub struct CopyIn {
    relation: Relation,
    options: CopyOptions,
}

type Sink<'a> = PgCopyIn<&'a mut PgConnection>;

impl CopyIn {
    /// Loads `table` (one identifier, quoted: `"Books"` stays case-sensitive; set a schema
    /// with [`schema`](Self::schema)), all columns in table order unless
    /// [`columns`](Self::columns) says otherwise.
    pub fn table(table: impl Into<String>) -> Self {
        Self {
            relation: Relation::new(table),
            options: CopyOptions::default(),
        }
    }

    /// The table's schema.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.relation.schema = Some(schema.into());
        self
    }

    /// The columns the data holds, in order.
    pub fn columns<I>(mut self, columns: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.relation.columns = columns.into_iter().map(Into::into).collect();
        self
    }

    option_setters!();

    /// The statement this runs.
    pub fn sql(&self) -> Result<String> {
        self.options.check()?;
        Ok(format!(
            "COPY {} FROM STDIN {}",
            self.relation.sql()?,
            self.options.sql()
        ))
    }

    /// Loads everything `reader` yields, read and sent [`CHUNK`] bytes at a time.
    pub async fn from_reader<'c, R>(
        self,
        target: impl Into<Target<'c>>,
        mut reader: R,
    ) -> Result<u64>
    where
        R: AsyncRead + Unpin,
    {
        self.run(target.into(), async |copy: &mut Sink<'_>| {
            let mut buf = vec![0; CHUNK];
            loop {
                let n = reader
                    .read(&mut buf)
                    .await
                    .map_err(|e| io_failure("reading the COPY source", e))?;
                if n == 0 {
                    return Ok(());
                }
                copy.send(&buf[..n]).await?;
            }
        })
        .await
    }

    /// Loads the chunks of bytes `stream` yields, each sent as it arrives. An `Err` item
    /// aborts the `COPY` (nothing is loaded) and is returned.
    pub async fn from_stream<'c, S, B, E>(
        self,
        target: impl Into<Target<'c>>,
        stream: S,
    ) -> Result<u64>
    where
        S: Stream<Item = std::result::Result<B, E>>,
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        let mut stream = std::pin::pin!(stream);
        self.run(target.into(), async |copy: &mut Sink<'_>| {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| io_failure("reading the COPY source", e))?;
                copy.send(chunk.as_ref()).await?;
            }
            Ok(())
        })
        .await
    }

    /// Loads the rows `rows` yields, encoded in binary format (the format is set to binary)
    /// and sent a [`CHUNK`] at a time. A field that cannot be encoded aborts the `COPY`.
    ///
    /// For an iterator, pass `futures_util::stream::iter(rows)`.
    pub async fn from_rows<'c, S>(self, target: impl Into<Target<'c>>, rows: S) -> Result<u64>
    where
        S: Stream,
        S::Item: CopyRow,
    {
        let sql = self.format(CopyFormat::Binary).sql()?;
        copy_encoded(target.into(), &sql, "copy in", rows, |row, encoder| {
            encoder.write_row(row)
        })
        .await
    }

    async fn run(
        self,
        target: Target<'_>,
        feed: impl AsyncFnOnce(&mut Sink<'_>) -> Result<()>,
    ) -> Result<u64> {
        let sql = self.sql()?;
        run(target, &sql, "copy in", feed).await
    }
}

/// Runs `sql` (a `COPY … FROM STDIN (FORMAT binary)`) with the rows `rows` yields, each
/// encoded by `write`, sent a [`CHUNK`] at a time: what [`CopyIn::from_rows`] and generated
/// `:copyfrom` functions do.
pub(crate) async fn copy_encoded<S>(
    target: Target<'_>,
    sql: &str,
    name: &'static str,
    rows: S,
    mut write: impl FnMut(&S::Item, &mut BinaryEncoder) -> Result<()>,
) -> Result<u64>
where
    S: Stream,
{
    let mut rows = std::pin::pin!(rows);
    run(target, sql, name, async |copy: &mut Sink<'_>| {
        let mut encoder = BinaryEncoder::new();
        while let Some(row) = rows.next().await {
            write(&row, &mut encoder)?;
            if encoder.is_full() {
                copy.send(encoder.pending()).await?;
                encoder.clear();
            }
        }
        encoder.finish();
        copy.send(encoder.pending()).await?;
        Ok(())
    })
    .await
}

/// Starts the `COPY`, lets `feed` send the data, then finishes it (or aborts it when `feed`
/// failed), in a `pgtide.statement` span named `name`.
async fn run(
    target: Target<'_>,
    sql: &str,
    name: &'static str,
    feed: impl AsyncFnOnce(&mut Sink<'_>) -> Result<()>,
) -> Result<u64> {
    // Boxed: the nested COPY future is large, and generated `:copyfrom` calls sit deep inside
    // transaction bodies (a debug build overflowed a test thread's stack without this).
    Box::pin(observe::named(name, |rows: &u64| Some(*rows), async {
        target
            .run(async move |conn: &mut PgConnection| {
                let mut copy = conn.copy_in_raw(sql).await?;
                match feed(&mut copy).await {
                    Ok(()) => Ok(copy.finish().await?),
                    Err(err) => {
                        // The server discards what it received; a failure to abort (the
                        // connection is gone) adds nothing to `err`.
                        let _ = copy.abort(abort_message(&err)).await;
                        Err(err)
                    }
                }
            })
            .await
    }))
    .await
}

/// Why the `COPY` was aborted, for the server's log (`CopyFail` has no length limit worth
/// worrying about, but keep it one line).
fn abort_message(err: &Error) -> String {
    format!("aborted by the client: {err}")
        .chars()
        .take(500)
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect()
}
