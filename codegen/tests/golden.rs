//! Golden tests per stage: `tests/golden/<case>/input.sql` is parsed (expected in
//! `parse.txt`) and generated from its checked-in `.sqlx/` (expected in `expected/`, the
//! warnings in `warnings.txt`).
//!
//! A case may have a `schema.sql`, applied after the test fixtures' migrations. A case
//! whose queries use `sqlc.embed` also keeps pgtide's nullability decisions files (they
//! place the embeds), and generates with them.
//!
//! A case may have a `types.txt` (`pg_type = RustType` lines): the `codegen.types` table
//! it is prepared and generated with.
//!
//! `UPDATE_GOLDEN=1 cargo nextest run -p pgtide-codegen --test golden` rewrites the
//! expectations, re-describing each case against a fresh test database for `.sqlx/`
//! (needs `cargo xtask db up`). Review the diff before committing it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pgtide_codegen::generate::{Decisions, GenOptions, Metadata, generate_with_warnings};
use pgtide_codegen::nullability::store;
use pgtide_codegen::overrides::{Derives, TypeOverrides};
use pgtide_codegen::parse::{QueryFile, parse_file};
use pgtide_codegen::{persist, prepare, sqlx_data};

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty());
    cases
}

fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1")
}

/// The case's `codegen.types` table (`types.txt`), empty when it has none.
fn types(case: &Path) -> TypeOverrides {
    let text = std::fs::read_to_string(case.join("types.txt")).unwrap_or_default();
    TypeOverrides::from_entries(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim())),
    )
    .unwrap()
}

/// The case's `derives.txt` (one trait per line), if any.
fn derives(case: &Path) -> Derives {
    let text = std::fs::read_to_string(case.join("derives.txt")).unwrap_or_default();
    Derives::from_list(text.lines().map(str::trim).filter(|l| !l.is_empty())).unwrap()
}

fn parsed(case: &Path) -> QueryFile {
    let text = std::fs::read_to_string(case.join("input.sql")).unwrap();
    parse_file("input.sql", &text).unwrap()
}

fn assert_golden(path: &Path, actual: &str) {
    if updating() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
    assert!(
        expected == actual,
        "{} differs from the output; run with UPDATE_GOLDEN=1 and review the diff\n--- actual ---\n{actual}",
        path.display()
    );
}

#[test]
fn parse_stage() {
    for case in cases() {
        assert_golden(&case.join("parse.txt"), &format!("{:#?}\n", parsed(&case)));
    }
}

#[tokio::test]
async fn gen_stage() {
    for case in cases() {
        let file = parsed(&case);
        let sqlx_dir = case.join(".sqlx");
        if updating() {
            let db = pgtide_testkit::TestDb::new().await.unwrap();
            let mut conn = prepare::connect(&db.url()).await.unwrap();
            if let Ok(schema) = std::fs::read_to_string(case.join("schema.sql")) {
                sqlx::raw_sql(sqlx::AssertSqlSafe(schema))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            let prepared = prepare::prepare(&mut conn, std::slice::from_ref(&file))
                .await
                .unwrap();
            let embeds = file.queries.iter().any(|q| !q.embeds.is_empty());
            let manifest = prepare::manifest(&file, &prepared, embeds);
            let files: Vec<_> = prepared
                .into_iter()
                .flat_map(|p| {
                    let decisions = embeds.then_some((p.nullability_file, p.nullability));
                    std::iter::once((p.file_name, p.contents)).chain(decisions)
                })
                .chain([manifest])
                .collect();
            let ours = |n: &str, _: &[u8]| {
                n.starts_with("query-")
                    || (embeds && n.starts_with("nullability-"))
                    || pgtide_codegen::manifest::is_manifest(n)
            };
            persist::sync_dir(&sqlx_dir, &files, ours, false).unwrap();
        }
        let mut metadata = BTreeMap::new();
        for query in &file.queries {
            let (mut data, bytes) = sqlx_data::read(&sqlx_dir, &query.sql).unwrap();
            let decisions = store::read(&sqlx_dir, &query.sql)
                .ok()
                .map(|(ours, bytes)| {
                    data.describe["nullable"] = ours
                        .columns
                        .iter()
                        .map(|c| serde_json::Value::Bool(c.decision.nullable))
                        .collect();
                    Decisions {
                        file_name: store::file_name(&query.sql),
                        bytes,
                        rules: ours
                            .columns
                            .into_iter()
                            .map(|c| c.decision.rule.text)
                            .collect(),
                        embeds: ours.embeds,
                    }
                });
            metadata.insert(query.sql.clone(), Metadata::new(data, bytes, decisions));
        }
        let types = types(&case);
        let derives = derives(&case);
        let options = GenOptions {
            sqlx_dir_from_out: "../.sqlx",
            regenerate_hint: "`pgtide prepare`",
            types: &types,
            derives: &derives,
        };
        let out = generate_with_warnings(std::slice::from_ref(&file), &metadata, options).unwrap();
        let warnings: String = out.warnings.iter().map(|w| format!("{w}\n")).collect();
        assert_golden(&case.join("warnings.txt"), &warnings);
        for generated in out.files {
            assert_golden(
                &case.join("expected").join(&generated.name),
                &generated.contents,
            );
        }
    }
}

/// A manifest in an older pgtide's format (no module digest in its header) makes `gen` ask
/// for `pgtide prepare`, instead of blaming a query or the query list.
#[test]
fn a_manifest_in_another_format_asks_for_prepare() {
    // The case that keeps its nullability decisions files, which `gen` needs.
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/embed");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("golden-manifest-format");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("queries")).unwrap();
    std::fs::create_dir_all(dir.join(".sqlx")).unwrap();
    std::fs::copy(case.join("input.sql"), dir.join("queries/input.sql")).unwrap();
    for entry in std::fs::read_dir(case.join(".sqlx")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(".sqlx").join(path.file_name().unwrap())).unwrap();
    }
    let codegen =
        pgtide_codegen::Codegen::new(dir.join("queries"), dir.join(".sqlx"), dir.join("out"));
    if let Err(e) = codegen.render() {
        panic!("the case generates as it is: {e}");
    }

    let manifest = dir.join(".sqlx/pgtide-module-input.txt");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let (header, lines) = text.split_once('\n').unwrap();
    assert!(
        header.starts_with(pgtide_codegen::manifest::FORMAT),
        "{header}"
    );
    let old = "# pgtide-manifest/1: what `pgtide prepare` recorded for each query of one .sql file; do not edit";
    std::fs::write(&manifest, format!("{old}\n{lines}")).unwrap();
    let err = codegen.render().unwrap_err().to_string();
    assert!(
        err.contains("the manifest is not in this pgtide's format")
            && err.contains("run `pgtide prepare"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
