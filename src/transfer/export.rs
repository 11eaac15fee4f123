//! Export: `COPY … TO STDOUT` streamed into stdout or an object store upload (gzip-compressed
//! when the name ends in `.gz`). The upload is multipart once it outgrows one part; a failure
//! anywhere aborts it, so no object (and for a local file, no file) appears.

use std::sync::Arc;
use std::time::Instant;

use tokio::io::AsyncWriteExt;

use super::error::Error;
use super::io::{FailureSlot, Output, Sink, take};
use super::location::{self, Location};
use super::{ExportOptions, ExportSummary, Source};
use crate::Pool;
use crate::copy::CopyOut;

pub(crate) async fn run(
    pool: &Pool,
    source: &Source,
    target: &str,
    options: &ExportOptions,
) -> Result<ExportSummary, Error> {
    let started = Instant::now();
    let mut copy = match source {
        Source::Table(t) => CopyOut::table(t),
        Source::Query(q) => CopyOut::query(q),
    }
    .csv();
    if let Some(d) = options.delimiter {
        copy = copy.delimiter(d);
    }
    if options.header {
        copy = copy.header(true);
    }
    if let Some(e) = &options.encoding {
        copy = copy.encoding(e);
    }
    // Checked before anything is uploaded.
    copy.sql().map_err(|e| Error::Invalid(e.to_string()))?;
    let (location, url, gzip) = location::open(target, &options.storage, pool.config())?;
    let output = match location {
        Location::Stdio => Output::Stdout(tokio::io::stdout()),
        Location::Object { store, path } => Output::object(store, path, gzip),
    };
    let failure: FailureSlot = Arc::default();
    let mut sink = Sink {
        output,
        url: url.clone(),
        failure: Arc::clone(&failure),
        bytes: 0,
        lines: 0,
        progress: options.progress.clone(),
        shutting_down: false,
    };
    let copied = copy.to_writer(pool, &mut sink).await;
    let finished = match copied {
        Ok(_) => sink.shutdown().await.map_err(|e| Error::io(&url, &e)),
        Err(e) => Err(Error::Database(e)),
    };
    if let Err(err) = finished {
        // The first failure of the sink is the cause; the database's error only says the
        // writer failed. An abort that fails too (the store is gone) adds nothing.
        let err = take(&failure).unwrap_or(err);
        if !sink.shutting_down {
            let _ = sink.output.abort().await;
        }
        return Err(err);
    }
    Ok(ExportSummary {
        bytes: sink.bytes,
        lines: sink.lines,
        elapsed: started.elapsed(),
        url,
    })
}
