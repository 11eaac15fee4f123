//! The `-- name: <Name> :<kind>` line that starts a query.

use super::Cardinality;

pub(super) struct Header {
    pub(super) name: String,
    pub(super) cardinality: Cardinality,
    pub(super) doc: Vec<String>,
    pub(super) line: usize,
}

/// `-- name: X :kind` → `X :kind`.
pub(super) fn annotation(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("--")?.trim_start();
    rest.strip_prefix("name:").map(str::trim)
}

pub(super) fn parse_header(rest: &str) -> Result<Header, String> {
    let mut words = rest.split_whitespace();
    let (Some(name), Some(kind), None) = (words.next(), words.next(), words.next()) else {
        return Err(format!(
            "annotation `-- name: {rest}` must be `-- name: <Name> :<kind>` with kind one of \
             :one, :opt, :many, :exec, :execrows, :stream, :copyfrom"
        ));
    };
    let cardinality = Cardinality::from_annotation(kind).ok_or_else(|| {
        format!(
            "unknown kind `{kind}` for query `{name}`; use one of \
             :one, :opt, :many, :exec, :execrows, :stream, :copyfrom"
        )
    })?;
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
    use crate::parse::parse_file;

    #[test]
    fn unknown_kind_points_at_the_line() {
        let err = parse_file("q.sql", "-- name: Q :all\nSELECT 1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.sql:1: unknown kind `:all` for query `Q`; use one of :one, :opt, :many, :exec, :execrows, :stream, :copyfrom"
        );
    }
}
