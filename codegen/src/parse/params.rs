//! Parameters: named ones (`@name`, `@name?`, `sqlc.arg(name)`, `sqlc.narg(name)`) rewritten to
//! `$N`, and every parameter given a Rust name.

use super::Param;
use super::insert::insert_columns;
use super::lexer::{ident_char, literal_len};
use crate::names::to_snake;

pub(super) struct Rewritten {
    pub(super) sql: String,
    pub(super) params: Vec<Param>,
    /// `sqlc.embed(table)` uses: the table and the 1-based line of the SQL it is on.
    pub(super) embeds: Vec<(String, usize)>,
}

/// Rewrites named parameters to `$N` (outside literals, quoted identifiers and comments) and
/// collects the parameters. Positional parameters get an empty name, filled in later.
pub(super) fn rewrite_params(sql: &str) -> Result<Rewritten, String> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut params: Vec<Param> = Vec::new();
    let mut named = false;
    let mut positional = false;
    let mut embeds = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let rest = &sql[i..];
        // Literals, quoted identifiers and comments pass through untouched.
        if let Some(len) = literal_len(sql, i) {
            out.push_str(&rest[..len]);
            i += len;
            continue;
        }
        if b == b'$' && rest[1..].starts_with(|c: char| c.is_ascii_digit()) {
            let digits = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
            let n: usize = rest[1..1 + digits]
                .parse()
                .map_err(|_| format!("placeholder `{}` is out of range", &rest[..1 + digits]))?;
            if n == 0 || n > 65535 {
                return Err(format!("placeholder `${n}` is out of range; start at $1"));
            }
            positional = true;
            while params.len() < n {
                params.push(Param {
                    name: String::new(),
                    nullable: false,
                });
            }
            out.push_str(&rest[..1 + digits]);
            i += 1 + digits;
            continue;
        }
        let prev_ident = i > 0 && (ident_char(bytes[i - 1]) || bytes[i - 1] == b'.');
        if !prev_ident
            && rest
                .get(..11)
                .is_some_and(|h| h.eq_ignore_ascii_case("sqlc.embed("))
        {
            let (table, len) = sqlc_embed(rest)?;
            // sqlc's meaning: every column of the table, in order.
            out.push_str(&table);
            out.push_str(".*");
            embeds.push((table, sql[..i].matches('\n').count() + 1));
            i += len;
            continue;
        }
        let found = if b == b'@'
            && !prev_ident
            // `@@` and `<@` are operators, not a parameter.
            && (i == 0 || !matches!(bytes[i - 1], b'@' | b'<'))
            && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        {
            let len = rest[1..].bytes().take_while(|&c| ident_char(c)).count();
            let name = &rest[1..1 + len];
            // `@doc?` is nullable, but `@doc ?| …`, `@doc?& …` use the jsonb operators.
            let after = &rest[1 + len..];
            let nullable = after.starts_with('?')
                && !after[1..].starts_with(|c: char| "+-*/<>=~!@#%^&|`?".contains(c));
            Some((
                name.to_owned(),
                nullable,
                1 + len + usize::from(nullable),
                false,
            ))
        } else if !prev_ident
            && rest
                .get(..5)
                .is_some_and(|h| h.eq_ignore_ascii_case("sqlc."))
        {
            sqlc_macro(rest)?
        } else {
            None
        };
        if let Some((name, nullable, len, slice)) = found {
            named = true;
            if slice {
                in_list_to_array(&mut out);
            }
            let name = to_snake(&name);
            let index = match params.iter().position(|p| p.name == name) {
                Some(index) => {
                    params[index].nullable |= nullable;
                    index
                }
                None => {
                    params.push(Param { name, nullable });
                    params.len() - 1
                }
            };
            out.push('$');
            out.push_str(&(index + 1).to_string());
            i += len;
            continue;
        }
        let ch = rest.chars().next().unwrap_or_default();
        out.push(ch);
        i += ch.len_utf8();
    }
    if named && positional {
        return Err(
            "mixes named (`@name`) and positional (`$1`) parameters; use one style per query"
                .into(),
        );
    }
    Ok(Rewritten {
        sql: out,
        params,
        embeds,
    })
}

/// `sqlc.embed(table)` at the start of `rest`: the table (or alias) as SQL spells it, and
/// the macro's length. Only a plain or double-quoted identifier is accepted, so the rewrite
/// `table.*` cannot change the statement's structure.
fn sqlc_embed(rest: &str) -> Result<(String, usize), String> {
    let inner = &rest[11..];
    let close = inner
        .find(')')
        .ok_or_else(|| "unclosed `sqlc.embed(`; write `sqlc.embed(table)`".to_owned())?;
    let name = inner[..close].trim();
    let plain = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let quoted = name.len() > 2
        && name.starts_with('"')
        && name.ends_with('"')
        && !name[1..name.len() - 1].contains(['"', '\n', '\r']);
    if !(plain || quoted) {
        return Err(format!(
            "`sqlc.embed({})` needs one table name or alias, e.g. `sqlc.embed(authors)`",
            name.escape_debug()
        ));
    }
    Ok((name.to_owned(), 11 + close + 1))
}

/// `x IN (sqlc.slice(xs))` → `x = ANY($1)`, `NOT IN` → `<> ALL(`: with `out` ending in the
/// SQL before the macro, rewrites its `IN (` so the parameter is one array. Elsewhere (e.g.
/// already inside `= ANY(…)`) `out` is left alone.
fn in_list_to_array(out: &mut String) {
    let Some(before) = out.trim_end().strip_suffix('(') else {
        return;
    };
    let before = before.trim_end();
    let Some(in_at) = keyword_at_end(before, "IN") else {
        return;
    };
    let head = before[..in_at].trim_end();
    let (cut, replacement) = match keyword_at_end(head, "NOT") {
        Some(not_at) => (not_at, "<> ALL("),
        None => (in_at, "= ANY("),
    };
    out.truncate(cut);
    out.push_str(replacement);
}

/// Where `keyword` (any case, a whole word) ends `s`.
fn keyword_at_end(s: &str, keyword: &str) -> Option<usize> {
    let at = s.len().checked_sub(keyword.len())?;
    let word = s.get(at..)?;
    let boundary = s[..at]
        .chars()
        .next_back()
        .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
    (word.eq_ignore_ascii_case(keyword) && boundary).then_some(at)
}

/// `sqlc.arg(name)` / `sqlc.narg(name)` / `sqlc.slice(name)` / `sqlc.arg('name')` at the start
/// of `rest`: the name, whether it is nullable, the macro's length, and whether it is a slice.
fn sqlc_macro(rest: &str) -> Result<Option<(String, bool, usize, bool)>, String> {
    let after = &rest[5..];
    let starts = |kw: &str| {
        after
            .get(..kw.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(kw))
    };
    let (nullable, slice, after_kw) = if starts("narg(") {
        (true, false, &after[5..])
    } else if starts("arg(") {
        (false, false, &after[4..])
    } else if starts("slice(") {
        (false, true, &after[6..])
    } else {
        return Ok(None);
    };
    let close = after_kw
        .find(')')
        .ok_or_else(|| "unclosed `sqlc.arg(`; write `sqlc.arg(name)`".to_owned())?;
    let name = after_kw[..close].trim().trim_matches(['\'', '"']);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{}` needs a plain parameter name, e.g. `sqlc.arg(author_id)`",
            &rest[..rest.len() - after_kw.len() + close + 1]
        ));
    }
    let len = rest.len() - after_kw.len() + close + 1;
    Ok(Some((name.to_owned(), nullable, len, slice)))
}

/// Names positional parameters after the column they are compared with (`col = $1`), else
/// `param_N`; `INSERT … (a, b) VALUES ($1, $2)` names them after the columns.
pub(super) fn name_positional(sql: &str, params: &mut [Param]) {
    if params.iter().all(|p| !p.name.is_empty()) {
        return;
    }
    let insert_columns = insert_columns(sql);
    for (index, param) in params.iter_mut().enumerate() {
        if !param.name.is_empty() {
            continue;
        }
        let placeholder = format!("${}", index + 1);
        let from_insert = insert_columns.as_ref().and_then(|(cols, values)| {
            values
                .iter()
                .position(|v| v == &placeholder)
                .and_then(|i| cols.get(i))
                .map(|c| to_snake(c.trim_matches('"')))
        });
        param.name = from_insert
            .or_else(|| compared_column(sql, &placeholder))
            .unwrap_or_else(|| format!("param_{}", index + 1));
    }
}

/// The identifier before `= $N` (or `<`, `>`, `<=`, `>=`, `<>`, `!=`, `LIKE`, `ILIKE`).
fn compared_column(sql: &str, placeholder: &str) -> Option<String> {
    let mut search = 0;
    while let Some(pos) = sql[search..].find(placeholder) {
        let at = search + pos;
        search = at + placeholder.len();
        let after = sql[at + placeholder.len()..].chars().next();
        if after.is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let before = sql[..at].trim_end();
        let before = ["<=", ">=", "<>", "!=", "=", "<", ">"]
            .iter()
            .find_map(|op| before.strip_suffix(op))
            .or_else(|| {
                ["ILIKE", "LIKE"].iter().find_map(|op| {
                    let b = before.len().checked_sub(op.len())?;
                    before
                        .get(b..)?
                        .eq_ignore_ascii_case(op)
                        .then(|| &before[..b])
                })
            })?
            .trim_end();
        let ident: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if !ident.is_empty() && !ident.starts_with(|c: char| c.is_ascii_digit()) {
            return Some(to_snake(&ident));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::parse::one;

    #[test]
    fn named_params_are_numbered_by_first_use_and_reused() {
        let q = one("SELECT 1 WHERE a = @x AND b = @y? AND c = @x");
        assert_eq!(q.sql, "SELECT 1 WHERE a = $1 AND b = $2 AND c = $1");
        assert_eq!(q.params.len(), 2);
        assert!(!q.params[0].nullable);
        assert!(q.params[1].nullable);
    }

    #[test]
    fn sqlc_embed_becomes_the_tables_star_and_is_recorded() {
        let q = one(
            "SELECT b.title,\n  sqlc.embed(a), sqlc.EMBED( \"Books\" )\nFROM books b JOIN authors a USING (author_id)\nWHERE 'sqlc.embed(x)' <> @t",
        );
        assert_eq!(
            q.sql,
            "SELECT b.title,\n  a.*, \"Books\".*\nFROM books b JOIN authors a USING (author_id)\nWHERE 'sqlc.embed(x)' <> $1"
        );
        let embeds: Vec<(&str, usize)> = q
            .embeds
            .iter()
            .map(|e| (e.table.as_str(), e.line))
            .collect();
        assert_eq!(embeds, [("a", 3), ("\"Books\"", 3)]);
        for bad in [
            "sqlc.embed(a.b)",
            "sqlc.embed()",
            "sqlc.embed(a",
            "sqlc.embed(\"a\"\"b\")",
        ] {
            let text = format!("-- name: Q :many\nSELECT {bad} FROM a");
            let err = crate::parse::parse_file("q.sql", &text).unwrap_err();
            assert_eq!(err.line, 1, "{err}");
            assert!(err.message.contains("sqlc.embed("), "{err}");
        }
    }

    #[test]
    fn sqlc_slice_makes_one_array_parameter() {
        let q = one(
            "SELECT 1 FROM t WHERE id IN (sqlc.slice(ids)) AND x not  in ( sqlc.slice('xs') ) \
             AND y = ANY(sqlc.slice(ys)) AND z = @ids",
        );
        assert_eq!(
            q.sql,
            "SELECT 1 FROM t WHERE id = ANY($1) AND x <> ALL($2 ) AND y = ANY($3) AND z = $1"
        );
        let names: Vec<_> = q.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["ids", "xs", "ys"]);
        // `IN` must be a word of its own: `JOIN (` is not `IN (`.
        let q = one("SELECT 1 FROM f(sqlc.slice(a)) JOIN (SELECT 1) s ON true");
        assert_eq!(q.sql, "SELECT 1 FROM f($1) JOIN (SELECT 1) s ON true");
    }

    #[test]
    fn sqlc_macros_are_accepted() {
        let q = one("SELECT 1 WHERE a = sqlc.arg(author_id) AND b = sqlc.narg('bio')");
        assert_eq!(q.sql, "SELECT 1 WHERE a = $1 AND b = $2");
        assert_eq!(q.params[0].name, "author_id");
        assert!(q.params[1].nullable);
    }

    #[test]
    fn literals_comments_and_operators_are_left_alone() {
        let sql = "SELECT '@no', \"@no\", $$ @no $$, E'\\'@no' -- @no\n, tags @> ARRAY['a'] /* @no */ FROM t WHERE x = @yes";
        let q = one(sql);
        assert_eq!(q.params.len(), 1);
        assert!(q.sql.ends_with("x = $1"));
        assert!(q.sql.contains("'@no'") && q.sql.contains("-- @no"));
    }

    #[test]
    fn positional_params_are_named_after_their_column() {
        let q = one("SELECT 1 FROM t WHERE author_id = $1 AND title ILIKE $2 AND $3 > 0");
        let names: Vec<_> = q.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["author_id", "title", "param_3"]);
    }

    #[test]
    fn jsonb_and_containment_operators_are_not_params() {
        let q = one("SELECT 1 FROM t WHERE @doc?| array['a'] AND @d2?& array['b'] AND @n? IS NULL");
        assert_eq!(
            q.sql,
            "SELECT 1 FROM t WHERE $1?| array['a'] AND $2?& array['b'] AND $3 IS NULL"
        );
        assert!(!q.params[0].nullable && !q.params[1].nullable && q.params[2].nullable);
        let q = one("SELECT 1 FROM t WHERE x<@arr AND y = @y");
        assert_eq!(q.sql, "SELECT 1 FROM t WHERE x<@arr AND y = $1");
    }
}
