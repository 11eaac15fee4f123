//! `std::io` for COPY: a blocking reader as a stream of chunks, a blocking writer as an
//! `AsyncWrite`. Both block the calling thread, which is what a blocking caller asked for
//! (the sockets are driven by the runtime's worker thread meanwhile).

use std::io::{Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::copy::{CHUNK, CopyIn, CopyOut};
use crate::error::Result;
use crate::target::Target;

use super::runtime::Runtime;

/// `COPY … FROM STDIN` from `reader`, read [`CHUNK`] bytes at a time.
pub(crate) fn copy_in(
    rt: &Runtime,
    target: Target<'_>,
    copy: CopyIn,
    reader: impl Read,
) -> Result<u64> {
    let chunks = futures_util::stream::iter(Chunks { reader });
    rt.run(copy.from_stream(target, chunks))
}

/// `COPY … TO STDOUT` into `writer`.
pub(crate) fn copy_out(
    rt: &Runtime,
    target: Target<'_>,
    copy: CopyOut,
    writer: impl Write + Unpin,
) -> Result<u64> {
    rt.run(copy.to_writer(target, SyncWriter(writer)))
}

struct Chunks<R> {
    reader: R,
}

impl<R: Read> Iterator for Chunks<R> {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = vec![0; CHUNK];
        loop {
            return match self.reader.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some(Ok(buf))
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => Some(Err(e)),
            };
        }
    }
}

struct SyncWriter<W>(W);

impl<W: Write + Unpin> tokio::io::AsyncWrite for SyncWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.get_mut().0.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.get_mut().0.flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.get_mut().0.flush())
    }
}
