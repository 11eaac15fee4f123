//! The byte plumbing: a reader that counts what it reads, and the export sink (stdout, or an
//! object store upload, optionally gzip-compressed) that records the first failure with its
//! kind and can abort the upload.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_compression::tokio::write::GzipEncoder;
use bytes::Bytes;
use object_store::buffered::BufWriter;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::io::StreamReader;

use super::decode::CHUNK;
use super::error::Error;

/// Where the first failure of a source or sink is kept with its kind: `COPY` reports a
/// failed source or sink as a plain I/O error, and the transfer returns this instead.
pub(crate) type FailureSlot = Arc<Mutex<Option<Error>>>;

/// Keeps `err` (as a storage error about `url`) in `slot` unless it holds one already.
pub(crate) fn record(slot: &FailureSlot, url: &str, err: &std::io::Error) {
    let mut slot = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if slot.is_none() {
        *slot = Some(Error::io(url, err));
    }
}

/// Takes the recorded failure, if any.
pub(crate) fn take(slot: &FailureSlot) -> Option<Error> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

/// A reader that adds what it reads to a shared counter.
pub(crate) struct Counting<R> {
    pub(crate) inner: R,
    pub(crate) count: Arc<AtomicU64>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Counting<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        poll
    }
}

/// Chunks a local file's reader thread may read ahead of the import.
const READ_AHEAD: usize = 2;

/// A local file read on a thread of its own, [`CHUNK`] bytes a read, at most
/// [`READ_AHEAD`] chunks ahead of the reader: the thread ends at the end of the file, at a
/// read error (passed on), or when the reader is dropped.
pub(crate) fn file_reader(file: std::fs::File) -> std::io::Result<impl AsyncRead + Unpin + Send> {
    use std::io::Read as _;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(READ_AHEAD);
    std::thread::Builder::new()
        .name("pgtide-import-read".into())
        .spawn(move || {
            let mut file = file;
            loop {
                let mut buf = Vec::with_capacity(CHUNK);
                match (&mut file).take(CHUNK as u64).read_to_end(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {
                        if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        })?;
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(StreamReader::new(Box::pin(chunks)))
}

/// Bytes buffered per uploaded part: above S3's 5 MiB minimum part size.
const PART: usize = 8 * 1024 * 1024;
/// Parts in flight at once: two keeps memory flat (about 3 parts) and the network busy.
const PARTS_IN_FLIGHT: usize = 2;

/// Where an export writes.
pub(crate) enum Output {
    Stdout(tokio::io::Stdout),
    Object(BufWriter),
    Gzip(GzipEncoder<BufWriter>),
}

impl Output {
    /// An upload to `path` in `store` (multipart once it outgrows one part).
    pub(crate) fn object(
        store: Arc<dyn object_store::ObjectStore>,
        path: object_store::path::Path,
        gzip: bool,
    ) -> Self {
        let upload =
            BufWriter::with_capacity(store, path, PART).with_max_concurrency(PARTS_IN_FLIGHT);
        if gzip {
            Self::Gzip(GzipEncoder::new(upload))
        } else {
            Self::Object(upload)
        }
    }

    /// Aborts the upload: the multipart upload's parts are deleted and no object appears.
    pub(crate) async fn abort(&mut self) -> object_store::Result<()> {
        match self {
            Self::Stdout(_) => Ok(()),
            Self::Object(w) => w.abort().await,
            Self::Gzip(w) => w.get_mut().abort().await,
        }
    }

    fn pinned(&mut self) -> Pin<&mut (dyn AsyncWrite + Unpin + Send)> {
        match self {
            Self::Stdout(w) => Pin::new(w),
            Self::Object(w) => Pin::new(w),
            Self::Gzip(w) => Pin::new(w),
        }
    }
}

/// The export sink: [`Output`] counting bytes and lines, keeping its first failure.
pub(crate) struct Sink {
    pub(crate) output: Output,
    pub(crate) url: String,
    pub(crate) failure: FailureSlot,
    pub(crate) bytes: u64,
    pub(crate) lines: u64,
    pub(crate) progress: Option<super::ProgressFn>,
    /// Set once shutdown (completing the upload) began: a completion that fails aborts the
    /// upload itself, and the writer may not be aborted again.
    pub(crate) shutting_down: bool,
}

impl Sink {
    fn check<T>(&self, poll: Poll<std::io::Result<T>>) -> Poll<std::io::Result<T>> {
        if let Poll::Ready(Err(e)) = &poll {
            record(&self.failure, &self.url, e);
        }
        poll
    }
}

impl AsyncWrite for Sink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = self.output.pinned().poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll {
            let n = *n;
            self.bytes += n as u64;
            self.lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            if let Some(progress) = &self.progress {
                progress(super::Progress {
                    bytes: self.bytes,
                    lines: self.lines,
                });
            }
        }
        self.check(poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = self.output.pinned().poll_flush(cx);
        self.check(poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.shutting_down = true;
        let poll = self.output.pinned().poll_shutdown(cx);
        self.check(poll)
    }
}
