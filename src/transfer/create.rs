//! `--create`: a `CREATE TABLE` with column types inferred from the sample rows, and the
//! check that an existing table's columns are the file's header.

use super::classify::column_class;

/// `CREATE TABLE "table" ("name" type, …)`: names from the header (sanitised, quoted), or
/// `column_1…`; each type the narrowest of integer, bigint, numeric, boolean, date,
/// timestamptz, uuid, json, text that every non-empty sample value of the column fits.
pub(crate) fn create_table(table: &str, header: Option<&[String]>, rows: &[Vec<String>]) -> String {
    let width = header
        .map(<[String]>::len)
        .into_iter()
        .chain(rows.iter().map(Vec::len))
        .max()
        .unwrap_or(1);
    let names = column_names(header, width);
    let columns: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let values = rows.iter().filter_map(|r| r.get(i)).map(String::as_str);
            format!("{} {}", ident(name), column_class(values).sql_type())
        })
        .collect();
    format!("CREATE TABLE {} ({})", ident(table), columns.join(", "))
}

/// The table's name for each header name (an exact match, else the one case-insensitive
/// match), or the differences: header names the table lacks and table columns the file
/// lacks.
pub(crate) fn match_columns(header: &[String], columns: &[String]) -> Result<Vec<String>, String> {
    let mut matched = Vec::new();
    let mut missing = Vec::new();
    for name in header {
        let name = name.trim();
        let found = columns.iter().find(|c| *c == name).or_else(|| {
            let mut ci = columns.iter().filter(|c| c.eq_ignore_ascii_case(name));
            match (ci.next(), ci.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            }
        });
        match found {
            Some(c) => matched.push(c.clone()),
            None => missing.push(format!("{name:?}")),
        }
    }
    let extra: Vec<String> = columns
        .iter()
        .filter(|c| !matched.contains(c))
        .map(|c| format!("{c:?}"))
        .collect();
    if missing.is_empty() && extra.is_empty() {
        return Ok(matched);
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("not in the table: {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        parts.push(format!("not in the file: {}", extra.join(", ")));
    }
    Err(parts.join("; "))
}

/// Header names made usable: trimmed, control characters dropped, at most 63 bytes, empty
/// ones `column_N`, repeats suffixed `_2`, `_3`….
fn column_names(header: Option<&[String]>, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(width);
    for i in 0..width {
        let raw = header.and_then(|h| h.get(i)).map_or("", |s| s.trim());
        let mut name: String = raw.chars().filter(|c| !c.is_control()).collect();
        while name.len() > 63 {
            name.pop();
        }
        if name.is_empty() {
            name = format!("column_{}", i + 1);
        }
        let base = name.clone();
        let mut n = 2;
        while out.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

/// `name` as a quoted identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('\0', "").replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_inferred_and_names_quoted() {
        let rows = vec![vec![
            "1".into(),
            "3000000000".into(),
            "1.5".into(),
            "t".into(),
            "2024-01-02".into(),
            "2024-01-02 10:00:00+00".into(),
            "0b7e7e52-4ac9-4e3c-9f6b-2c4b0ef7c3a1".into(),
            "{\"a\":1}".into(),
            "x".into(),
        ]];
        let header: Vec<String> = ["id", "big", "n", "b", "d", "ts", "u", "j", "we\"ird"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            create_table("t", Some(&header), &rows),
            r#"CREATE TABLE "t" ("id" integer, "big" bigint, "n" numeric, "b" boolean, "d" date, "ts" timestamptz, "u" uuid, "j" json, "we""ird" text)"#
        );
        assert_eq!(
            create_table("t", None, &[vec!["1".into(), String::new()]]),
            r#"CREATE TABLE "t" ("column_1" integer, "column_2" text)"#
        );
        assert_eq!(
            match_columns(&["a".into(), "c".into()], &["a".into(), "b".into()]),
            Err(r#"not in the table: "c"; not in the file: "b""#.into())
        );
    }
}
