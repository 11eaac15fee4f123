//! pgtide's own nullability over a corpus of queries (`tests/nullability/queries/`) and a
//! schema of our own (`schema.sql`, `data.sql`):
//!
//! - prepared on an empty database and on a populated, `ANALYZE`d one, the decisions are
//!   byte-identical and so are the generated types (only the hash of sqlx's own `.sqlx`
//!   bytes, whose plan-based `nullable` moves with statistics, may differ);
//! - run over data that makes every nullable column NULL, no column decided non-null is
//!   ever NULL, and fewer than 5 % of the columns that never are NULL come out nullable
//!   (each listed with its rule);
//! - the generated module itself, built offline in a scratch crate (sharing the scratch
//!   target of `codegen.rs`), runs every corpus function over that data without a decode
//!   error, and a decision forced wrong (`title` non-null) fails naming query and column;
//! - `--explain` output is pinned in `explain.txt` (`UPDATE_GOLDEN=1` rewrites it).

#[path = "nullability/run_generated.rs"]
mod run_generated;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use pgtide_codegen::Codegen;
use pgtide_codegen::nullability::store;
use sqlx::{Column, Executor, Row, ValueRef};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nullability")
}

/// `target/codegen-scratch/<name>` holding a copy of the corpus queries.
fn project(name: &str) -> (PathBuf, Codegen) {
    let dir = pgtide_testkit::workspace_root()
        .join("target/codegen-scratch")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("queries")).unwrap();
    for entry in std::fs::read_dir(fixtures().join("queries")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join("queries").join(entry.file_name())).unwrap();
    }
    let codegen = Codegen::new(
        dir.join("queries"),
        dir.join(".sqlx"),
        dir.join("src/queries"),
    );
    (dir, codegen)
}

async fn database(files: &[&str]) -> anyhow::Result<pgtide_testkit::TestDb> {
    let db = pgtide_testkit::TestDb::new().await?;
    let mut conn = db.connect().await?;
    for file in files {
        let sql = std::fs::read_to_string(fixtures().join(file))?;
        conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
            .await?;
    }
    Ok(db)
}

/// Generated code with the module manifest's hashes and module digest masked (each covers
/// sqlx's `.sqlx` bytes, whose plan-based `nullable` moves with statistics; the decisions
/// files are compared byte for byte above).
fn masked(codegen: &Codegen) -> Vec<(String, String)> {
    codegen
        .render()
        .unwrap()
        .into_iter()
        .map(|f| {
            let text: Vec<String> = f
                .contents
                .lines()
                .map(|line| match line.trim_start().strip_prefix('(') {
                    // `(20, "0123456789abcdef"),`: the module digest.
                    Some(entry) if line.starts_with("    (") && !line.starts_with("     ") => {
                        match entry.split('"').nth(1) {
                            Some(digest) if digest.len() == 16 => {
                                line.replace(digest, "<digest of the hashes>")
                            }
                            _ => line.to_owned(),
                        }
                    }
                    // `(offset, "Name 0123456789abcdef", "message"),`
                    Some(entry) if line.starts_with("        (") => {
                        let hash = entry.split('"').nth(1).and_then(|l| l.rsplit(' ').next());
                        match hash {
                            Some(hash) if hash.len() == 16 => {
                                line.replace(hash, "<hash of sqlx's bytes>")
                            }
                            _ => line.to_owned(),
                        }
                    }
                    _ => line.to_owned(),
                })
                .collect();
            (f.name, text.join("\n"))
        })
        .collect()
}

#[tokio::test]
async fn corpus_same_types_for_any_data_and_sound_over_the_data() -> anyhow::Result<()> {
    let empty = database(&["schema.sql"]).await?;
    let full = database(&["schema.sql", "data.sql"]).await?;
    let (dir_a, on_empty) = project("nullability-empty");
    let (dir_b, on_full) = project("nullability-full");
    on_empty.prepare(&empty.url()).await?;
    on_full.prepare(&full.url()).await?;

    // The decisions do not depend on the data or the statistics.
    let files = on_full.parse()?;
    let queries: Vec<_> = files
        .iter()
        .flat_map(|f| f.queries.iter().map(move |q| (f, q)))
        .collect();
    assert!(queries.len() >= 60, "{} queries", queries.len());
    for (_, q) in &queries {
        let name = store::file_name(&q.sql);
        let a = std::fs::read(dir_a.join(".sqlx").join(&name))?;
        let b = std::fs::read(dir_b.join(".sqlx").join(&name))?;
        assert!(
            a == b,
            "query `{}`: decisions differ between empty and populated",
            q.name
        );
    }
    assert_eq!(
        masked(&on_empty),
        masked(&on_full),
        "generated types differ"
    );

    // The generated functions, built and run over the populated, ANALYZEd data.
    run_generated_functions(&dir_b, &on_full, &full, queries.len()).await?;

    // The query.
    let generated = on_full.render()?;
    let corpus = &generated
        .iter()
        .find(|f| f.name == "corpus.rs")
        .unwrap()
        .contents;
    let row = corpus
        .split("pub struct ListUsersWithPostsRow {")
        .nth(1)
        .and_then(|s| s.split('}').next())
        .unwrap();
    assert!(row.contains("pub id: i64,"), "{row}");
    assert!(row.contains("pub email: String,"), "{row}");
    assert!(row.contains("pub title: Option<String>,"), "{row}");

    // Every decision holds over data that makes each nullable column NULL.
    let mut conn = full.connect().await?;
    let mut wrong = Vec::new();
    let mut never_null = 0;
    let mut needless = Vec::new();
    for (file, q) in &queries {
        let (decisions, _) = store::read(&dir_b.join(".sqlx"), &q.sql)?;
        let (sqlx_data, _) = pgtide_codegen::sqlx_data::read(&dir_b.join(".sqlx"), &q.sql)?;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(q.sql.clone()));
        let types = sqlx_data.describe["parameters"]["Left"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (param, ty) in q.params.iter().zip(types) {
            query = match (ty.as_str(), param.nullable) {
                (Some("Int8"), false) => query.bind(1_i64),
                (Some("Int8"), true) => query.bind(None::<i64>),
                (Some("Text"), false) => query.bind("%"),
                other => panic!("query `{}`: bind {other:?}", q.name),
            };
        }
        let mut tx = sqlx::Connection::begin(&mut conn).await?;
        let rows = query.fetch_all(&mut *tx).await?;
        tx.rollback().await?;
        assert!(!rows.is_empty(), "query `{}` returned no rows", q.name);
        for (i, col) in decisions.columns.iter().enumerate() {
            assert_eq!(rows[0].columns()[i].name(), col.name);
            let nulls = rows
                .iter()
                .filter(|r| r.try_get_raw(i).unwrap().is_null())
                .count();
            if nulls > 0 && !col.decision.nullable {
                wrong.push(format!("{} {}: {}", q.location(file), q.name, col.name));
            }
            if nulls == 0 && !col.decision.rule.text.starts_with("override") {
                never_null += 1;
                if col.decision.nullable {
                    needless.push(format!(
                        "{}.{}: {}",
                        q.name, col.name, col.decision.rule.text
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "decided non-null but NULL in the data: {wrong:#?}"
    );
    eprintln!(
        "{} of {never_null} never-NULL columns come out nullable:\n  {}",
        needless.len(),
        needless.join("\n  ")
    );
    assert!(
        needless.len() * 100 < never_null * 5,
        "{} of {never_null} never-NULL columns are nullable: {needless:#?}",
        needless.len()
    );

    // `--explain`, pinned.
    let explain = on_full.explain()?.to_string();
    let golden = fixtures().join("explain.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&golden, &explain)?;
    }
    let expected = std::fs::read_to_string(&golden)?;
    assert!(
        expected == explain,
        "explain differs; UPDATE_GOLDEN=1 rewrites it:\n{explain}"
    );
    assert!(explain.contains("title: nullable — right side of LEFT JOIN at queries/corpus.sql:3"));
    Ok(())
}

/// Generates the corpus module into the scratch crate at `dir`, plus `ListUsersWithPosts`
/// alone with its `title` decision forced non-null; builds the crate offline (one build, the
/// scratch target shared with `codegen.rs`) and runs both: every corpus function returns rows
/// without a decode error, the tampered one fails naming query and column.
async fn run_generated_functions(
    dir: &Path,
    codegen: &Codegen,
    db: &pgtide_testkit::TestDb,
    count: usize,
) -> anyhow::Result<()> {
    codegen.generate()?;

    let corpus_sql = std::fs::read_to_string(fixtures().join("queries/corpus.sql"))?;
    let block = corpus_sql
        .split("\n\n")
        .find(|b| b.starts_with("-- name: ListUsersWithPosts "))
        .expect("the issue's query is in the corpus");
    std::fs::create_dir_all(dir.join("tampered-queries"))?;
    std::fs::write(
        dir.join("tampered-queries/corpus.sql"),
        format!("{block}\n"),
    )?;
    let tampered_sqlx = dir.join("tampered-sqlx");
    let tampered = Codegen::new(
        dir.join("tampered-queries"),
        &tampered_sqlx,
        dir.join("src/tampered"),
    );
    tampered.prepare(&db.url()).await?;
    let sql = tampered.parse()?[0].queries[0].sql.clone();
    let (mut decisions, _) = store::read(&tampered_sqlx, &sql)?;
    let title = decisions
        .columns
        .iter_mut()
        .find(|c| c.name == "title")
        .expect("a title column");
    assert!(title.decision.nullable);
    title.decision.nullable = false;
    let forced = store::render(&sql, decisions.columns);
    std::fs::write(tampered_sqlx.join(store::file_name(&sql)), &forced)?;
    // Recorded as `prepare` would have recorded that decision (the module manifest), so
    // `gen` takes it.
    let file = &tampered.parse()?[0];
    let entry = std::fs::read(tampered_sqlx.join(pgtide_codegen::sqlx_data::file_name(&sql)))?;
    let hash = pgtide_codegen::manifest::query_hash(&entry, Some(forced.as_bytes()));
    std::fs::write(
        tampered_sqlx.join(pgtide_codegen::manifest::file_name(&file.module)),
        pgtide_codegen::manifest::render([(file.queries[0].name.as_str(), hash)]).text,
    )?;
    tampered.generate()?;

    support::write_crate(
        dir,
        &run_generated::main_rs(
            &codegen.parse()?,
            &dir.join(".sqlx"),
            &tampered.parse()?,
            &tampered_sqlx,
        ),
    );
    // Its own package name: `codegen.rs` builds `pgtide-scratch` into the same target
    // directory, possibly at the same time.
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)?;
    let renamed = text.replacen(
        "name = \"pgtide-scratch\"",
        "name = \"pgtide-scratch-nullability\"",
        1,
    );
    assert_ne!(renamed, text);
    std::fs::write(&manifest, renamed)?;
    let output = support::build(dir);
    assert!(
        output.status.success(),
        "offline build of the generated corpus failed:\n{}",
        support::stderr(&output)
    );
    let binary =
        support::root().join("target/codegen-scratch/target/debug/pgtide-scratch-nullability");
    let run = |mode: &str| {
        Command::new(&binary)
            .arg(mode)
            .env("PGTIDE_SCRATCH_URL", db.url())
            .output()
    };

    let corpus = run("corpus")?;
    let stdout = String::from_utf8_lossy(&corpus.stdout);
    assert!(
        corpus.status.success(),
        "generated functions failed over the data:\n{stdout}{}",
        support::stderr(&corpus)
    );
    assert!(
        stdout.contains(&format!(
            "{count} generated functions ran without a decode error"
        )),
        "{stdout}"
    );

    let wrong = run("tampered")?;
    let stdout = String::from_utf8_lossy(&wrong.stdout);
    assert!(
        !wrong.status.success(),
        "a NULL in a non-Option field must fail: {stdout}"
    );
    assert!(
        stdout.contains("query `ListUsersWithPosts`, column `title`: unexpected null"),
        "{stdout}{}",
        support::stderr(&wrong)
    );
    Ok(())
}
