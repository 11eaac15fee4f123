//! `prepare` against the real server: every failing query is reported in one run, each at
//! its `file:line`, and nothing is written; `verify` notices a changed decisions file and a
//! changed or missing entry of a statement with the text casts of `codegen.types`.

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

/// `verify` describes the statements `gen` runs with the text casts of `codegen.types` as
/// `prepare` did: a cast statement's entry that no longer matches, or is missing, is drift,
/// though the query's own entry still matches.
#[tokio::test]
async fn verify_describes_the_cast_statements_of_codegen_types() -> anyhow::Result<()> {
    let db = pgtide_testkit::TestDb::new().await?;
    db.connect()
        .await?
        .execute("CREATE TABLE docs (id bigint PRIMARY KEY, body tsvector)")
        .await?;
    let dir = pgtide_testkit::workspace_root().join("target/codegen-scratch/verify-casts");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("queries"))?;
    std::fs::write(
        dir.join("queries/docs.sql"),
        "-- name: GetDoc :one\nSELECT id, body FROM docs WHERE id = @id;\n",
    )?;
    let types = pgtide_codegen::overrides::TypeOverrides::from_entries([("tsvector", "String")])?;
    let codegen =
        Codegen::new(dir.join("queries"), dir.join(".sqlx"), dir.join("out")).types(types);
    codegen.prepare(&db.url()).await?;
    assert!(codegen.verify(&db.url()).await?.is_empty());

    // The cast statement's entry: the `query-*.json` that is not the query's own.
    let own = pgtide_codegen::sqlx_data::file_name(&codegen.parse()?[0].queries[0].sql);
    let mut casts = Vec::new();
    for entry in std::fs::read_dir(dir.join(".sqlx"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with("query-") && name != own {
            casts.push(dir.join(".sqlx").join(name));
        }
    }
    assert_eq!(casts.len(), 1, "{casts:?}");
    let cast = &casts[0];
    let text = std::fs::read_to_string(cast)?;
    assert!(text.contains("::text"), "{text}");

    // Its described column type changed: drift of the cast statement, named as such.
    std::fs::write(cast, text.replacen("\"Text\"", "\"Varchar\"", 1))?;
    let drift = codegen.verify(&db.url()).await?;
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(drift[0].name, "GetDoc");
    assert!(drift[0].cast_statement && !drift[0].missing, "{drift:?}");
    assert_eq!(&drift[0].file, cast);
    let message = drift[0].to_string();
    assert!(
        message.contains(
            "docs.sql:1: query `GetDoc`: its statement with the text casts of `codegen.types` no longer matches its .sqlx entry"
        ),
        "{message}"
    );

    // Removed: missing.
    std::fs::remove_file(cast)?;
    let drift = codegen.verify(&db.url()).await?;
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].cast_statement && drift[0].missing, "{drift:?}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
