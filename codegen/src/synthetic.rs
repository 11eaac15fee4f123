//! Synthetic query files for measuring codegen at scale: the one generator behind
//! `codegen/examples/bench.rs` and the codegen table of `cargo xtask bench`.
//!
//! Five query shapes over the fixture schema (`:one`, `:many`, `:exec`, `:opt`, `:stream`), each
//! made distinct by its number, 100 queries per file.
//!
//! ```
//! let files = pgtide_codegen::synthetic::query_files(205);
//! assert_eq!(files.len(), 3);
//! assert_eq!(files[2].0, "q002.sql");
//! assert!(files[0].1.starts_with("-- name: Query0 :one\n"));
//! assert_eq!(files[2].1.matches("-- name: ").count(), 5);
//! ```

use std::fmt::Write as _;
use std::path::Path;

/// Queries per file.
pub const PER_FILE: usize = 100;

/// Five query shapes over the fixture schema; `{i}` makes each query distinct.
const SHAPES: &[(&str, &str)] = &[
    (
        ":one",
        "SELECT author_id, name, email, bio, born, created_at FROM authors WHERE author_id = @author_id AND {i} > 0",
    ),
    (
        ":many",
        "SELECT book_id, title, genre, tags, price, metadata, published_at FROM books WHERE author_id = @author_id AND genre = @genre AND {i} > 0",
    ),
    (
        ":exec",
        "UPDATE authors SET bio = @bio? WHERE author_id = @author_id AND {i} > 0",
    ),
    (
        ":opt",
        "SELECT l.loan_id, l.client_addr, l.rating, b.title FROM loans l JOIN books b USING (book_id) WHERE l.loan_id = @loan_id AND {i} > 0",
    ),
    (
        ":stream",
        "SELECT name, value FROM counters WHERE value > @min AND {i} > 0",
    ),
];

/// `n` synthetic queries as `(file name, contents)`, [`PER_FILE`] per file, file names
/// `q000.sql`, `q001.sql`, … in order.
pub fn query_files(n: usize) -> Vec<(String, String)> {
    (0..n.div_ceil(PER_FILE))
        .map(|file| {
            let mut text = String::new();
            for i in file * PER_FILE..((file + 1) * PER_FILE).min(n) {
                let (kind, sql) = SHAPES[i % SHAPES.len()];
                let _ = writeln!(
                    text,
                    "-- name: Query{i} {kind}\n-- Synthetic query {i}.\n{};\n",
                    sql.replace("{i}", &i.to_string())
                );
            }
            (format!("q{file:03}.sql"), text)
        })
        .collect()
}

/// Writes [`query_files`]`(n)` into `dir` (created if missing).
pub fn write_queries(dir: &Path, n: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in query_files(n) {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}
