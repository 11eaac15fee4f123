//! A file's text → its queries: split at `-- name:` annotations (outside literals and
//! comments), doc comments collected, each query's SQL trimmed and its parameters rewritten,
//! and the items the queries would generate checked for clashes.

use super::annotation::{Header, annotation, parse_header};
use super::insert::copy_target;
use super::lexer::lines_in_code;
use super::params::{name_positional, rewrite_params};
use super::{Cardinality, Embed, ParseError, Query, QueryFile};
use crate::names::{to_camel, to_snake};

/// Parses one `.sql` file. `path` is used for messages, docs and the module name.
pub fn parse_file(path: &str, text: &str) -> Result<QueryFile, ParseError> {
    let err = |line: usize, message: String| ParseError {
        path: path.to_owned(),
        line,
        message,
    };
    let stem = path
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
        .trim_end_matches(".sql");
    let module = to_snake(stem);
    if module.is_empty()
        || !module.starts_with(|c: char| c.is_ascii_alphabetic())
        || crate::names::NOT_RAW.contains(&module.as_str())
    {
        return Err(err(
            1,
            format!("file name `{stem}` does not make a Rust module name; rename the file"),
        ));
    }

    let mut queries: Vec<Query> = Vec::new();
    let mut current: Option<(Header, Vec<String>, bool, usize)> = None;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let in_code = lines_in_code(text);
    let mut finish =
        |current: Option<(Header, Vec<String>, bool, usize)>| -> Result<(), ParseError> {
            if let Some((header, body, _, sql_line)) = current {
                queries.push(build_query(path, header, &body, sql_line)?);
            }
            Ok(())
        };
    for (i, raw) in lines.iter().enumerate() {
        let line_no = i + 1;
        let trimmed = raw.trim();
        if let Some(rest) = annotation(trimmed).filter(|_| in_code[i]) {
            finish(current.take())?;
            let header = parse_header(rest).map_err(|m| err(line_no, m))?;
            current = Some((
                Header {
                    line: line_no,
                    ..header
                },
                Vec::new(),
                true,
                line_no + 1,
            ));
            continue;
        }
        match current.as_mut() {
            None => {
                if !(trimmed.is_empty() || trimmed.starts_with("--")) {
                    return Err(err(
                        line_no,
                        "SQL before the first `-- name: <Name> :<kind>` annotation; \
                         annotate it, e.g. `-- name: GetAuthor :one`"
                            .into(),
                    ));
                }
            }
            Some((header, body, in_doc, sql_line)) => {
                if *in_doc {
                    if let Some(doc) = trimmed.strip_prefix("--") {
                        header
                            .doc
                            .push(doc.strip_prefix(' ').unwrap_or(doc).trim_end().into());
                        *sql_line = line_no + 1;
                        continue;
                    }
                    if trimmed.is_empty() && body.is_empty() {
                        *sql_line = line_no + 1;
                        continue;
                    }
                    *in_doc = false;
                }
                body.push(raw.trim_end().to_owned());
            }
        }
    }
    finish(current.take())?;

    // Every item a query generates, so two queries cannot make the same one.
    let mut seen: std::collections::HashMap<String, (&str, usize)> = Default::default();
    for q in &queries {
        if crate::names::NOT_RAW.contains(&q.fn_name.as_str()) {
            return Err(err(
                q.line,
                format!(
                    "query `{}` would make function `{}`, which Rust does not allow; rename it",
                    q.name, q.fn_name
                ),
            ));
        }
        let konst = q.fn_name.to_uppercase();
        let items = [
            ("function", q.fn_name.clone()),
            ("constant", konst),
            ("type", format!("{}Row", q.type_name)),
            ("type", format!("{}Params", q.type_name)),
        ];
        for (what, item) in items {
            if let Some((other, first)) = seen.insert(item.clone(), (&q.name, q.line)) {
                if other == q.name {
                    continue;
                }
                return Err(err(
                    q.line,
                    format!(
                        "query `{}` makes {what} `{item}`, as does query `{other}` at {path}:{first}; rename one",
                        q.name
                    ),
                ));
            }
        }
    }
    Ok(QueryFile {
        path: path.to_owned(),
        module,
        queries,
    })
}

fn build_query(
    path: &str,
    header: Header,
    body: &[String],
    sql_line: usize,
) -> Result<Query, ParseError> {
    let err = |message: String| ParseError {
        path: path.to_owned(),
        line: header.line,
        message,
    };
    let mut body = body;
    while body
        .last()
        .is_some_and(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
    {
        body = &body[..body.len() - 1];
    }
    let mut sql = body.join("\n");
    let trimmed_end = sql.trim_end().trim_end_matches(';').trim_end().len();
    sql.truncate(trimmed_end);
    let leading = sql.len() - sql.trim_start().len();
    let sql_line = sql_line + sql[..leading].matches('\n').count();
    let sql = sql.trim_start().to_owned();
    if sql.is_empty() {
        return Err(err(format!("query `{}` has no SQL", header.name)));
    }
    let rewritten =
        rewrite_params(&sql).map_err(|m| err(format!("query `{}`: {m}", header.name)))?;
    let mut params = rewritten.params;
    let copy = match header.cardinality {
        Cardinality::CopyFrom => {
            let target = copy_target(&rewritten.sql, params.len()).ok_or_else(|| {
                err(format!(
                    "query `{}` is :copyfrom, so its SQL must be \
                     `INSERT INTO <table> (<columns>) VALUES ($1, $2, …)` with one parameter per column",
                    header.name
                ))
            })?;
            for (param, column) in params.iter_mut().zip(&target.columns) {
                if param.name.is_empty() {
                    param.name = to_snake(column.trim_matches('"'));
                }
            }
            Some(target)
        }
        _ => None,
    };
    name_positional(&rewritten.sql, &mut params);
    let mut names = std::collections::HashSet::new();
    for param in &mut params {
        param.name = crate::names::escape_keyword(&param.name);
        let base = param.name.clone();
        let mut n = 2;
        while !names.insert(param.name.clone()) {
            param.name = format!("{base}_{n}");
            n += 1;
        }
    }
    Ok(Query {
        fn_name: to_snake(&header.name),
        type_name: to_camel(&header.name),
        name: header.name,
        cardinality: header.cardinality,
        doc: header.doc,
        sql: rewritten.sql,
        params,
        line: header.line,
        sql_line,
        copy,
        embeds: rewritten
            .embeds
            .into_iter()
            .map(|(table, line)| Embed {
                table,
                line: sql_line + line - 1,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::one;

    #[test]
    fn mixing_styles_is_an_error_with_the_line() {
        let err = parse_file("q.sql", "\n-- name: Q :one\nSELECT $1, @a").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(
            err.to_string()
                .starts_with("q.sql:2: query `Q`: mixes named"),
            "{err}"
        );
    }

    #[test]
    fn non_ascii_sql_does_not_panic() {
        let q = one("SELECT * FROM t WHERE name = 'Zoë' AND id = @id");
        assert_eq!(q.sql, "SELECT * FROM t WHERE name = 'Zoë' AND id = $1");
        let q = one("SELECT 'é'||$1");
        assert_eq!(q.params.len(), 1);
        let err = parse_file("q.sql", "-- name: Q :one\nSELECT sqlc.arg(é)").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("plain parameter name"), "{err}");
        let q = one("SELECT 1 FROM t WHERE é = $1 AND ö LIKE $2");
        assert_eq!(q.params[1].name, "param_2");
    }

    #[test]
    fn odd_input_never_panics() {
        let pieces = [
            "é",
            "Zoë",
            "'",
            "\"",
            "$",
            "$$",
            "$a$",
            "@",
            "@x",
            "@x?",
            "?",
            "?|",
            "--",
            "/*",
            "*/",
            "sqlc.",
            "sqlc.arg(",
            "sqlc.narg(é",
            "E'\\",
            "\\",
            "$1",
            "$0",
            "$99999999999",
            "\n",
            " ",
            ";",
            "(",
            ")",
            "=",
            "LIKE",
            "ILIKE",
            "<@",
            "日本",
            "\u{feff}",
            "-- name: X :one\n",
            "INSERT INTO t (a) VALUES (",
            "ß",
            "🦀",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..4000 {
            let mut sql = String::new();
            for _ in 0..(seed % 9) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                sql.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            for text in [
                format!("-- name: Q :one\nSELECT {sql}"),
                format!("-- name: Q :copyfrom\n{sql}"),
                sql.clone(),
            ] {
                let result = std::panic::catch_unwind(|| parse_file("q.sql", &text));
                assert!(result.is_ok(), "parse_file panicked on {text:?}");
            }
        }
    }

    #[test]
    fn annotations_inside_literals_and_comments_do_not_split() {
        for body in [
            "SELECT '\n-- name: Inner :one\n'",
            "SELECT 1 /*\n-- name: Inner :one\n*/",
            "SELECT $f$\n-- name: Inner :one\n$f$",
        ] {
            let file = parse_file("q.sql", &format!("-- name: Q :one\n{body}\n")).unwrap();
            assert_eq!(file.queries.len(), 1, "{body}");
            assert!(file.queries[0].sql.contains("Inner"));
        }
        let file = parse_file(
            "q.sql",
            "-- name: A :one\n-- it's\nSELECT 1;\n-- name: B :one\nSELECT 2",
        )
        .unwrap();
        assert_eq!(file.queries.len(), 2);
    }

    #[test]
    fn generated_item_clashes_name_both_queries() {
        let err = parse_file(
            "q.sql",
            "-- name: Move :one\nSELECT 1\n-- name: move :one\nSELECT 2",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.sql:3: query `move` makes function `move`, as does query `Move` at q.sql:1; rename one"
        );
        let err = parse_file(
            "q.sql",
            "-- name: A1 :one\nSELECT 1\n-- name: A_1 :one\nSELECT 2",
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("q.sql:3: query `A_1` makes"),
            "{err}"
        );
        assert!(err.to_string().contains("query `A1` at q.sql:1"), "{err}");
    }

    #[test]
    fn keywords_that_cannot_be_raw_are_rejected() {
        let err = parse_file("q.sql", "-- name: Self :one\nSELECT 1").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("q.sql:1: query `Self` would make function `self`"),
            "{err}"
        );
        let err = parse_file("queries/crate.sql", "-- name: A :one\nSELECT 1").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("queries/crate.sql:1: file name `crate`"),
            "{err}"
        );
        assert_eq!(
            parse_file("queries/type.sql", "-- name: Move :one\nSELECT 1")
                .unwrap()
                .queries[0]
                .fn_name,
            "move"
        );
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let file = parse_file("q.sql", "\u{feff}-- name: Q :one\nSELECT 1").unwrap();
        assert_eq!(file.queries[0].sql, "SELECT 1");
    }
}
