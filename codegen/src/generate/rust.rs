//! Small pieces of Rust syntax the renderers share: string literals, doc comments and
//! rustfmt-style line breaking.

use std::fmt::Write as _;

/// Generated lines are broken where rustfmt would break them: past this width.
pub(super) const WIDTH: usize = 100;

/// A Rust string literal whose value is exactly `s`, whatever `s` holds: quotes,
/// backslashes, newlines and control characters are escaped (Rust's own `Debug` of a `str`
/// is valid literal syntax).
pub(super) fn str_lit(s: &str) -> String {
    format!("{s:?}")
}

/// `s` made safe to put inside a `//` or `///` comment line: a line break or other control
/// character (which would end the comment, or which rustc refuses in doc comments) is written
/// as its escape (`\n`); tabs stay.
pub(super) fn comment(s: &str) -> String {
    let unsafe_char = |c: char| c.is_control() && c != '\t';
    if !s.contains(unsafe_char) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| {
            if unsafe_char(c) {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `s` as Markdown inline code inside a comment: delimited by more backticks than it contains
/// (so a backtick in a type or label cannot end the span early).
pub(super) fn code(s: &str) -> String {
    let s = comment(s);
    let ticks = "`".repeat(longest_run(&s, '`') + 1);
    if s.starts_with('`') || s.ends_with('`') {
        format!("{ticks} {s} {ticks}")
    } else {
        format!("{ticks}{s}{ticks}")
    }
}

/// A Markdown code fence longer than any run of backticks in `text`, so no line of `text`
/// can close it (and turn what follows into a doctest).
pub(super) fn fence(text: &str) -> String {
    "`".repeat((longest_run(text, '`') + 1).max(3))
}

fn longest_run(s: &str, c: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for ch in s.chars() {
        if ch == c {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// A line of a user's doc comment made inert: leading indentation dropped (four spaces start
/// an indented code block, which rustdoc would run as a doctest) and a leading fence escaped
/// (a fenced block would be a doctest too).
pub(super) fn user_doc_line(line: &str) -> String {
    let line = comment(line.trim_start());
    if line.starts_with("```") || line.starts_with("~~~") {
        format!("\\{line}")
    } else {
        line
    }
}

/// Appends `text` as `///` doc lines at `indent` (an empty line as a bare `///`).
pub(super) fn doc_lines(s: &mut String, indent: &str, text: &str) {
    for line in text.split('\n') {
        let line = comment(line);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_leave_its_literal_comment_or_code_span() {
        assert_eq!(str_lit("a\"b\\\n\r"), r#""a\"b\\\n\r""#);
        assert_eq!(comment("a\nfn evil() {}\r"), "a\\nfn evil() {}\\r");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`"), "`` ` ``");
        assert_eq!(fence("x\n```\nfn main() {}"), "````");
        assert_eq!(fence("plain"), "```");
        assert_eq!(user_doc_line("    let x = 1;"), "let x = 1;");
        assert_eq!(user_doc_line("```rust"), "\\```rust");
    }
}
