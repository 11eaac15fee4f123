//! sqlx's offline query data: `.sqlx/query-<sha256 of the SQL>.json`.
//!
//! Written exactly as sqlx 0.9's macros write it (`sqlx-macros-core`, `query/data.rs`): a
//! pretty-printed JSON object with the fields `db_name`, `query`, `describe` and `hash`, in
//! that order, followed by one newline. `describe` is sqlx's own `Describe<Postgres>`
//! serialization, so sqlx's macros and `cargo sqlx prepare --check` read our files as theirs.
//!
//! Enum labels and domain base types travel inside `describe` (sqlx resolves custom types
//! when it describes a statement), so offline `gen` needs no file of its own next to these.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// sqlx's `Database::NAME` for PostgreSQL, the `db_name` field.
pub const DB_NAME: &str = "PostgreSQL";

/// The file name sqlx uses for `sql`: `query-<hex sha256>.json`.
pub fn file_name(sql: &str) -> String {
    format!("query-{}.json", hash(sql))
}

/// Lower-case hex SHA-256 of the SQL text, the `hash` field.
pub fn hash(sql: &str) -> String {
    let digest = Sha256::digest(sql.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    out
}

#[derive(Serialize)]
struct Out<'a, D: Serialize> {
    db_name: &'a str,
    query: &'a str,
    describe: &'a D,
    hash: String,
}

/// Renders the file contents for `sql` and its describe output, byte for byte as sqlx does.
pub fn render<D: Serialize>(sql: &str, describe: &D) -> String {
    let out = Out {
        db_name: DB_NAME,
        query: sql,
        describe,
        hash: hash(sql),
    };
    let mut text = serde_json::to_string_pretty(&out).expect("describe output serializes");
    text.push('\n');
    text
}

/// A `.sqlx` file as `gen` reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct QueryData {
    /// `PostgreSQL` for files pgtide can use.
    pub db_name: String,
    /// The exact SQL.
    pub query: String,
    /// sqlx's `Describe<Postgres>` as JSON; [`crate::typemap`] interprets it.
    pub describe: Value,
    /// SHA-256 of `query`.
    pub hash: String,
}

/// Reading a `.sqlx` file failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No file for this SQL: `prepare` has not run since the SQL changed.
    #[error("missing {0}")]
    Missing(String),
    /// The file exists but is not sqlx query data for this SQL.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// A JSON file stored beside the SQL it describes, named after that SQL's hash: sqlx's
/// `.sqlx` entries and pgtide's nullability decisions
/// ([`crate::nullability::store`]). [`read_checked`] reads either.
pub(crate) trait QueryFile: serde::de::DeserializeOwned {
    /// The exact SQL the file says it is for.
    fn query(&self) -> &str;
    /// `Err(what is wrong)` when the file is not of a format this pgtide reads.
    fn check_format(&self) -> Result<(), String>;
}

impl QueryFile for QueryData {
    fn query(&self) -> &str {
        &self.query
    }

    fn check_format(&self) -> Result<(), String> {
        if self.db_name == DB_NAME {
            Ok(())
        } else {
            Err(format!("holds data for {}, not {DB_NAME}", self.db_name))
        }
    }
}

/// Reads `path` as a [`QueryFile`] for `sql`: read, parse, check the format, check the file
/// is for this SQL (not a hash collision). Returns the file's bytes too (for the build-time
/// staleness hash). Every error names the file.
pub(crate) fn read_checked<T: QueryFile>(
    path: &Path,
    sql: &str,
) -> Result<(T, Vec<u8>), ReadError> {
    let shown = || path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReadError::Missing(shown()));
        }
        Err(e) => {
            return Err(ReadError::Invalid {
                path: shown(),
                message: e.to_string(),
            });
        }
    };
    let invalid = |message: String| ReadError::Invalid {
        path: shown(),
        message,
    };
    let data: T = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    data.check_format().map_err(invalid)?;
    if data.query() != sql {
        return Err(invalid("hash collision: the file is for other SQL".into()));
    }
    Ok((data, bytes))
}

/// Reads the `.sqlx` entry for `sql` from `dir`; returns its bytes too (for the build-time
/// staleness hash).
pub fn read(dir: &Path, sql: &str) -> Result<(QueryData, Vec<u8>), ReadError> {
    read_checked(&dir.join(file_name(sql)), sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_sqlx() {
        // Field order as in sqlx's `Describe` (a `serde_json::Value` would sort the keys).
        #[derive(Serialize)]
        struct Describe {
            columns: Vec<()>,
            parameters: Value,
            nullable: Vec<()>,
        }
        let describe = Describe {
            columns: vec![],
            parameters: serde_json::json!({"Left": []}),
            nullable: vec![],
        };
        let text = render("SELECT 1", &describe);
        let expected = "{\n  \"db_name\": \"PostgreSQL\",\n  \"query\": \"SELECT 1\",\n  \"describe\": {\n    \"columns\": [],\n    \"parameters\": {\n      \"Left\": []\n    },\n    \"nullable\": []\n  },\n  \"hash\": \"e004ebd5b5532a4b85984a62f8ad48a81aa3460c1ca07701f386135d72cdecf5\"\n}\n";
        assert_eq!(text, expected);
        assert_eq!(
            file_name("SELECT 1"),
            "query-e004ebd5b5532a4b85984a62f8ad48a81aa3460c1ca07701f386135d72cdecf5.json"
        );
    }

    #[test]
    fn read_refuses_other_databases_and_other_sql() {
        let dir = std::env::temp_dir().join(format!("pgtide-sqlx-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let describe =
            serde_json::json!({"columns": [], "parameters": {"Left": []}, "nullable": []});
        let text = render("SELECT 1", &describe);
        let path = dir.join(file_name("SELECT 1"));
        std::fs::write(&path, &text).unwrap();
        let (data, bytes) = read(&dir, "SELECT 1").unwrap();
        assert_eq!(
            (data.query.as_str(), bytes),
            ("SELECT 1", text.clone().into_bytes())
        );
        std::fs::write(&path, text.replace("\"PostgreSQL\"", "\"MySQL\"")).unwrap();
        let err = read(&dir, "SELECT 1").unwrap_err().to_string();
        assert!(
            err.contains("holds data for MySQL, not PostgreSQL"),
            "{err}"
        );
        assert!(err.contains(&path.display().to_string()), "{err}");
        // A file under this SQL's name that is for other SQL.
        std::fs::write(
            &path,
            text.replace("\"query\": \"SELECT 1\"", "\"query\": \"SELECT 2\""),
        )
        .unwrap();
        let err = read(&dir, "SELECT 1").unwrap_err().to_string();
        assert!(err.contains("the file is for other SQL"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
