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
///
/// For [`sqlx_macro_crate`], each shape's arguments as Rust (`None`: the shape sqlx's `query!`
/// cannot type without changing its SQL) and the call that runs it.
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

/// How sqlx's `query!` runs each shape of [`SHAPES`]: the function's arguments and the
/// fetch; `None` for the shape it cannot type unchanged (a PostgreSQL enum column and
/// parameter need an override in the SQL, which would be other SQL than the `.sqlx` entry's).
const MACRO_SHAPES: &[Option<(&str, &str)>] = &[
    Some(("author_id: i64", "fetch_one")),
    None,
    Some(("bio: Option<&str>, author_id: i64", "execute")),
    Some(("loan_id: i64", "fetch_optional")),
    Some(("min: i64", "fetch_all")),
];

/// The source of a library crate that runs the same queries as [`query_files`]`(n)` through
/// sqlx's own `query!` macro, one `async fn` each, as a sqlx user writes them: the other side
/// of the "`cargo check` of generated code vs `query!`" comparison. It builds offline from
/// the `.sqlx` entries `prepare` wrote for those queries (the SQL is the same text). Skips
/// the shape `query!` cannot type unchanged ([`MACRO_SHAPES`]); returns the source and the
/// number of queries in it.
pub fn sqlx_macro_crate(n: usize) -> (String, usize) {
    let mut src = String::from(
        "//! The synthetic queries through sqlx's `query!`, for timing the build.\n#![allow(dead_code)]\n\nuse sqlx::PgConnection;\n",
    );
    let mut count = 0;
    for (name, text) in query_files(n) {
        let file = crate::parse::parse_file(&name, &text).expect("synthetic queries parse");
        for (query, i) in file.queries.iter().zip(file_start(&name)..) {
            let Some((args, fetch)) = MACRO_SHAPES[i % SHAPES.len()] else {
                continue;
            };
            let names: Vec<&str> = query.params.iter().map(|p| p.name.as_str()).collect();
            let _ = writeln!(
                src,
                "\npub async fn {}(db: &mut PgConnection, {args}) -> Result<(), sqlx::Error> {{\n    sqlx::query!({:?}, {}).{fetch}(db).await?;\n    Ok(())\n}}",
                query.fn_name,
                query.sql,
                names.join(", ")
            );
            count += 1;
        }
    }
    (src, count)
}

/// Writes the two crates whose `cargo check` the codegen benchmarks compare, for `n` queries
/// whose `.sqlx` entries are in `sqlx_dir`:
/// `dir/crate` (package `pgtide-bench-<n>`, the generated modules go to `dir/crate/src/queries`)
/// and `dir/sqlx-crate` (package `pgtide-bench-sqlx-<n>`, [`sqlx_macro_crate`]), both with
/// `lock` as their lock file and `pgtide` (the workspace root) as the pgtide dependency.
/// Returns how many queries the `query!` crate holds.
pub fn write_check_crates(
    dir: &Path,
    n: usize,
    pgtide: &Path,
    lock: &Path,
) -> std::io::Result<usize> {
    let generated = dir.join("crate");
    std::fs::create_dir_all(generated.join("src/queries"))?;
    std::fs::write(
        generated.join("Cargo.toml"),
        format!(
            "[package]\nname = \"pgtide-bench-{n}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\npgtide = {{ path = {:?} }}\n\n[profile.dev]\ndebug = false\n\n[workspace]\n",
            pgtide.display().to_string()
        ),
    )?;
    std::fs::copy(lock, generated.join("Cargo.lock"))?;
    std::fs::write(
        generated.join("src/lib.rs"),
        "//! Generated queries, for timing the build.\n#![deny(warnings)]\npub mod queries;\n",
    )?;
    let macros = dir.join("sqlx-crate");
    std::fs::create_dir_all(macros.join("src"))?;
    std::fs::write(
        macros.join("Cargo.toml"),
        format!(
            "[package]\nname = \"pgtide-bench-sqlx-{n}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nsqlx = {{ version = \"=0.9.0\", default-features = false, features = [\"runtime-tokio\", \"postgres\", \"macros\", \"json\", \"uuid\", \"chrono\", \"rust_decimal\", \"ipnetwork\"] }}\n\n[profile.dev]\ndebug = false\n\n[workspace]\n"
        ),
    )?;
    std::fs::copy(lock, macros.join("Cargo.lock"))?;
    let (source, count) = sqlx_macro_crate(n);
    std::fs::write(macros.join("src/lib.rs"), source)?;
    Ok(count)
}

/// The number of the first query in the file `name` (`q002.sql` → 200).
fn file_start(name: &str) -> usize {
    let n: usize = name[1..4].parse().expect("q###.sql");
    n * PER_FILE
}

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
