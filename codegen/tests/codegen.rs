//! The whole loop against the real server: `prepare` (describe, write `.sqlx`), `gen`
//! (offline), build the output in a scratch crate with `SQLX_OFFLINE=true` and no
//! `DATABASE_URL`, run every generated function, then prove that metadata prepared after
//! `gen` breaks the offline build with the query's name, and that metadata changed by
//! anything else fails `gen --check`.

mod support;

use std::process::Command;

use pgtide_codegen::Codegen;
use support::*;

#[tokio::test]
async fn prepare_gen_build_run_and_catch_stale_metadata() -> anyhow::Result<()> {
    let db = pgtide_testkit::TestDb::new().await?;
    let dir = scratch_dir("pipeline");
    copy_dir(&root().join("queries"), &dir.join("queries"));
    let codegen = Codegen::new(
        dir.join("queries"),
        dir.join(".sqlx"),
        dir.join("src/queries"),
    );

    // prepare: one sqlx-format file per query, byte-identical to the checked-in `.sqlx/`
    // (described against a fresh database of the same schema).
    let changes = codegen.prepare(&db.url()).await?;
    // 17 queries: a `.sqlx` entry and a nullability decisions file each; 3 module manifests.
    assert_eq!(changes.len(), 37, "{changes:?}");
    for change in &changes {
        let name = change.path().file_name().unwrap();
        let ours = std::fs::read_to_string(change.path())?;
        let checked_in = std::fs::read_to_string(root().join(".sqlx").join(name))?;
        assert_eq!(ours, checked_in, "{}", name.to_string_lossy());
    }
    // A second prepare changes nothing; a file of a query that no longer exists is removed.
    std::fs::write(dir.join(".sqlx/query-0000.json"), "{}")?;
    let again = codegen.prepare(&db.url()).await?;
    assert_eq!(again.len(), 1);
    assert!(
        matches!(&again[0], pgtide_codegen::Change::Removed(p) if p.ends_with("query-0000.json"))
    );

    // gen, then build offline and run every function against the database.
    codegen.generate()?;
    assert!(codegen.check()?.is_empty(), "gen is deterministic");
    for case in [
        "cardinalities",
        "params",
        "types",
        "sqlc_language",
        "schema_types",
        "batches",
        "embed",
        "type_overrides",
        "type_overrides_user",
    ] {
        let golden = root().join("codegen/tests/golden").join(case);
        copy_dir(
            &golden.join("expected"),
            &dir.join("golden").join(case).join("expected"),
        );
        copy_dir(
            &golden.join(".sqlx"),
            &dir.join("golden").join(case).join(".sqlx"),
        );
        if golden.join("schema.sql").exists() {
            std::fs::copy(
                golden.join("schema.sql"),
                dir.join("golden").join(case).join("schema.sql"),
            )?;
        }
    }
    write_crate(&dir, include_str!("fixtures/scratch_main.rs"));
    let output = build(&dir);
    assert!(
        output.status.success(),
        "offline build failed:\n{}",
        stderr(&output)
    );
    // Two empty databases: `migrations-fixtures/` applied by pgtide's `Pool::migrate` to one
    // and by sqlx's own `migrate!` to the other must record and create the same.
    let empty = EmptyDbs::create(&db, 2).await?;
    let server = db.server();
    let run = Command::new(binary())
        .env("PGTIDE_SCRATCH_URL", db.url())
        .env("PGTIDE_SCRATCH_HOST", &server.host)
        .env("PGTIDE_SCRATCH_PORT", server.port.to_string())
        .env("PGTIDE_SCRATCH_USER", &server.user)
        .env("PGTIDE_SCRATCH_PASSWORD", &server.password)
        .env("PGTIDE_SCRATCH_MIGRATE_DBS", empty.names.join(" "))
        .output()?;
    empty.drop_all().await?;
    assert!(
        run.status.success(),
        "scratch binary failed:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        stderr(&run)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("every generated function ran"));

    // A `.sqlx` entry or decisions file changed by anything but `prepare` (a hand edit,
    // another tool) disagrees with the manifest `prepare` wrote: `gen` and `gen --check`
    // refuse it, naming the query and `pgtide prepare` (the build does not read entries).
    let get_author_sql = codegen.parse()?[0].queries[1].sql.clone();
    for (file, from, to) in [
        (
            pgtide_codegen::nullability::store::file_name(&get_author_sql),
            "\"nullable\": true",
            "\"nullable\": false",
        ),
        (
            pgtide_codegen::sqlx_data::file_name(&get_author_sql),
            "true",
            "false",
        ),
    ] {
        let path = dir.join(".sqlx").join(&file);
        let original = std::fs::read_to_string(&path)?;
        let changed = original.replacen(from, to, 1);
        assert_ne!(changed, original);
        std::fs::write(&path, &changed)?;
        let err = codegen.check().unwrap_err().to_string();
        assert!(
            err.contains("authors.sql:9: query `GetAuthor`: its .sqlx entry or nullability decisions differ from what `pgtide prepare` recorded")
                && err.contains("pgtide prepare --queries"),
            "{file}: {err}"
        );
        std::fs::write(&path, &original)?;
    }
    assert!(codegen.check()?.is_empty());

    // A query added and prepared, gen not rerun: the manifest has a line the module does not
    // know, and the offline build fails naming the file.
    let authors = dir.join("queries/authors.sql");
    let original_authors = std::fs::read_to_string(&authors)?;
    std::fs::write(
        &authors,
        format!("{original_authors}\n-- name: CountAuthors :one\nSELECT count(*) FROM authors;\n"),
    )?;
    codegen.prepare(&db.url()).await?;
    let output = build(&dir);
    assert!(
        !output.status.success(),
        "an added query must fail the build"
    );
    let err = stderr(&output);
    assert!(
        err.contains("authors.sql: `pgtide prepare` recorded other queries than this module was generated from; run `pgtide gen`"),
        "{err}"
    );
    std::fs::write(&authors, &original_authors)?;
    codegen.prepare(&db.url()).await?;

    // Schema change + prepare, but no gen: GetAuthor's metadata changes (`created_at` is only
    // in its result) and the offline build fails naming the query.
    sqlx::raw_sql("ALTER TABLE authors ALTER COLUMN created_at TYPE timestamp")
        .execute(&mut db.connect().await?)
        .await?;
    let changes = codegen.prepare(&db.url()).await?;
    assert!(
        changes
            .iter()
            .any(|c| c.path().ends_with("pgtide-module-authors.txt")),
        "{changes:?}"
    );
    let output = build(&dir);
    assert!(
        !output.status.success(),
        "metadata prepared after gen must fail the build"
    );
    let err = stderr(&output);
    assert!(
        err.contains("query `GetAuthor` (")
            && err.contains("its .sqlx metadata changed since `pgtide gen`; run `pgtide gen`"),
        "{err}"
    );

    // The manifest disappears (its `.sql` file was removed and prepared, gen not rerun).
    let manifest = dir.join(".sqlx/pgtide-module-authors.txt");
    std::fs::remove_file(&manifest)?;
    let output = build(&dir);
    assert!(
        !output.status.success(),
        "a missing manifest must fail the build"
    );
    let err = stderr(&output);
    let snippet = err.split("help:").next().unwrap_or_default();
    assert!(
        snippet.contains("couldn't read") && snippet.contains("manifest of queries/authors.sql"),
        "{err}"
    );
    let get_author = dir
        .join(".sqlx")
        .join(pgtide_codegen::sqlx_data::file_name(&get_author_sql));
    std::fs::remove_file(&get_author)?;

    // And gen itself refuses, naming the query and the command to run.
    let err = codegen.check().unwrap_err().to_string();
    assert!(
        err.contains("authors.sql:9: query `GetAuthor`: no .sqlx entry"),
        "{err}"
    );
    assert!(err.contains("pgtide prepare --queries"), "{err}");
    Ok(())
}

/// Empty databases (named with the test prefix, so `cargo xtask test` drops leftovers).
struct EmptyDbs {
    admin: sqlx::PgConnection,
    names: Vec<String>,
}

impl EmptyDbs {
    async fn create(db: &pgtide_testkit::TestDb, n: usize) -> anyhow::Result<Self> {
        use sqlx::Connection as _;
        let mut admin = sqlx::PgConnection::connect(&db.server().url("postgres")).await?;
        let mut names = Vec::new();
        for i in 0..n {
            let name = format!("{}_empty_{i}", db.name());
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
                .execute(&mut admin)
                .await?;
            names.push(name);
        }
        Ok(Self { admin, names })
    }

    async fn drop_all(mut self) -> anyhow::Result<()> {
        for name in &self.names {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
            )))
            .execute(&mut self.admin)
            .await?;
        }
        Ok(())
    }
}
