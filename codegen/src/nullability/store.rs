//! Where pgtide's decisions live: `nullability-<sha256 of the SQL>.json` beside sqlx's
//! `query-<sha256 of the SQL>.json`, so the `.sqlx` files stay byte for byte sqlx's.
//!
//! The format (`format` is `pgtide-nullability/1`; pretty-printed JSON, one newline at the
//! end, written only by `prepare`):
//!
//! ```json
//! {
//!   "format": "pgtide-nullability/1",
//!   "query": "SELECT u.id, p.title FROM users u LEFT JOIN posts p ON p.user_id = u.id",
//!   "columns": [
//!     { "name": "id", "nullable": false, "rule": { "text": "`users.id` is NOT NULL" } },
//!     { "name": "title", "nullable": true, "rule": { "text": "right side of LEFT JOIN", "line": 1 } }
//!   ]
//! }
//! ```
//!
//! A query with `sqlc.embed(table)` also has `"embeds"`: per embed, in SQL order, the
//! `table` as written, its first result column `start`, each of its columns' own
//! `nullable` (constraints and proofs, not the outer join) and, when an outer join may
//! null-extend the table, `outer` (the rule). Other files have no `embeds` key.
//!
//! `columns` follows the query's result columns in order; `rule.line` is a line of the
//! query's SQL (1-based), shown as `file:line` by `--explain`. Generated code includes the
//! file's bytes in the same build-time staleness check as the `.sqlx` entry.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Decision;
use crate::sqlx_data::{self, ReadError};

/// The `format` field of files this version writes and reads.
pub const FORMAT: &str = "pgtide-nullability/1";

/// The decisions file name for `sql`: `nullability-<hex sha256>.json`.
pub fn file_name(sql: &str) -> String {
    format!("nullability-{}.json", sqlx_data::hash(sql))
}

/// One result column's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredColumn {
    /// The column's name as the server describes it (with any override suffix).
    pub name: String,
    /// The decision and its rule.
    #[serde(flatten)]
    pub decision: Decision,
}

/// The decisions of one query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryNullability {
    /// [`FORMAT`].
    pub format: String,
    /// The exact SQL.
    pub query: String,
    /// One entry per result column, in order.
    pub columns: Vec<StoredColumn>,
    /// Where each `sqlc.embed(table)` of the query lands, in SQL order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub embeds: Vec<StoredEmbed>,
}

/// One `sqlc.embed(table)`: the result columns it stands for and their nullability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEmbed {
    /// The table or alias as written inside `sqlc.embed(…)`.
    pub table: String,
    /// Its first result column (0-based).
    pub start: usize,
    /// Per column of the table, whether it can be NULL in a row the table contributed.
    pub nullable: Vec<bool>,
    /// Set when an outer join may null-extend the table (the embedded value is optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outer: Option<super::Rule>,
}

/// Renders the file for `sql` and its columns' decisions.
pub fn render(sql: &str, columns: Vec<StoredColumn>) -> String {
    render_with_embeds(sql, columns, Vec::new())
}

/// [`render`], with the query's `sqlc.embed` placements.
pub fn render_with_embeds(
    sql: &str,
    columns: Vec<StoredColumn>,
    embeds: Vec<StoredEmbed>,
) -> String {
    let data = QueryNullability {
        format: FORMAT.into(),
        query: sql.into(),
        columns,
        embeds,
    };
    let mut text = serde_json::to_string_pretty(&data).expect("decisions serialize");
    text.push('\n');
    text
}

impl sqlx_data::QueryFile for QueryNullability {
    fn query(&self) -> &str {
        &self.query
    }

    fn check_format(&self) -> Result<(), String> {
        if self.format == FORMAT {
            Ok(())
        } else {
            Err(format!(
                "format `{}`, this pgtide reads `{FORMAT}`",
                self.format
            ))
        }
    }
}

/// Reads the decisions for `sql` from `dir`, with the file's bytes (for the staleness check).
pub fn read(dir: &Path, sql: &str) -> Result<(QueryNullability, Vec<u8>), ReadError> {
    sqlx_data::read_checked(&dir.join(file_name(sql)), sql)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nullability::Rule;

    #[test]
    fn round_trip_and_refusals() {
        let dir = std::env::temp_dir().join(format!("pgtide-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sql = "SELECT 1 AS one";
        let columns = vec![StoredColumn {
            name: "one".into(),
            decision: Decision::non_null(Rule::at("a literal", Some(1))),
        }];
        let text = render(sql, columns.clone());
        assert!(text.ends_with("}\n"));
        assert!(text.contains("\"format\": \"pgtide-nullability/1\""));
        std::fs::write(dir.join(file_name(sql)), &text).unwrap();
        let (data, bytes) = read(&dir, sql).unwrap();
        assert_eq!(data.columns, columns);
        assert_eq!(bytes, text.as_bytes());
        // Other SQL, another format, a missing file: each refused with the path.
        assert!(matches!(read(&dir, "SELECT 2"), Err(ReadError::Missing(_))));
        std::fs::write(
            dir.join(file_name(sql)),
            text.replace("pgtide-nullability/1", "pgtide-nullability/9"),
        )
        .unwrap();
        let err = read(&dir, sql).unwrap_err().to_string();
        assert!(
            err.contains("this pgtide reads `pgtide-nullability/1`"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
