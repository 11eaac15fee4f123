//! The whole loop against the real server: `prepare` (describe, write `.sqlx`), `gen`
//! (offline), build the output in a scratch crate with `SQLX_OFFLINE=true` and no
//! `DATABASE_URL`, run every generated function, then prove that a changed or missing
//! `.sqlx` entry breaks the offline build with the query's name.

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
    // 17 queries: a `.sqlx` entry and a nullability decisions file each.
    assert_eq!(changes.len(), 34, "{changes:?}");
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

    // pgtide's nullability decisions are checked the same way: a changed decisions file
    // (a schema change that only pgtide's analysis sees) fails the offline build.
    let decisions = dir
        .join(".sqlx")
        .join(pgtide_codegen::nullability::store::file_name(
            &codegen.parse()?[0].queries[1].sql,
        ));
    let original = std::fs::read_to_string(&decisions)?;
    let changed = original.replacen("\"nullable\": true", "\"nullable\": false", 1);
    assert_ne!(changed, original);
    std::fs::write(&decisions, &changed)?;
    let output = build(&dir);
    assert!(
        !output.status.success(),
        "changed decisions must fail the build"
    );
    let err = stderr(&output);
    assert!(
        err.contains("query `GetAuthor` (")
            && err.contains("its nullability decisions changed since `pgtide gen`"),
        "{err}"
    );
    std::fs::write(&decisions, &original)?;

    // Schema change + prepare, but no gen: the `.sqlx` entry of GetAuthor changes and the
    // offline build fails naming the query.
    let get_author = dir.join(".sqlx").join(pgtide_codegen::sqlx_data::file_name(
        &codegen.parse()?[0].queries[1].sql,
    ));
    let original = std::fs::read_to_string(&get_author)?;
    let changed = original.replacen("true", "false", 1);
    assert_ne!(changed, original);
    std::fs::write(&get_author, &changed)?;
    let output = build(&dir);
    assert!(
        !output.status.success(),
        "a changed .sqlx entry must fail the build"
    );
    let err = stderr(&output);
    assert!(
        err.contains("query `GetAuthor` (") && err.contains("entry changed since `pgtide gen`"),
        "{err}"
    );

    // The entry disappears (the query was edited and prepared, gen not rerun).
    std::fs::remove_file(&get_author)?;
    let output = build(&dir);
    assert!(
        !output.status.success(),
        "a missing .sqlx entry must fail the build"
    );
    let err = stderr(&output);
    let snippet = err.split("help:").next().unwrap_or_default();
    assert!(
        snippet.contains("couldn't read") && snippet.contains(".sqlx entry of query `GetAuthor`"),
        "{err}"
    );

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
