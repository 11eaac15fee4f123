//! Import: the object (or file, or stdin) read a chunk at a time, gunzipped when it ends in
//! `.gz`, its first [`SAMPLE`] bytes sniffed (encoding, delimiter, header, column types),
//! then decoded to UTF-8 and streamed into `COPY … FROM STDIN` inside one transaction. A
//! failure anywhere (the store, the data, the server) rolls the transaction back: the table
//! is as it was, and a table `create` made is gone with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_compression::tokio::bufread::GzipDecoder;
use encoding_rs::Encoding;
use futures_util::TryStreamExt;
use object_store::{GetResultPayload, ObjectStoreExt};
use tokio::io::{AsyncReadExt, BufReader};
use tokio_util::io::StreamReader;

use super::decode::{CHUNK, Feed, Source, decoded};
use super::error::Error;
use super::io::{Counting, FailureSlot, file_reader, take};
use super::location::{self, Location};
use super::sniff::{self, SAMPLE};
use super::{Header, ImportOptions, ImportSummary, create};
use crate::copy::CopyIn;
use crate::{Pool, TxOptions};

pub(crate) async fn run(
    pool: &Pool,
    source: &str,
    options: &ImportOptions,
) -> Result<ImportSummary, Error> {
    let started = Instant::now();
    let (location, url, gzip) = location::open(source, &options.storage, pool.config())?;
    let read = Arc::new(AtomicU64::new(0));
    let raw: Source = match location {
        Location::Stdio => Box::new(tokio::io::stdin()),
        Location::Object { store, path } => {
            let object = store
                .get(&path)
                .await
                .map_err(|e| Error::storage(&url, &e))?;
            match object.payload {
                // A local file: read on a thread of its own, a chunk at a time (the store's
                // own stream reads 8 KiB per blocking task).
                GetResultPayload::File(file, _) => {
                    Box::new(file_reader(file).map_err(|e| Error::io(&url, &e))?)
                }
                GetResultPayload::Stream(stream) => {
                    Box::new(StreamReader::new(stream.map_err(std::io::Error::other)))
                }
            }
        }
    };
    let counted = Counting {
        inner: raw,
        count: Arc::clone(&read),
    };
    let mut reader: Source = if gzip {
        let mut decoder = GzipDecoder::new(BufReader::with_capacity(CHUNK, counted));
        decoder.multiple_members(true);
        Box::new(decoder)
    } else {
        Box::new(counted)
    };
    let failure: FailureSlot = Arc::default();
    let mut sample = Vec::with_capacity(SAMPLE);
    if let Err(e) = (&mut reader)
        .take(SAMPLE as u64)
        .read_to_end(&mut sample)
        .await
    {
        return Err(Error::io(&url, &e));
    }
    let complete = sample.len() < SAMPLE;
    let encoding = match options.encoding.as_deref() {
        None | Some("auto") => sniff::encoding(&sample),
        Some(label) => Encoding::for_label(label.as_bytes())
            .ok_or_else(|| Error::Invalid(format!("unknown encoding {label:?}")))?,
    };
    let (text, _) = encoding.decode_with_bom_removal(&sample);
    let delimiter = options
        .delimiter
        .or_else(|| sniff::delimiter(&text, complete))
        .unwrap_or(',');
    let rows = sniff::records(&text, delimiter, complete);
    drop(text);
    let table = options.table.as_str();
    let columns = table_columns(pool, table).await?;
    let header = match options.header {
        Header::Yes => true,
        Header::No => false,
        Header::Auto => sniff::has_header(&rows, &columns),
    };
    let mut tx = pool.begin(TxOptions::default()).await?;
    let mut copy = CopyIn::table(table)
        .csv()
        .delimiter(delimiter)
        .header(header);
    if let Some(null) = &options.null {
        copy = copy.null(null);
    }
    let names = if header { rows.first().cloned() } else { None };
    if columns.is_empty() {
        if !options.create {
            return Err(Error::Invalid(format!(
                "table {table:?} does not exist (or is not visible on the search path); create it first (the CLI: --create)"
            )));
        }
        let body = rows.get(usize::from(header)..).unwrap_or_default();
        let sql = create::create_table(table, names.as_deref(), body);
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .map_err(crate::Error::from)?;
    } else if let Some(names) = &names {
        match create::match_columns(names, &columns) {
            Ok(matched) => copy = copy.columns(matched),
            Err(diff) if options.create => {
                return Err(Error::Invalid(format!(
                    "table {table:?} exists and its columns do not match the file's header: {diff}"
                )));
            }
            Err(_) => {}
        }
    }
    drop(rows);
    let lines = Arc::new(AtomicU64::new(0));
    let stream = decoded(
        sample,
        reader,
        encoding,
        Feed {
            url: url.clone(),
            max_line: options.max_line,
            failure: Arc::clone(&failure),
            read: Arc::clone(&read),
            lines: Arc::clone(&lines),
            progress: options.progress.clone(),
        },
    );
    let loaded = match copy.from_stream(&mut tx, stream).await {
        Ok(n) => n,
        Err(e) => return Err(take(&failure).unwrap_or(Error::Database(e))),
    };
    tx.commit().await?;
    Ok(ImportSummary {
        rows: loaded,
        bytes: read.load(Ordering::Relaxed),
        encoding: encoding.name(),
        delimiter,
        header,
        elapsed: started.elapsed(),
        url,
    })
}

/// The table's columns in order; empty when there is no such table.
async fn table_columns(pool: &Pool, table: &str) -> crate::Result<Vec<String>> {
    Ok(sqlx::query_scalar::<_, String>(
        "SELECT attname::text FROM pg_attribute \
         WHERE attrelid = to_regclass(quote_ident($1)) AND attnum > 0 AND NOT attisdropped \
         ORDER BY attnum",
    )
    .bind(table)
    .fetch_all(pool)
    .await?)
}
