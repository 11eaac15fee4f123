//! `prepare` against the real server: every failing query is reported in one run, each at
//! its `file:line`, and nothing is written; `verify` notices a changed decisions file.

use pgtide_codegen::{Codegen, Error};
use sqlx::Executor;

#[tokio::test]
async fn prepare_reports_every_failure_writes_nothing_and_verify_checks_decisions()
-> anyhow::Result<()> {
    let db = pgtide_testkit::TestDb::new().await?;
    db.connect()
        .await?
        .execute("CREATE TABLE items (id bigint PRIMARY KEY, label text)")
        .await?;
    let dir = pgtide_testkit::workspace_root().join("target/codegen-scratch/prepare-errors");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("queries"))?;
    std::fs::write(
        dir.join("queries/a.sql"),
        "-- name: Good :many\nSELECT id, label FROM items;\n\n-- name: BadColumn :many\nSELECT id,\n  lable FROM items;\n",
    )?;
    std::fs::write(
        dir.join("queries/b.sql"),
        "-- name: BadTable :one\nSELECT id FROM itms WHERE id = @id;\n",
    )?;
    let codegen = Codegen::new(dir.join("queries"), dir.join(".sqlx"), dir.join("out"));

    let err = codegen.prepare(&db.url()).await.unwrap_err();
    assert!(matches!(err, Error::Prepare(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("2 queries failed to prepare; nothing was written"),
        "{message}"
    );
    assert!(
        message.contains("queries/a.sql:6: query `BadColumn`: column \"lable\" does not exist"),
        "{message}"
    );
    assert!(
        message.contains("queries/b.sql:2: query `BadTable`: relation \"itms\" does not exist"),
        "{message}"
    );
    assert!(
        !dir.join(".sqlx").exists(),
        "prepare wrote files despite failures"
    );

    // Fixed: both files per query and the file's module manifest, and verify is clean.
    std::fs::write(
        dir.join("queries/a.sql"),
        "-- name: Good :many\nSELECT id, label FROM items;\n",
    )?;
    std::fs::remove_file(dir.join("queries/b.sql"))?;
    let changes = codegen.prepare(&db.url()).await?;
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(codegen.verify(&db.url()).await?.is_empty());

    // A decisions file edited by hand (or stale after a schema change) is drift.
    let sql = &codegen.parse()?[0].queries[0].sql;
    let ours = dir
        .join(".sqlx")
        .join(pgtide_codegen::nullability::store::file_name(sql));
    let text = std::fs::read_to_string(&ours)?;
    std::fs::write(
        &ours,
        text.replacen("\"nullable\": false", "\"nullable\": true", 1),
    )?;
    let drift = codegen.verify(&db.url()).await?;
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(drift[0].name, "Good");
    Ok(())
}

/// `sqlc.embed(x)`: a table the query does not read, and an embed outside the outermost
/// select list, are each reported at the macro's `file:line`.
#[tokio::test]
async fn sqlc_embed_errors_name_file_line_and_the_table() -> anyhow::Result<()> {
    let db = pgtide_testkit::TestDb::new().await?;
    db.connect()
        .await?
        .execute("CREATE TABLE items (id bigint PRIMARY KEY, label text)")
        .await?;
    let dir = pgtide_testkit::workspace_root().join("target/codegen-scratch/prepare-embed");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("queries"))?;
    std::fs::write(
        dir.join("queries/e.sql"),
        "-- name: Unknown :many\nSELECT i.id,\n  sqlc.embed(unknown_table)\nFROM items i;\n\n\
         -- name: Nested :many\nSELECT s.*\nFROM (SELECT sqlc.embed(items) FROM items) s;\n",
    )?;
    let codegen = Codegen::new(dir.join("queries"), dir.join(".sqlx"), dir.join("out"));
    let message = codegen.prepare(&db.url()).await.unwrap_err().to_string();
    assert!(
        message.contains(
            "queries/e.sql:3: query `Unknown`: `sqlc.embed(unknown_table)` names no table or alias of the query's FROM clause"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "queries/e.sql:8: query `Nested`: pgtide cannot tell which result columns `sqlc.embed(items)` stands for: `items.*` is not in the outermost select list"
        ),
        "{message}"
    );
    assert!(!dir.join(".sqlx").exists());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
