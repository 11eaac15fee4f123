//! The file, read a chunk at a time and decoded to UTF-8 on the way (the BOM dropped), with
//! the bytes read and lines decoded counted for the progress line and the summary.

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;

use encoding_rs::{Decoder, DecoderResult, Encoding};

use super::progress::Progress;

/// Bytes read from the file per chunk.
const CHUNK: usize = 64 * 1024;

/// The longest line imported by default (`--max-line-mb`): PostgreSQL's `COPY` holds a whole
/// line (and a field cannot be streamed) in server memory, several times over.
pub const MAX_LINE: u64 = 16 * 1024 * 1024;

/// A reader of UTF-8 over a reader of `encoding`. Bytes that are not valid in `encoding` and
/// a line longer than the limit are errors naming the line (nothing is replaced or cut
/// silently; the import's transaction rolls back).
pub struct Transcoder<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    output: Vec<u8>,
    start: usize,
    done: bool,
    read: Rc<Cell<u64>>,
    lines: u64,
    /// Bytes of the current line decoded so far.
    line_len: u64,
    max_line: u64,
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
            line_len: 0,
            max_line: MAX_LINE,
            progress,
        }
    }

    /// Sets the longest line accepted, in bytes of UTF-8.
    pub fn max_line(mut self, bytes: u64) -> Self {
        self.max_line = bytes;
        self
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
            .max_utf8_buffer_length_without_replacement(n)
            .unwrap_or(CHUNK * 3 + 16);
        self.output.resize(need, 0);
        let (result, _, written) = self.decoder.decode_to_utf8_without_replacement(
            &self.input[..n],
            &mut self.output,
            last,
        );
        self.output.truncate(written);
        for &b in &self.output {
            if b == b'\n' {
                self.lines += 1;
                self.line_len = 0;
            } else {
                self.line_len += 1;
                if self.line_len > self.max_line {
                    return Err(invalid(format!(
                        "line {} is longer than {} MiB (a broken file, or a field too large \
                         to import: raise --max-line-mb)",
                        self.lines + 1,
                        self.max_line / (1024 * 1024)
                    )));
                }
            }
        }
        match result {
            DecoderResult::InputEmpty => {}
            DecoderResult::Malformed(..) => {
                return Err(invalid(format!(
                    "line {}: bytes that are not valid {} (pass --encoding with the file's \
                     encoding)",
                    self.lines + 1,
                    self.decoder.encoding().name()
                )));
            }
            DecoderResult::OutputFull => {
                return Err(invalid(
                    "decoding needed more room than it asked for".into(),
                ));
            }
        }
        self.progress.update(self.read.get(), self.lines);
        self.done = last;
        Ok(())
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
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
