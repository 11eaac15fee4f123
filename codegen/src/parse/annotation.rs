//! The `-- name: <Name> :<kind>` (or `/* name: <Name> :<kind> */`) line that starts a query.

use super::Cardinality;

pub(super) struct Header {
    pub(super) name: String,
    pub(super) cardinality: Cardinality,
    pub(super) doc: Vec<String>,
    pub(super) line: usize,
}

/// The kinds, as listed in messages.
const KINDS: &str = ":one, :opt, :many, :exec, :execrows, :execresult, :stream, :copyfrom, :batchexec, :batchone, :batchmany";

/// `-- name: X :kind` or `/* name: X :kind */` (both of sqlc's comment styles) → `X :kind`.
pub(super) fn annotation(line: &str) -> Option<&str> {
    let rest = match line.strip_prefix("--") {
        Some(rest) => rest,
        None => line.strip_prefix("/*")?.strip_suffix("*/")?,
    };
    rest.trim_start().strip_prefix("name:").map(str::trim)
}

pub(super) fn parse_header(rest: &str) -> Result<Header, String> {
    let mut words = rest.split_whitespace();
    let (Some(name), Some(kind), None) = (words.next(), words.next(), words.next()) else {
        return Err(format!(
            "annotation `name: {rest}` must be `-- name: <Name> :<kind>` with kind one of {KINDS}"
        ));
    };
    if kind == ":execlastid" {
        return Err(format!(
            "`:execlastid` of query `{name}` is MySQL only: PostgreSQL has no last insert id; \
             add `RETURNING <id column>` and use :one"
        ));
    }
    let cardinality = Cardinality::from_annotation(kind)
        .ok_or_else(|| format!("unknown kind `{kind}` for query `{name}`; use one of {KINDS}"))?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return Err(format!(
            "query name `{name}` must start with a letter and contain only letters, digits and `_`"
        ));
    }
    Ok(Header {
        name: name.to_owned(),
        cardinality,
        doc: Vec::new(),
        line: 0,
    })
}

#[cfg(test)]
mod tests {
    use crate::parse::{Cardinality, parse_file};

    #[test]
    fn unknown_kind_points_at_the_line() {
        let err = parse_file("q.sql", "-- name: Q :all\nSELECT 1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.sql:1: unknown kind `:all` for query `Q`; use one of :one, :opt, :many, :exec, :execrows, :execresult, :stream, :copyfrom, :batchexec, :batchone, :batchmany"
        );
    }

    #[test]
    fn block_comment_annotations_start_a_query() {
        let file = parse_file(
            "q.sql",
            "/* name: GetDate :one */\nSELECT now();\n  /*name: Bump :execresult*/\n-- Bumps.\nUPDATE t SET n = n + 1",
        )
        .unwrap();
        let kinds: Vec<_> = file
            .queries
            .iter()
            .map(|q| (q.name.as_str(), q.cardinality))
            .collect();
        assert_eq!(
            kinds,
            [
                ("GetDate", Cardinality::One),
                ("Bump", Cardinality::ExecResult)
            ]
        );
        assert_eq!(file.queries[0].sql, "SELECT now()");
        assert_eq!(file.queries[1].doc, ["Bumps."]);
        assert_eq!(file.queries[1].line, 3);
        // A block comment that is not one line, or not an annotation, stays SQL.
        let file = parse_file(
            "q.sql",
            "-- name: A :one\nSELECT 1 /* name: B :one */ + /*\nname: C :one */ 2",
        )
        .unwrap();
        assert_eq!(file.queries.len(), 1);
    }

    #[test]
    fn execlastid_is_refused_as_mysql_only() {
        let err = parse_file(
            "q.sql",
            "-- name: Add :execlastid\nINSERT INTO t DEFAULT VALUES",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.sql:1: `:execlastid` of query `Add` is MySQL only: PostgreSQL has no last insert id; \
             add `RETURNING <id column>` and use :one"
        );
    }
}
