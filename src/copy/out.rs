//! `COPY … TO STDOUT`: a table or a query out to a writer, chunk by chunk.

use futures_util::TryStreamExt;
use sqlx::PgConnection;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{CopyOptions, Relation, io_failure, option_setters};
use crate::error::{Error, Result};
use crate::observe;
use crate::target::Target;

/// A `COPY table TO STDOUT` or `COPY (query) TO STDOUT`: writes the data to any
/// [`AsyncWrite`] as the server sends it and returns the number of bytes written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a COPY does nothing until `to_writer` runs it"]
pub struct CopyOut {
    source: Source,
    options: CopyOptions,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Relation(Relation),
    Query(String),
}

impl CopyOut {
    /// Exports `table` (one identifier, quoted; set a schema with [`schema`](Self::schema)),
    /// every column unless [`columns`](Self::columns) says otherwise.
    pub fn table(table: impl Into<String>) -> Self {
        Self {
            source: Source::Relation(Relation::new(table)),
            options: CopyOptions::default(),
        }
    }

    /// Exports the rows of `query` (a `SELECT`, `VALUES`, or DML with `RETURNING`; no
    /// parameters: `COPY` takes none).
    pub fn query(query: impl Into<String>) -> Self {
        Self {
            source: Source::Query(query.into()),
            options: CopyOptions::default(),
        }
    }

    /// The table's schema (tables only).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        if let Source::Relation(r) = &mut self.source {
            r.schema = Some(schema.into());
        }
        self
    }

    /// The columns to export, in order (tables only).
    pub fn columns<I>(mut self, columns: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        if let Source::Relation(r) = &mut self.source {
            r.columns = columns.into_iter().map(Into::into).collect();
        }
        self
    }

    option_setters!();

    /// The statement this runs.
    pub fn sql(&self) -> Result<String> {
        self.options.check()?;
        let source = match &self.source {
            Source::Relation(r) => r.sql()?,
            Source::Query(q) => format!("({q})"),
        };
        Ok(format!("COPY {source} TO STDOUT {}", self.options.sql()))
    }

    /// Runs the `COPY` and writes its data to `writer` as it arrives (then flushes it);
    /// returns the bytes written. A writer that fails aborts the export; on a pooled
    /// connection the connection is then discarded (the rest of the data was never read).
    pub async fn to_writer<'c, W>(self, target: impl Into<Target<'c>>, mut writer: W) -> Result<u64>
    where
        W: AsyncWrite + Unpin,
    {
        let sql = self.sql()?;
        let target = target.into();
        // Boxed: a large nested future (see `copy::in_::run`).
        Box::pin(observe::named("copy out", |_: &u64| None, async {
            target
                .run(async move |conn: &mut PgConnection| {
                    let mut data = conn.copy_out_raw(&sql).await?;
                    let mut written = 0_u64;
                    while let Some(chunk) = data.try_next().await.map_err(Error::from)? {
                        writer
                            .write_all(&chunk)
                            .await
                            .map_err(|e| io_failure("writing the COPY output", e))?;
                        written += chunk.len() as u64;
                    }
                    writer
                        .flush()
                        .await
                        .map_err(|e| io_failure("writing the COPY output", e))?;
                    Ok(written)
                })
                .await
        }))
        .await
    }
}
