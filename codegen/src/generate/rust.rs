//! Small pieces of Rust syntax the renderers share: string literals, doc comments and
//! rustfmt-style line breaking.

use std::fmt::Write as _;

/// Generated lines are broken where rustfmt would break them: past this width.
pub(super) const WIDTH: usize = 100;

/// A Rust string literal for `s`: raw when that reads better.
pub(super) fn string_literal(s: &str) -> String {
    if !s.contains(['"', '\\', '\n']) {
        return format!("\"{s}\"");
    }
    let mut hashes = String::from("#");
    while s.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{s}\"{hashes}")
}

/// Appends `text` as `///` doc lines at `indent` (an empty line as a bare `///`).
pub(super) fn doc_lines(s: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            let _ = writeln!(s, "{indent}///");
        } else {
            let _ = writeln!(s, "{indent}/// {line}");
        }
    }
}

/// `head(args)tail` on one line when it fits at `indent`, else one argument per line (as
/// rustfmt lays out a call or a signature). `tail` may start with `.await`, which then goes on
/// its own line after a broken call.
pub(super) fn call(indent: &str, head: &str, args: &[String], tail: &str) -> String {
    let one_line = format!("{head}({}){tail}", args.join(", "));
    let first_line_len = indent.len() + one_line.lines().next().map_or(0, str::len);
    if first_line_len <= WIDTH {
        return one_line;
    }
    let mut out = format!("{head}(\n");
    for arg in args {
        let _ = writeln!(out, "{indent}    {arg},");
    }
    out.push_str(indent);
    out.push(')');
    match tail.strip_prefix(".await") {
        Some(rest) => {
            let _ = write!(out, "\n{indent}.await{rest}");
        }
        None => out.push_str(tail),
    }
    out
}
