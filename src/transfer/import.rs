//! Import: the object (or file, or stdin) read a chunk at a time, gunzipped when it ends in
//! `.gz`, its first [`SAMPLE`] bytes sniffed (encoding, delimiter, header, column types),
//! then decoded to UTF-8 and streamed into `COPY … FROM STDIN` inside one transaction. A
//! failure anywhere (the store, the data, the server) rolls the transaction back: the table
//! is as it was, and a table `create` made is gone with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_compression::tokio::bufread::GzipDecoder;
use bytes::Bytes;
use encoding_rs::{Decoder, DecoderResult, Encoding};
use futures_util::TryStreamExt;
use object_store::ObjectStoreExt;
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};
use tokio_util::io::StreamReader;

use super::error::Error;
use super::io::{Counting, FailureSlot, record, take};
use super::location::{self, Location};
use super::sniff::{self, SAMPLE};
use super::{Header, ImportOptions, ImportSummary, Progress, ProgressFn, create};
use crate::copy::CopyIn;
use crate::{Pool, TxOptions};

/// Bytes read from the source per chunk.
const CHUNK: usize = 64 * 1024;

type Source = Box<dyn AsyncRead + Unpin + Send>;

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
            let stream = object.into_stream().map_err(std::io::Error::other);
            Box::new(StreamReader::new(stream))
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

/// What the decoding stream reports to.
struct Feed {
    url: String,
    /// The longest line accepted, in bytes of UTF-8 ([`ImportOptions::max_line_bytes`]).
    max_line: u64,
    failure: FailureSlot,
    read: Arc<AtomicU64>,
    lines: Arc<AtomicU64>,
    progress: Option<ProgressFn>,
}

struct State {
    sample: Option<Vec<u8>>,
    reader: Source,
    decoder: Decoder,
    input: Vec<u8>,
    done: bool,
    /// Bytes of the current line decoded so far.
    line_len: u64,
    feed: Feed,
}

/// Keeps a data error (bytes invalid in the encoding, a line too long) as the import's
/// failure and returns the I/O error that ends the `COPY`.
fn invalid(slot: &FailureSlot, message: String) -> std::io::Error {
    let mut kept = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if kept.is_none() {
        *kept = Some(Error::Invalid(message.clone()));
    }
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

/// The sample, then the rest of `reader`, decoded to UTF-8 a chunk at a time (the BOM is
/// dropped). Bytes that are not valid in `encoding` and a line longer than the limit are
/// errors naming the line: nothing is replaced or cut silently, and the import rolls back.
fn decoded(
    sample: Vec<u8>,
    reader: Source,
    encoding: &'static Encoding,
    feed: Feed,
) -> impl futures_core::Stream<Item = std::io::Result<Bytes>> + Send {
    let state = State {
        sample: Some(sample),
        reader,
        decoder: encoding.new_decoder_with_bom_removal(),
        input: vec![0; CHUNK],
        done: false,
        line_len: 0,
        feed,
    };
    futures_util::stream::try_unfold(state, |mut s| async move {
        loop {
            if s.done {
                return Ok(None);
            }
            let n = match s.sample.take() {
                Some(sample) => {
                    let n = sample.len();
                    s.input = sample;
                    n
                }
                None => {
                    if s.input.len() < CHUNK {
                        s.input.resize(CHUNK, 0);
                    }
                    match s.reader.read(&mut s.input[..CHUNK]).await {
                        Ok(n) => n,
                        Err(e) => {
                            record(&s.feed.failure, &s.feed.url, &e);
                            return Err(e);
                        }
                    }
                }
            };
            let last = n == 0;
            let need = s
                .decoder
                .max_utf8_buffer_length_without_replacement(n)
                .unwrap_or(CHUNK * 3 + 16);
            let mut out = vec![0; need];
            let (result, _, written) =
                s.decoder
                    .decode_to_utf8_without_replacement(&s.input[..n], &mut out, last);
            out.truncate(written);
            s.done = last;
            let before = s.feed.lines.load(Ordering::Relaxed);
            let mut lines = before;
            for &b in &out {
                if b == b'\n' {
                    lines = lines.saturating_add(1);
                    s.line_len = 0;
                } else {
                    s.line_len = s.line_len.saturating_add(1);
                    if s.line_len > s.feed.max_line {
                        return Err(invalid(
                            &s.feed.failure,
                            format!(
                                "line {} is longer than {} MiB (a broken file, or a field too \
                                 large to import: raise the line limit, --max-line-mb)",
                                lines.saturating_add(1),
                                s.feed.max_line / (1024 * 1024)
                            ),
                        ));
                    }
                }
            }
            match result {
                DecoderResult::InputEmpty => {}
                DecoderResult::Malformed(..) => {
                    return Err(invalid(
                        &s.feed.failure,
                        format!(
                            "line {}: bytes that are not valid {} (give the file's encoding, \
                             --encoding)",
                            lines.saturating_add(1),
                            s.decoder.encoding().name()
                        ),
                    ));
                }
                DecoderResult::OutputFull => {
                    return Err(invalid(
                        &s.feed.failure,
                        "decoding needed more room than it asked for".into(),
                    ));
                }
            }
            s.feed.lines.store(lines, Ordering::Relaxed);
            if let Some(progress) = &s.feed.progress {
                progress(Progress {
                    bytes: s.feed.read.load(Ordering::Relaxed),
                    lines,
                });
            }
            if !out.is_empty() {
                return Ok(Some((Bytes::from(out), s)));
            }
        }
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
