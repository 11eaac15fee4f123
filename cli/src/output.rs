//! `--format text|json`: how a command prints its report on stdout.

use clap::{Arg, ArgMatches};

/// The report format of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned lines for people.
    Text,
    /// One JSON document, for scripts.
    Json,
}

/// The `--format text|json` flag every reporting command takes.
pub fn format_arg() -> Arg {
    Arg::new("format")
        .long("format")
        .value_name("FORMAT")
        .value_parser(["text", "json"])
        .default_value("text")
        .help("report format: text for people, json for scripts")
}

impl Format {
    /// The format chosen on the command line.
    pub fn from_matches(m: &ArgMatches) -> Self {
        match m.get_one::<String>("format").map(String::as_str) {
            Some("json") => Self::Json,
            _ => Self::Text,
        }
    }
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &serde_json::Value) {
    crate::outln!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// `println!` that stops quietly when stdout is closed (`pgtide config show | head`)
/// instead of panicking.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` that stops quietly when stdout is closed.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}
