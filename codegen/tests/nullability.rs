//! pgtide's own nullability over a corpus of queries (`tests/nullability/queries/`) and a
//! schema of our own (`schema.sql`, `data.sql`):
//!
//! - prepared on an empty database and on a populated, `ANALYZE`d one, the decisions are
//!   byte-identical and so are the generated types (only the hash of sqlx's own `.sqlx`
//!   bytes, whose plan-based `nullable` moves with statistics, may differ);
//! - run over data that makes every nullable column NULL, no column decided non-null is
//!   ever NULL, and fewer than 5 % of the columns that never are NULL come out nullable
//!   (each listed with its rule);
//! - `--explain` output is pinned in `explain.txt` (`UPDATE_GOLDEN=1` rewrites it).

use std::path::{Path, PathBuf};

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
    let codegen = Codegen::new(dir.join("queries"), dir.join(".sqlx"), dir.join("out"));
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

/// Generated code with the staleness hash of sqlx's `.sqlx` bytes masked (the line after the
/// `include_bytes!` path of a `query-*.json` file).
fn masked(codegen: &Codegen) -> Vec<(String, String)> {
    codegen
        .render()
        .unwrap()
        .into_iter()
        .map(|f| {
            let mut text = Vec::new();
            let mut after_sqlx_path = false;
            for line in f.contents.lines() {
                let hash_line = line.trim_start().starts_with(")) == 0x");
                text.push(if after_sqlx_path && hash_line {
                    "<hash of sqlx's bytes>"
                } else {
                    line
                });
                after_sqlx_path = line.contains("/query-") && line.contains(".json\"");
            }
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
