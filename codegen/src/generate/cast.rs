//! The text casts a `codegen.types` entry of `"String"` needs (see [`crate::overrides`]):
//! the statement that runs, rewritten from the query's SQL. sqlx reads and sends every value
//! in binary, and checks a column's type before decoding, so a `tsvector` read as a `String`
//! must arrive as `text`, and a `String` sent for a `tsvector` must be cast by the server.

use std::fmt::Write as _;

use crate::parse::lexer::{ident_char, literal_len};

/// `sql` with `$n` replaced by `($n<cast>)` for each `params[n - 1]` cast, and, when a
/// column has a cast, wrapped so the column is read through it:
/// `WITH pgtide_cast (c1, c2) AS (\n<sql>\n)\nSELECT c1 AS "id", c2::text AS "doc" FROM pgtide_cast`.
/// Placeholders inside string literals, quoted identifiers, comments and dollar-quoted
/// bodies are left alone; column names are quoted identifiers.
pub(crate) fn with_casts(
    sql: &str,
    params: &[Option<String>],
    columns: &[(String, Option<String>)],
) -> String {
    if params
        .iter()
        .chain(columns.iter().map(|(_, c)| c))
        .all(Option::is_none)
    {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 64);
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < sql.len() {
        if let Some(len) = literal_len(sql, i) {
            let len = len.max(1);
            out.push_str(&sql[i..i + len]);
            i += len;
            continue;
        }
        if bytes[i] == b'$' && (i == 0 || !ident_char(bytes[i - 1])) {
            let digits = sql[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
            let number: Option<usize> = sql[i + 1..i + 1 + digits].parse().ok();
            if let Some(cast) = number
                .and_then(|n| n.checked_sub(1))
                .and_then(|n| params.get(n))
                .and_then(Option::as_ref)
            {
                let _ = write!(out, "({}{cast})", &sql[i..i + 1 + digits]);
                i += 1 + digits;
                continue;
            }
        }
        let ch = sql[i..].chars().next().expect("inside the string");
        out.push(ch);
        i += ch.len_utf8();
    }
    if columns.iter().all(|(_, cast)| cast.is_none()) {
        return out;
    }
    let names: Vec<String> = (1..=columns.len()).map(|n| format!("c{n}")).collect();
    let select: Vec<String> = columns
        .iter()
        .zip(&names)
        .map(|((name, cast), c)| {
            format!(
                "{c}{} AS \"{}\"",
                cast.as_deref().unwrap_or_default(),
                name.replace('"', "\"\"")
            )
        })
        .collect();
    format!(
        "WITH pgtide_cast ({}) AS (\n{out}\n)\nSELECT {} FROM pgtide_cast",
        names.join(", "),
        select.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_literals_get_their_cast() {
        let cast = Some("::text::\"tsvector\"".to_owned());
        let sql =
            "SELECT '$1', \"$1\", $$ $1 $$, a$1 FROM t WHERE d @@ $1 -- $1\nAND e = $2 OR $10";
        assert_eq!(
            with_casts(sql, &[cast.clone(), None], &[]),
            "SELECT '$1', \"$1\", $$ $1 $$, a$1 FROM t WHERE d @@ ($1::text::\"tsvector\") -- $1\nAND e = $2 OR $10"
        );
    }

    #[test]
    fn a_cast_column_wraps_the_query_and_keeps_names_and_order() {
        let columns = vec![
            ("id".to_owned(), None),
            ("doc \"x\"".to_owned(), Some("::text".to_owned())),
        ];
        assert_eq!(
            with_casts("SELECT id, doc FROM t -- last", &[], &columns),
            "WITH pgtide_cast (c1, c2) AS (\nSELECT id, doc FROM t -- last\n)\nSELECT c1 AS \"id\", c2::text AS \"doc \"\"x\"\"\" FROM pgtide_cast"
        );
    }
}
