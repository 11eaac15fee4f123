//! The progress line of `import` and `export` on stderr: bytes and lines so far, the rate,
//! and for an import of a local file of known size the ETA. Drawn at the first chunk, then
//! redrawn at most every 200 ms (`\r`, one line), and finished with the final counts on a
//! line of its own. `--progress auto` (the default) draws only when stderr is a terminal, so
//! a pipe or a file stays quiet; `always` and `never` force it.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Arg, ArgMatches};

/// The `--progress` argument.
pub fn arg() -> Arg {
    Arg::new("progress")
        .long("progress")
        .value_name("WHEN")
        .value_parser(["auto", "always", "never"])
        .default_value("auto")
        .help("show a progress line on stderr: auto (when stderr is a terminal), always, never")
}

/// Whether `--progress` asks for the line here.
pub fn wanted(m: &ArgMatches) -> bool {
    match m.get_one::<String>("progress").map(String::as_str) {
        Some("always") => true,
        Some("never") => false,
        _ => std::io::stderr().is_terminal(),
    }
}

/// The progress line's state.
#[derive(Debug)]
pub struct Progress {
    verb: &'static str,
    total: Option<u64>,
    started: Instant,
    last: Option<Instant>,
    bytes: u64,
    lines: u64,
}

impl Progress {
    /// A progress line for bytes `verb` ("read", "written"), of `total` bytes when known.
    pub fn new(verb: &'static str, total: Option<u64>) -> Self {
        Self {
            verb,
            total,
            started: Instant::now(),
            last: None,
            bytes: 0,
            lines: 0,
        }
    }

    /// The line as a callback for the library's progress option.
    pub fn shared(self) -> (Arc<Mutex<Self>>, pgtide::transfer::ProgressFn) {
        let shared = Arc::new(Mutex::new(self));
        let inner = Arc::clone(&shared);
        let callback: pgtide::transfer::ProgressFn = Arc::new(move |p| {
            if let Ok(mut bar) = inner.lock() {
                bar.update(p.bytes, p.lines);
            }
        });
        (shared, callback)
    }

    /// Records `bytes` and `lines` so far; redraws at the first call, then every 200 ms.
    pub fn update(&mut self, bytes: u64, lines: u64) {
        self.bytes = bytes;
        self.lines = lines;
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(200))
        {
            return;
        }
        self.last = Some(Instant::now());
        let line = self.line();
        let _ = write!(std::io::stderr(), "\r{line}\x1b[K");
    }

    /// Draws the final counts and ends the line.
    pub fn finish(&mut self) {
        let line = self.line();
        let _ = writeln!(std::io::stderr(), "\r{line}\x1b[K");
    }

    fn line(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let mib = self.bytes as f64 / (1024.0 * 1024.0);
        let rate = mib / secs;
        let mut line = format!(
            "{mib:.1} MiB {}, {} lines, {rate:.1} MiB/s, {:.0} lines/s",
            self.verb,
            self.lines,
            self.lines as f64 / secs
        );
        if let Some(total) = self.total.filter(|t| *t > 0) {
            let left = total.saturating_sub(self.bytes) as f64 / (1024.0 * 1024.0);
            let percent = (self.bytes as f64 / total as f64 * 100.0).min(100.0);
            line.push_str(&format!(", {percent:.0} %"));
            if rate > 0.0 {
                line.push_str(&format!(", ETA {:.0} s", left / rate));
            }
        }
        line
    }
}
