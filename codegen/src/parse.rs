//! Stage 1, no database: `queries/*.sql` text → [`QueryFile`]s.
//!
//! The format is sqlc's: `-- name: GetAuthor :one` starts a query, the comment lines right
//! after it are its documentation, and everything up to the next `-- name:` is its SQL.
//! Named parameters (`@name`, `@name?`, `sqlc.arg(name)`, `sqlc.narg(name)`) are rewritten to
//! `$N` here, so every later stage sees the SQL exactly as the server and `.sqlx` see it.
//!
//! ```
//! use pgtide_codegen::parse::{Cardinality, parse_file};
//!
//! let file = parse_file("queries/authors.sql", "\
//! -- name: GetAuthor :one
//! -- Fetch one author.
//! SELECT name FROM authors WHERE author_id = @author_id;
//! ").unwrap();
//! let query = &file.queries[0];
//! assert_eq!(query.fn_name, "get_author");
//! assert_eq!(query.cardinality, Cardinality::One);
//! assert_eq!(query.sql, "SELECT name FROM authors WHERE author_id = $1");
//! assert_eq!(query.params[0].name, "author_id");
//! assert_eq!(query.line, 1);
//! ```

use std::fmt;

use crate::names::{to_camel, to_snake};

/// One `.sql` file and its queries, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFile {
    /// The path as shown in messages and generated docs, e.g. `queries/authors.sql`.
    pub path: String,
    /// The Rust module generated for this file: the file stem in snake_case.
    pub module: String,
    /// The queries in the order they appear.
    pub queries: Vec<Query>,
}

/// One annotated query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The name as written after `-- name:`.
    pub name: String,
    /// The generated function's name (snake_case).
    pub fn_name: String,
    /// The stem of generated type names (CamelCase): `GetAuthorRow`, `GetAuthorParams`.
    pub type_name: String,
    /// What the generated function returns.
    pub cardinality: Cardinality,
    /// Comment lines after the `-- name:` line, without the `--` marker.
    pub doc: Vec<String>,
    /// The SQL sent to the server: trimmed, without a trailing `;`, parameters as `$N`.
    pub sql: String,
    /// Parameters by placeholder number: `params[i]` is `$(i + 1)`.
    pub params: Vec<Param>,
    /// 1-based line of the `-- name:` annotation.
    pub line: usize,
    /// 1-based line where the SQL starts (for positions in server errors).
    pub sql_line: usize,
    /// For `:copyfrom`: the table and columns the `INSERT` fills.
    pub copy: Option<CopyTarget>,
}

impl Query {
    /// `file:line` of this query, as shown in messages and generated docs.
    pub fn location(&self, file: &QueryFile) -> String {
        format!("{}:{}", file.path, self.line)
    }
}

/// What a generated function returns, from the annotation's `:kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cardinality {
    /// `:one` — exactly one row; none is `pgtide::Error::NotFound`.
    One,
    /// `:opt` — `Option<Row>`.
    Opt,
    /// `:many` — `Vec<Row>`.
    Many,
    /// `:exec` — `()`.
    Exec,
    /// `:execrows` — rows affected, `u64`.
    ExecRows,
    /// `:stream` — a stream of rows.
    Stream,
    /// `:copyfrom` — bulk insert via `COPY … FROM STDIN` from an iterator of params structs.
    CopyFrom,
}

impl Cardinality {
    /// Parses `:one`, `:opt`, … (with the colon).
    pub fn from_annotation(s: &str) -> Option<Self> {
        Some(match s {
            ":one" => Self::One,
            ":opt" => Self::Opt,
            ":many" => Self::Many,
            ":exec" => Self::Exec,
            ":execrows" => Self::ExecRows,
            ":stream" => Self::Stream,
            ":copyfrom" => Self::CopyFrom,
            _ => return None,
        })
    }

    /// The annotation, e.g. `:one`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::One => ":one",
            Self::Opt => ":opt",
            Self::Many => ":many",
            Self::Exec => ":exec",
            Self::ExecRows => ":execrows",
            Self::Stream => ":stream",
            Self::CopyFrom => ":copyfrom",
        }
    }

    /// Whether the generated function returns rows.
    pub fn returns_rows(self) -> bool {
        matches!(self, Self::One | Self::Opt | Self::Many | Self::Stream)
    }
}

/// One placeholder of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The Rust argument name (snake_case): the `@name`, or for `$N` the column it is compared
    /// with or inserted into, else `param_N`.
    pub name: String,
    /// Whether the argument is an `Option` (`@name?`, `sqlc.narg(name)`).
    pub nullable: bool,
}

/// The target of a `:copyfrom` query's `INSERT INTO table (columns) VALUES (…)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTarget {
    /// The table as written (possibly schema-qualified or quoted).
    pub table: String,
    /// The columns as written, in order.
    pub columns: Vec<String>,
}

impl CopyTarget {
    /// The `COPY` statement that loads this target in binary format.
    pub fn copy_sql(&self) -> String {
        format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            self.table,
            self.columns.join(", ")
        )
    }
}

/// A query file that cannot be parsed; points at `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct ParseError {
    /// The file, as given.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong and what to do.
    pub message: String,
}

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
            ("constant", format!("{konst}_SQLX")),
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

struct Header {
    name: String,
    cardinality: Cardinality,
    doc: Vec<String>,
    line: usize,
}

/// `-- name: X :kind` → `X :kind`.
fn annotation(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("--")?.trim_start();
    rest.strip_prefix("name:").map(str::trim)
}

fn parse_header(rest: &str) -> Result<Header, String> {
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
    })
}

struct Rewritten {
    sql: String,
    params: Vec<Param>,
}

/// Rewrites named parameters to `$N` (outside literals, quoted identifiers and comments) and
/// collects the parameters. Positional parameters get an empty name, filled in later.
fn rewrite_params(sql: &str) -> Result<Rewritten, String> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut params: Vec<Param> = Vec::new();
    let mut named = false;
    let mut positional = false;
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
            Some((name.to_owned(), nullable, 1 + len + usize::from(nullable)))
        } else if !prev_ident
            && rest
                .get(..5)
                .is_some_and(|h| h.eq_ignore_ascii_case("sqlc."))
        {
            sqlc_macro(rest)?
        } else {
            None
        };
        if let Some((name, nullable, len)) = found {
            named = true;
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
    Ok(Rewritten { sql: out, params })
}

/// `sqlc.arg(name)` / `sqlc.narg(name)` / `sqlc.arg('name')` at the start of `rest`.
fn sqlc_macro(rest: &str) -> Result<Option<(String, bool, usize)>, String> {
    let after = &rest[5..];
    let starts = |kw: &str| {
        after
            .get(..kw.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(kw))
    };
    let (nullable, after_kw) = if starts("narg(") {
        (true, &after[5..])
    } else if starts("arg(") {
        (false, &after[4..])
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
    Ok(Some((name.to_owned(), nullable, len)))
}

fn ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The length of the string literal, quoted identifier, comment or dollar-quoted body that
/// starts at byte `i` of `sql` (`i` on a char boundary), if one does.
fn literal_len(sql: &str, i: usize) -> Option<usize> {
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
fn lines_in_code(text: &str) -> Vec<bool> {
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

/// Names positional parameters after the column they are compared with (`col = $1`), else
/// `param_N`; `INSERT … (a, b) VALUES ($1, $2)` names them after the columns.
fn name_positional(sql: &str, params: &mut [Param]) {
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

fn insert_columns(sql: &str) -> Option<(Vec<String>, Vec<String>)> {
    insert_parts(sql).map(|(_, c, v)| (c, v))
}

fn copy_target(sql: &str, params: usize) -> Option<CopyTarget> {
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

impl fmt::Display for Cardinality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Query {
        let text = format!("-- name: Q :many\n{sql}\n");
        parse_file("q.sql", &text).unwrap().queries.remove(0)
    }

    #[test]
    fn named_params_are_numbered_by_first_use_and_reused() {
        let q = one("SELECT 1 WHERE a = @x AND b = @y? AND c = @x");
        assert_eq!(q.sql, "SELECT 1 WHERE a = $1 AND b = $2 AND c = $1");
        assert_eq!(q.params.len(), 2);
        assert!(!q.params[0].nullable);
        assert!(q.params[1].nullable);
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
    fn unknown_kind_points_at_the_line() {
        let err = parse_file("q.sql", "-- name: Q :all\nSELECT 1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.sql:1: unknown kind `:all` for query `Q`; use one of :one, :opt, :many, :exec, :execrows, :stream, :copyfrom"
        );
    }

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

    #[test]
    fn generated_item_clashes_name_both_queries() {
        let err = parse_file(
            "q.sql",
            "-- name: Move :one\nSELECT 1\n-- name: MoveSqlx :one\nSELECT 2",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.sql:3: query `MoveSqlx` makes constant `MOVE_SQLX`, as does query `Move` at q.sql:1; rename one"
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
