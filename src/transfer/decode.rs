//! The import's byte stream: the sample, then the rest of the source, read a [`CHUNK`] at a
//! time and checked before it goes to `COPY`. UTF-8 input is validated in place and sent as
//! read (no copy; a character cut by a chunk's end waits for the next chunk); other encodings
//! are transcoded to UTF-8 by `encoding_rs`. Either way a byte that is not valid in the
//! encoding and a line longer than the limit are errors naming the line: nothing is replaced
//! or cut silently, and the import rolls back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_8};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::io::{FailureSlot, record};
use super::{Progress, ProgressFn};

/// Bytes read from the source per chunk, and so the most sent to `COPY` in one call.
pub(crate) const CHUNK: usize = 256 * 1024;

/// The byte order mark UTF-8 input may start with (dropped, as `encoding_rs` drops it).
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where the import reads from.
pub(crate) type Source = Box<dyn AsyncRead + Unpin + Send>;

/// What the decoding stream reports to.
pub(crate) struct Feed {
    pub(crate) url: String,
    /// The longest line accepted, in bytes of UTF-8 ([`ImportOptions::max_line_bytes`](super::ImportOptions::max_line_bytes)).
    pub(crate) max_line: u64,
    pub(crate) failure: FailureSlot,
    pub(crate) read: Arc<AtomicU64>,
    pub(crate) lines: Arc<AtomicU64>,
    pub(crate) progress: Option<ProgressFn>,
}

/// Newlines counted and the length of the line under way, checked against the limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lines {
    /// Newlines seen.
    pub(crate) count: u64,
    /// Bytes of the current line so far.
    len: u64,
    max: u64,
}

impl Lines {
    /// No lines yet; a line may hold at most `max` bytes.
    pub(crate) fn new(max: u64) -> Self {
        Self {
            count: 0,
            len: 0,
            max,
        }
    }

    /// Counts the lines of `bytes`; `Err` holds the (1-based) number of a line longer than
    /// the limit.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<(), u64> {
        let n = bytes.len() as u64;
        if self.len.saturating_add(n) <= self.max {
            // No line ending in or running through these bytes can pass the limit.
            match bytes.iter().rposition(|&b| b == b'\n') {
                None => self.len += n,
                Some(last) => {
                    self.count = self.count.saturating_add(newlines(&bytes[..last]) + 1);
                    self.len = (bytes.len() - last - 1) as u64;
                }
            }
            return Ok(());
        }
        for &b in bytes {
            if b == b'\n' {
                self.count = self.count.saturating_add(1);
                self.len = 0;
            } else {
                self.len += 1;
                if self.len > self.max {
                    return Err(self.count.saturating_add(1));
                }
            }
        }
        Ok(())
    }
}

/// How many `\n` bytes `bytes` holds (counted 255 bytes at a time into a byte, which the
/// compiler vectorises).
fn newlines(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(255);
    let mut total = 0u64;
    for chunk in &mut chunks {
        let in_chunk: u8 = chunk.iter().map(|&b| u8::from(b == b'\n')).sum();
        total += u64::from(in_chunk);
    }
    total + chunks.remainder().iter().filter(|&&b| b == b'\n').count() as u64
}

/// How the stream turns source bytes into UTF-8.
enum Mode {
    /// UTF-8 already: validated and sent as read. `carry` holds the start of a character
    /// the last chunk cut (at most 3 bytes); `first` is true until the BOM check is done.
    Utf8 { carry: Vec<u8>, first: bool },
    /// Transcoded to UTF-8.
    Transcode(Decoder),
}

struct State {
    sample: Option<Vec<u8>>,
    reader: Source,
    mode: Mode,
    done: bool,
    lines: Lines,
    feed: Feed,
}

/// Keeps a data error (bytes invalid in the encoding, a line too long) as the import's
/// failure and returns the I/O error that ends the `COPY`.
fn invalid(slot: &FailureSlot, message: String) -> std::io::Error {
    let mut kept = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if kept.is_none() {
        *kept = Some(super::Error::Invalid(message.clone()));
    }
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

impl State {
    /// The next chunk of raw bytes (the sample first) after what `prefix` holds, and
    /// whether the source is at its end.
    async fn read(&mut self, prefix: Vec<u8>) -> std::io::Result<(BytesMut, bool)> {
        if let Some(sample) = self.sample.take() {
            let mut buf = BytesMut::from(&prefix[..]);
            buf.extend_from_slice(&sample);
            return Ok((buf, false));
        }
        let mut buf = BytesMut::with_capacity(prefix.len() + CHUNK);
        buf.extend_from_slice(&prefix);
        let n = match self.reader.read_buf(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                record(&self.feed.failure, &self.feed.url, &e);
                return Err(e);
            }
        };
        Ok((buf, n == 0))
    }

    /// Counts the lines of `text`, failing on a line past the limit.
    fn count(&mut self, text: &[u8]) -> std::io::Result<()> {
        self.lines.feed(text).map_err(|line| {
            invalid(
                &self.feed.failure,
                format!(
                    "line {line} is longer than {} MiB (a broken file, or a field too large to \
                     import: raise the line limit, --max-line-mb)",
                    self.lines.max / (1024 * 1024)
                ),
            )
        })
    }

    /// The error for bytes not valid in the encoding, on the line after those counted.
    fn malformed(&self, encoding: &'static Encoding) -> std::io::Error {
        invalid(
            &self.feed.failure,
            format!(
                "line {}: bytes that are not valid {} (give the file's encoding, --encoding)",
                self.lines.count.saturating_add(1),
                encoding.name()
            ),
        )
    }

    /// The next chunk of UTF-8 to send (possibly empty), or `None` at the end.
    async fn next_chunk(&mut self) -> std::io::Result<Option<Bytes>> {
        if self.done {
            return Ok(None);
        }
        let prefix = match &mut self.mode {
            Mode::Utf8 { carry, .. } => std::mem::take(carry),
            Mode::Transcode(_) => Vec::new(),
        };
        let (mut raw, last) = self.read(prefix).await?;
        self.done = last;
        match &mut self.mode {
            Mode::Utf8 { carry, first } => {
                if std::mem::take(first) && raw.starts_with(UTF8_BOM) {
                    let _ = raw.split_to(UTF8_BOM.len());
                }
                let (valid, bad) = match std::str::from_utf8(&raw) {
                    Ok(_) => (raw.len(), false),
                    // A character cut by the chunk's end: the rest comes with the next read.
                    Err(e) if e.error_len().is_none() && !last => {
                        carry.extend_from_slice(&raw[e.valid_up_to()..]);
                        (e.valid_up_to(), false)
                    }
                    Err(e) => (e.valid_up_to(), true),
                };
                let text = raw.split_to(valid).freeze();
                self.count(&text)?;
                if bad {
                    return Err(self.malformed(UTF_8));
                }
                Ok(Some(text))
            }
            Mode::Transcode(decoder) => {
                let need = decoder
                    .max_utf8_buffer_length_without_replacement(raw.len())
                    .unwrap_or(raw.len() * 3 + 16);
                let mut out = vec![0; need];
                let (result, _, written) =
                    decoder.decode_to_utf8_without_replacement(&raw, &mut out, last);
                out.truncate(written);
                let encoding = decoder.encoding();
                self.count(&out)?;
                match result {
                    DecoderResult::InputEmpty => Ok(Some(Bytes::from(out))),
                    DecoderResult::Malformed(..) => Err(self.malformed(encoding)),
                    DecoderResult::OutputFull => Err(invalid(
                        &self.feed.failure,
                        "decoding needed more room than it asked for".into(),
                    )),
                }
            }
        }
    }
}

/// The sample, then the rest of `reader`, as UTF-8 (the BOM dropped), a chunk at a time, the
/// lines counted into `feed.lines` and reported to `feed.progress` after each chunk.
pub(crate) fn decoded(
    sample: Vec<u8>,
    reader: Source,
    encoding: &'static Encoding,
    feed: Feed,
) -> impl futures_core::Stream<Item = std::io::Result<Bytes>> + Send {
    let mode = if encoding == UTF_8 {
        Mode::Utf8 {
            carry: Vec::new(),
            first: true,
        }
    } else {
        Mode::Transcode(encoding.new_decoder_with_bom_removal())
    };
    let state = State {
        sample: Some(sample),
        reader,
        mode,
        done: false,
        lines: Lines::new(feed.max_line),
        feed,
    };
    futures_util::stream::try_unfold(state, |mut s| async move {
        loop {
            let Some(chunk) = s.next_chunk().await? else {
                return Ok(None);
            };
            s.feed.lines.store(s.lines.count, Ordering::Relaxed);
            if let Some(progress) = &s.feed.progress {
                progress(Progress {
                    bytes: s.feed.read.load(Ordering::Relaxed),
                    lines: s.lines.count,
                });
            }
            if !chunk.is_empty() {
                return Ok(Some((chunk, s)));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: every byte looked at in turn.
    fn slow(max: u64, chunks: &[&[u8]]) -> Result<(u64, u64), u64> {
        let (mut count, mut len) = (0u64, 0u64);
        for &b in chunks.concat().iter() {
            if b == b'\n' {
                count += 1;
                len = 0;
            } else {
                len += 1;
                if len > max {
                    return Err(count + 1);
                }
            }
        }
        Ok((count, len))
    }

    fn fast(max: u64, chunks: &[&[u8]]) -> Result<(u64, u64), u64> {
        let mut lines = Lines::new(max);
        for chunk in chunks {
            lines.feed(chunk)?;
        }
        Ok((lines.count, lines.len))
    }

    #[test]
    fn line_counts_and_limits_match_a_byte_by_byte_scan() {
        let long = [b'x'; 600];
        let many: Vec<u8> = (0..2000u32)
            .flat_map(|i| {
                let mut l = vec![b'a'; (i % 7) as usize];
                l.push(b'\n');
                l
            })
            .collect();
        let cases: Vec<Vec<&[u8]>> = vec![
            vec![b"a\nbb\nccc"],
            vec![b"a\nbb\n", b"ccc\n"],
            vec![&long, b"\n"],
            vec![b"12345", b"678", b"\n12"],
            vec![b"1234", b"5\n", &long[..4], b"5"],
            vec![&many, &many[..300]],
            vec![b"", b"\n\n\n"],
        ];
        for max in [4, 5, 8, 599, 600, 601, 10_000] {
            for case in &cases {
                assert_eq!(fast(max, case), slow(max, case), "max {max}, {case:?}");
            }
        }
    }

    #[test]
    fn newlines_are_counted_across_the_255_byte_blocks() {
        let bytes: Vec<u8> = (0..10_000u32)
            .map(|i| if i % 3 == 0 { b'\n' } else { b'z' })
            .collect();
        for end in [0, 1, 254, 255, 256, 510, 9_999, 10_000] {
            let want = bytes[..end].iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(newlines(&bytes[..end]), want, "first {end} bytes");
        }
    }
}
