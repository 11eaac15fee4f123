//! Where SQL text is code and where it is a string literal, quoted identifier, comment or
//! dollar-quoted body: the one place that knows PostgreSQL's lexical rules, so no later step
//! rewrites a `@name` inside `'…'` or splits a file at a `-- name:` inside `/* … */`.

pub(crate) fn ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The length of the string literal, quoted identifier, comment or dollar-quoted body that
/// starts at byte `i` of `sql` (`i` on a char boundary), if one does.
pub(crate) fn literal_len(sql: &str, i: usize) -> Option<usize> {
    let bytes = sql.as_bytes();
    let b = bytes[i];
    let rest = &sql[i..];
    if b == b'\'' {
        let escapes =
            i > 0 && matches!(bytes[i - 1], b'e' | b'E') && (i < 2 || !ident_char(bytes[i - 2]));
        Some(quoted_len(rest, b'\'', escapes))
    } else if b == b'"' {
        Some(quoted_len(rest, b'"', false))
    } else if rest.starts_with("--") {
        Some(rest.find('\n').unwrap_or(rest.len()))
    } else if rest.starts_with("/*") {
        Some(block_comment_len(rest))
    } else if b == b'$' && (i == 0 || !ident_char(bytes[i - 1])) {
        dollar_quote_len(rest)
    } else {
        None
    }
}

/// For each line of `text`, whether it starts outside string literals, quoted identifiers,
/// block comments and dollar-quoted bodies (so a `-- name:` there is an annotation).
pub(super) fn lines_in_code(text: &str) -> Vec<bool> {
    let mut inside: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if let Some(len) = literal_len(text, i) {
            inside.push((i, i + len));
            i += len.max(1);
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut spans = inside.iter().peekable();
    for line in text.split('\n') {
        while spans.next_if(|&&(_, end)| end <= start).is_some() {}
        out.push(
            spans
                .peek()
                .is_none_or(|&&(s, e)| !(s < start && start < e)),
        );
        start += line.len() + 1;
    }
    out
}

fn quoted_len(s: &str, quote: u8, backslash_escapes: bool) -> usize {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        if backslash_escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    s.len()
}

fn block_comment_len(s: &str) -> usize {
    let mut depth = 0;
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with("/*") {
            depth += 1;
            i += 2;
        } else if s[i..].starts_with("*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += s[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    s.len()
}

/// `$tag$ … $tag$` (tag possibly empty); `None` when `s` does not start a dollar quote.
fn dollar_quote_len(s: &str) -> Option<usize> {
    let tag_len = s[1..]
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    if s[1..].starts_with(|c: char| c.is_ascii_digit())
        || s.as_bytes().get(1 + tag_len) != Some(&b'$')
    {
        return None;
    }
    let tag = &s[..tag_len + 2];
    let end = s[tag.len()..]
        .find(tag)
        .map_or(s.len(), |p| tag.len() + p + tag.len());
    Some(end)
}
