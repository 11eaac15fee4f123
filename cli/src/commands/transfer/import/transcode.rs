//! The file, read a chunk at a time and decoded to UTF-8 on the way (the BOM dropped), with
//! the bytes read and lines decoded counted for the progress line and the summary.

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;

use encoding_rs::{CoderResult, Decoder, Encoding};

use super::progress::Progress;

/// Bytes read from the file per chunk.
const CHUNK: usize = 64 * 1024;

/// A reader of UTF-8 over a reader of `encoding`. Malformed input becomes U+FFFD, as any
/// decoder of a text file does.
pub struct Transcoder<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    output: Vec<u8>,
    start: usize,
    done: bool,
    read: Rc<Cell<u64>>,
    lines: u64,
    progress: Progress,
}

impl<R: Read> Transcoder<R> {
    /// Decodes `inner` as `encoding` (a BOM of it, or of UTF-8/UTF-16, is removed).
    pub fn new(inner: R, encoding: &'static Encoding, progress: Progress) -> Self {
        Self {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            input: vec![0; CHUNK],
            output: Vec::with_capacity(CHUNK * 3 + 16),
            start: 0,
            done: false,
            read: Rc::new(Cell::new(0)),
            lines: 0,
            progress,
        }
    }

    /// The count of bytes read so far, readable after the transcoder is gone.
    pub fn counter(&self) -> Rc<Cell<u64>> {
        Rc::clone(&self.read)
    }

    /// Reads and decodes the next chunk into `output`.
    fn fill(&mut self) -> std::io::Result<()> {
        let n = self.inner.read(&mut self.input)?;
        let last = n == 0;
        self.read.set(self.read.get() + n as u64);
        self.output.clear();
        self.start = 0;
        let need = self
            .decoder
            .max_utf8_buffer_length(n)
            .unwrap_or(CHUNK * 3 + 16);
        self.output.resize(need, 0);
        let (result, _, written, _) =
            self.decoder
                .decode_to_utf8(&self.input[..n], &mut self.output, last);
        debug_assert_eq!(result, CoderResult::InputEmpty);
        self.output.truncate(written);
        self.lines += self.output.iter().filter(|&&b| b == b'\n').count() as u64;
        self.progress.update(self.read.get(), self.lines);
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for Transcoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.start == self.output.len() {
            if self.done {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.output.len() - self.start);
        buf[..n].copy_from_slice(&self.output[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_and_latin1_become_utf8() {
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "é,ü\n".encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        let mut out = String::new();
        Transcoder::new(&utf16[..], encoding_rs::UTF_16LE, Progress::new(false))
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "é,ü\n");
        let mut out = String::new();
        Transcoder::new(
            &b"caf\xE9\n"[..],
            encoding_rs::WINDOWS_1252,
            Progress::new(false),
        )
        .read_to_string(&mut out)
        .unwrap();
        assert_eq!(out, "café\n");
    }
}
