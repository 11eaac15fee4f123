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

mod annotation;
mod file;
mod insert;
pub(crate) mod lexer;
mod params;

use std::fmt;

pub use file::parse_file;

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
    /// `sqlc.embed(table)` uses, in SQL order; each was rewritten to `table.*`.
    pub embeds: Vec<Embed>,
}

/// One `sqlc.embed(table)` of a query: its result columns (the `table.*` it stands for)
/// become one field holding a nested struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embed {
    /// The table (or alias) as written inside `sqlc.embed(…)`.
    pub table: String,
    /// 1-based line of the file the macro is on.
    pub line: usize,
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
    /// `:execresult` — sqlc's "the command's result"; on PostgreSQL that is the rows affected,
    /// `u64`, as for `:execrows`.
    ExecResult,
    /// `:stream` — a stream of rows.
    Stream,
    /// `:copyfrom` — bulk insert via `COPY … FROM STDIN` from an iterator of params structs.
    CopyFrom,
    /// `:batchexec` — the statement once per params struct, in one transaction; rows
    /// affected per item.
    BatchExec,
    /// `:batchone` — as `:batchexec`, one row per item (none is `NotFound`).
    BatchOne,
    /// `:batchmany` — as `:batchexec`, the rows of each item.
    BatchMany,
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
            ":execresult" => Self::ExecResult,
            ":stream" => Self::Stream,
            ":copyfrom" => Self::CopyFrom,
            ":batchexec" => Self::BatchExec,
            ":batchone" => Self::BatchOne,
            ":batchmany" => Self::BatchMany,
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
            Self::ExecResult => ":execresult",
            Self::Stream => ":stream",
            Self::CopyFrom => ":copyfrom",
            Self::BatchExec => ":batchexec",
            Self::BatchOne => ":batchone",
            Self::BatchMany => ":batchmany",
        }
    }

    /// Whether the generated function returns rows.
    pub fn returns_rows(self) -> bool {
        matches!(
            self,
            Self::One | Self::Opt | Self::Many | Self::Stream | Self::BatchOne | Self::BatchMany
        )
    }

    /// Whether this is one of the batch kinds.
    pub fn is_batch(self) -> bool {
        matches!(self, Self::BatchExec | Self::BatchOne | Self::BatchMany)
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

impl fmt::Display for Cardinality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses `-- name: Q :many` followed by `sql`; the one query it makes.
#[cfg(test)]
fn one(sql: &str) -> Query {
    let text = format!("-- name: Q :many\n{sql}\n");
    parse_file("q.sql", &text).unwrap().queries.remove(0)
}
