//! The one `INSERT` shape codegen reads: `INSERT INTO t (a, b) VALUES (x, y)`, to name
//! positional parameters after columns and to turn a `:copyfrom` query into a `COPY`.

use super::CopyTarget;

/// `INSERT INTO t (a, b) VALUES (x, y)` → (`[a, b]`, `[x, y]`), with the table name.
fn insert_parts(sql: &str) -> Option<(String, Vec<String>, Vec<String>)> {
    let mut rest = sql.trim();
    rest = strip_keyword(rest, "INSERT")?;
    rest = strip_keyword(rest, "INTO")?;
    let open = rest.find('(')?;
    let table = rest[..open].trim().to_owned();
    if table.is_empty() || table.contains(char::is_whitespace) {
        return None;
    }
    let close = open + rest[open..].find(')')?;
    let columns = split_list(&rest[open + 1..close]);
    rest = strip_keyword(&rest[close + 1..], "VALUES")?.trim_start();
    let inner = rest.strip_prefix('(')?;
    let close = inner.rfind(')')?;
    if !inner[close + 1..].trim().is_empty() {
        return None;
    }
    let values = split_list(&inner[..close]);
    Some((table, columns, values))
}

pub(super) fn insert_columns(sql: &str) -> Option<(Vec<String>, Vec<String>)> {
    insert_parts(sql).map(|(_, c, v)| (c, v))
}

pub(super) fn copy_target(sql: &str, params: usize) -> Option<CopyTarget> {
    let (table, columns, values) = insert_parts(sql)?;
    let expected: Vec<String> = (1..=params).map(|n| format!("${n}")).collect();
    (columns.len() == params && values == expected && params > 0)
        .then_some(CopyTarget { table, columns })
}

fn strip_keyword<'a>(s: &'a str, keyword: &str) -> Option<&'a str> {
    let s = s.trim_start();
    let head = s.get(..keyword.len())?;
    let next = s[keyword.len()..].chars().next();
    (head.eq_ignore_ascii_case(keyword)
        && next.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_'))
    .then(|| &s[keyword.len()..])
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::parse::parse_file;

    #[test]
    fn copyfrom_needs_a_plain_insert() {
        let q = parse_file(
            "q.sql",
            "-- name: CopyT :copyfrom\nINSERT INTO t (a, \"B\") VALUES (@a, @b);",
        )
        .unwrap()
        .queries
        .remove(0);
        assert_eq!(
            q.copy.unwrap().copy_sql(),
            "COPY t (a, \"B\") FROM STDIN (FORMAT binary)"
        );
        let err = parse_file(
            "q.sql",
            "-- name: CopyT :copyfrom\nINSERT INTO t (a) SELECT 1",
        )
        .unwrap_err();
        assert!(err.message.contains("INSERT INTO <table>"), "{err}");
    }
}
