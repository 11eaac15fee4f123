//! The scratch binary that runs the *generated* corpus functions (`src/queries/`) over the
//! populated database, and a copy of `ListUsersWithPosts` generated from a tampered decision
//! (`src/tampered/`, `title` forced non-null) that must fail: proof that a NULL arriving in a
//! non-`Option` field is caught and named.
//!
//! Each function runs in a transaction that is rolled back (the corpus has `INSERT`,
//! `UPDATE` and `DELETE … RETURNING`). The binary prints one line per failure,
//! ``query `Name`, column `col`: <decode error>`` for a decode error, and exits 1 if any.

use std::fmt::Write as _;
use std::path::Path;

use pgtide_codegen::names::raw_ident;
use pgtide_codegen::parse::QueryFile;

/// One generated call: the query, its result columns, and the Rust expression calling it on
/// `&mut *tx`.
struct Call {
    name: String,
    columns: Vec<String>,
    expr: String,
}

/// The calls of every query of `files`, under the module path `module` (`queries` or
/// `tampered`). Arguments: a non-null `bigint` is `1`, a nullable one `None`, `text` is `%`
/// (every corpus `text` parameter is a `LIKE` pattern).
fn calls(module: &str, files: &[QueryFile], sqlx_dir: &Path) -> Vec<Call> {
    let mut out = Vec::new();
    for file in files {
        for q in &file.queries {
            let (data, _) = pgtide_codegen::sqlx_data::read(sqlx_dir, &q.sql).unwrap();
            let (decisions, _) =
                pgtide_codegen::nullability::store::read(sqlx_dir, &q.sql).unwrap();
            let types = data.describe["parameters"]["Left"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(
                q.params.len() < 4,
                "query `{}`: a params struct; extend run_generated.rs",
                q.name
            );
            let mut args = vec!["&mut *tx".to_owned()];
            for (param, ty) in q.params.iter().zip(types) {
                args.push(
                    match (ty.as_str(), param.nullable) {
                        (Some("Int8"), false) => "1",
                        (Some("Int8"), true) => "None",
                        (Some("Text"), false) => "\"%\"",
                        other => panic!("query `{}`: argument {other:?}", q.name),
                    }
                    .to_owned(),
                );
            }
            out.push(Call {
                name: q.name.clone(),
                columns: decisions.columns.iter().map(|c| c.name.clone()).collect(),
                expr: format!(
                    "{module}::{}::{}({})",
                    raw_ident(&file.module),
                    raw_ident(&q.fn_name),
                    args.join(", ")
                ),
            });
        }
    }
    out
}

/// `src/main.rs` of the scratch crate: `<binary> corpus` runs every function of `corpus`,
/// `<binary> tampered` the tampered one.
pub fn main_rs(
    corpus: &[QueryFile],
    corpus_sqlx: &Path,
    tampered: &[QueryFile],
    tampered_sqlx: &Path,
) -> String {
    let mut s = String::from(
        r#"//! Written by `codegen/tests/nullability.rs`; runs generated functions.

#![deny(warnings)]

mod queries;
mod tampered;

use pgtide::sqlx::Connection as _;

/// `None` when the function returned rows without error, else what went wrong.
fn outcome(query: &str, columns: &[&str], result: pgtide::Result<usize>) -> Option<String> {
    match result {
        Ok(0) => Some(format!("query `{query}`: no rows")),
        Ok(_) => None,
        Err(e) => match e.as_sqlx() {
            Some(pgtide::sqlx::Error::ColumnDecode { index, source }) => {
                let column = index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| columns.get(i).copied())
                    .unwrap_or(index.as_str());
                Some(format!("query `{query}`, column `{column}`: {source}"))
            }
            _ => Some(format!("query `{query}`: {e}")),
        },
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url = std::env::var("PGTIDE_SCRATCH_URL").expect("PGTIDE_SCRATCH_URL is set");
    let mode = std::env::args().nth(1).expect("corpus or tampered");
    let mut conn = pgtide::sqlx::PgConnection::connect(&url).await.expect("connects");
    let mut failures: Vec<String> = Vec::new();
    let mut ran = 0;
"#,
    );
    for (mode, calls) in [
        ("corpus", calls("queries", corpus, corpus_sqlx)),
        ("tampered", calls("tampered", tampered, tampered_sqlx)),
    ] {
        let _ = writeln!(s, "    if mode == {mode:?} {{");
        for call in calls {
            let _ = write!(
                s,
                "        {{
            let mut tx = conn.begin().await.expect(\"begin\");
            let result = {}.await.map(|rows| rows.len());
            tx.rollback().await.expect(\"rollback\");
            failures.extend(outcome({:?}, &{:?}, result));
            ran += 1;
        }}
",
                call.expr, call.name, call.columns
            );
        }
        s.push_str("    }\n");
    }
    s.push_str(
        r#"    for failure in &failures {
        println!("{failure}");
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
    println!("{ran} generated functions ran without a decode error");
}
"#,
    );
    s
}
