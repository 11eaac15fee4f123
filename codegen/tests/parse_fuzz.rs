//! Bad input, generated: the SQL file parser never panics on any text, and every rejection
//! points at `file:line` inside the file with a message saying what is wrong.
//!
//! A fixed seed: the same cases on every run (the test prints how many ran); a longer run:
//! `PGTIDE_FUZZ_CASES=100000 cargo nextest run -p pgtide-codegen --test parse_fuzz`.

use pgtide_codegen::parse::parse_file;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRng, TestRunner};

/// Lines that look like a query file: annotations (right and wrong), SQL with parameters,
/// literals, comments (opened and never closed), dollar quotes, overrides; and any text.
fn file_text() -> impl Strategy<Value = String> {
    let line = prop::sample::select(vec![
        "-- name: GetAuthor :one",
        "-- name: list_books :many",
        "-- name: Add :exec",
        "-- name: Rows :execrows",
        "-- name: Load :copyfrom",
        "-- name: Stream :stream",
        "-- name: Batch :batch",
        "-- name: Bad :nope",
        "-- name: :one",
        "-- name: 1x :one",
        "-- name: type :opt",
        "-- name: GetAuthor :one",
        "-- name:",
        "-- A doc comment.",
        "SELECT author_id, name FROM authors WHERE author_id = $1;",
        "SELECT * FROM books WHERE title = @title AND author_id = @author_id;",
        "SELECT a AS \"a!\", b AS \"b?\", c AS \"c: i64\" FROM t;",
        "INSERT INTO authors (name, bio) VALUES ($1, $2);",
        "SELECT 'it''s -- not a comment', $2, $1, $999999999999999999999;",
        "SELECT $$ -- name: Hidden :one $$;",
        "SELECT $tag$ unclosed",
        "/* unclosed comment -- name: X :one",
        "*/",
        "'unclosed literal",
        "\"unclosed identifier",
        "@",
        "@@x",
        "$",
        "$0",
        ";",
        "",
        "   ",
        "\u{feff}",
        "ＳＥＬＥＣＴ １",
    ]);
    prop_oneof![
        6 => prop::collection::vec(line.clone(), 0..14).prop_map(|l| l.join("\n")),
        2 => prop::collection::vec((line, "[ -~]{0,10}"), 0..8)
            .prop_map(|l| l.into_iter().map(|(a, b)| format!("{a}{b}")).collect::<Vec<_>>().join("\n")),
        1 => any::<String>(),
    ]
}

#[test]
fn query_files_never_panic_and_every_rejection_points_at_a_line() {
    let cases = std::env::var("PGTIDE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let (accepted, rejected) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    runner
        .run(&file_text(), |text| {
            match parse_file("queries/fuzz.sql", &text) {
                Ok(_) => accepted.set(accepted.get() + 1),
                Err(err) => {
                    let lines = text.lines().count().max(1);
                    prop_assert_eq!(&err.path, "queries/fuzz.sql");
                    prop_assert!(
                        (1..=lines + 1).contains(&err.line),
                        "line {} outside the file's {} lines: {}",
                        err.line,
                        lines,
                        err
                    );
                    prop_assert!(!err.message.trim().is_empty());
                    let prefix = format!("queries/fuzz.sql:{}: ", err.line);
                    prop_assert!(err.to_string().starts_with(&prefix), "{}", err);
                    rejected.set(rejected.get() + 1);
                }
            }
            Ok(())
        })
        .unwrap();
    println!(
        "fuzz: query files: {} cases, {} accepted, {} rejected",
        accepted.get() + rejected.get(),
        accepted.get(),
        rejected.get()
    );
    assert!(
        accepted.get() > 0 && rejected.get() > 0,
        "both outcomes were exercised"
    );
}
