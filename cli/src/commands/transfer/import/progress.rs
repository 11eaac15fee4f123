//! The progress line (bytes read, lines, rate), on a terminal only: redrawn at most every 200 ms
//! on stderr, never written when stderr is a pipe or a file.

use std::io::Write;
use std::time::{Duration, Instant};

/// The progress line's state.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    started: Instant,
    last: Instant,
}

impl Progress {
    /// A progress line, drawn only when `enabled` (stderr is a terminal).
    pub fn new(enabled: bool) -> Self {
        let now = Instant::now();
        Self {
            enabled,
            started: now,
            last: now,
        }
    }

    /// Redraws the line for `bytes` read and `lines` decoded so far (at most every 200 ms).
    pub fn update(&mut self, bytes: u64, lines: u64) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let mib = bytes as f64 / (1024.0 * 1024.0);
        let _ = write!(
            std::io::stderr(),
            "\r{mib:.1} MiB read, {lines} lines, {:.1} MiB/s, {:.0} lines/s   ",
            mib / secs,
            lines as f64 / secs
        );
    }
}

/// Erases the progress line (on a terminal).
pub fn clear(enabled: bool) {
    if enabled {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}
