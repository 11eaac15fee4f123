//! Identifier conventions: snake_case functions and fields, CamelCase types.

/// `GetAuthor`, `get_author`, `getAuthorByID` → `get_author`, `get_author`, `get_author_by_id`.
pub fn to_snake(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() {
                let prev = i.checked_sub(1).map(|j| chars[j]);
                let next = chars.get(i + 1);
                let boundary = prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                    || (prev.is_some_and(|p| p.is_ascii_uppercase())
                        && next.is_some_and(|n| n.is_ascii_lowercase()));
                if boundary && !out.ends_with('_') && !out.is_empty() {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// `get_author`, `GetAuthor`, `non-fiction` → `GetAuthor`, `GetAuthor`, `NonFiction`.
pub fn to_camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in to_snake(s).split('_').filter(|w| !w.is_empty()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield",
];

/// Names a generated function's arguments must not take: its executor argument and the
/// helpers a generated module imports by their short name (an argument would shadow them).
const TAKEN_BY_GENERATED_CODE: &[&str] = &[
    "db",
    "execute",
    "fetch_all",
    "fetch_one",
    "fetch_optional",
    "fetch_stream",
    "first_column",
];

/// Appends `_` to Rust keywords (`type` → `type_`) and to names generated code uses itself
/// (`db`, `fetch_one`) so the name is a plain identifier of its own, and prefixes names that
/// start with a digit.
pub fn escape_keyword(name: &str) -> String {
    if KEYWORDS.contains(&name) || TAKEN_BY_GENERATED_CODE.contains(&name) {
        format!("{name}_")
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name.to_owned()
    }
}

/// Keywords that cannot be raw identifiers either (`r#self` is not Rust).
pub const NOT_RAW: &[&str] = &["self", "Self", "crate", "super", "_"];

/// `move` → `r#move`: a keyword as a raw identifier, other names unchanged. For names that
/// are spelled in generated code as given (functions, modules); see [`NOT_RAW`].
pub fn raw_ident(name: &str) -> String {
    if KEYWORDS.contains(&name) && !NOT_RAW.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(to_snake("GetAuthor"), "get_author");
        assert_eq!(to_snake("get_author"), "get_author");
        assert_eq!(to_snake("getAuthorByID"), "get_author_by_id");
        assert_eq!(to_snake("HTTPServer2Go"), "http_server2_go");
        assert_eq!(to_camel("non-fiction"), "NonFiction");
        assert_eq!(to_camel("list_books_by_author"), "ListBooksByAuthor");
        assert_eq!(escape_keyword("type"), "type_");
        assert_eq!(raw_ident("move"), "r#move");
        assert_eq!(raw_ident("moves"), "moves");
    }
}
