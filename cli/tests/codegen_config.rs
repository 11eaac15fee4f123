//! `pgtide prepare`, `gen`, `gen --check` and `verify` with no flags: directories from the
//! config file's `codegen` table (relative to the file), the database from the app's loader.

mod support;

use support::*;

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[tokio::test]
async fn codegen_commands_need_no_flags_and_no_password_on_the_command_line() -> anyhow::Result<()>
{
    let db = pgtide_testkit::TestDb::new().await?;
    let dir = fresh_dir("flag-free");
    copy_dir(&root().join("queries"), &dir.join("sql"));
    std::fs::create_dir_all(dir.join("somewhere/deep"))?;
    std::fs::write(
        dir.join("pgtide.toml"),
        format!(
            "{}\n[default.codegen]\nqueries = \"sql\"\nsqlx_dir = \"meta\"\nout = \"gen/queries\"\n\n[ci.codegen]\nout = \"gen/ci\"\n",
            connection_toml(&db)
        ),
    )?;
    let password = db.server().password.clone();
    let env = [(PASSWORD_VAR, password.as_str())];
    let deep = dir.join("somewhere/deep");

    // From a subdirectory, no flags: the file is found upwards, paths are relative to it.
    let o = pgtide_env(&deep, &["prepare"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for entry in std::fs::read_dir(root().join(".sqlx"))? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with("query-") {
            assert_eq!(
                std::fs::read(dir.join("meta").join(entry.file_name()))?,
                std::fs::read(entry.path())?,
                "the same bytes as prepare with flags"
            );
        }
    }
    let o = pgtide_env(&deep, &["gen"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let books = std::fs::read_to_string(dir.join("gen/queries/books.rs"))?;
    assert!(
        books.contains("//! Queries from `sql/books.sql`."),
        "{books}"
    );
    assert!(
        books.contains("include_str!(") && books.contains("\"../../meta/pgtide-module-books.txt\""),
        "paths relative to the file"
    );

    // gen --check from anywhere: the project root, a subdirectory, outside with --config.
    for (cwd, args) in [
        (dir.clone(), vec!["gen", "--check"]),
        (deep.clone(), vec!["gen", "--check"]),
        (
            root().join("target"),
            vec!["--config", "", "gen", "--check"],
        ),
    ] {
        let config = dir.join("pgtide.toml").display().to_string();
        let args: Vec<&str> = args
            .iter()
            .map(|a| if a.is_empty() { config.as_str() } else { a })
            .collect();
        let o = pgtide(&cwd, &args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?} in {}: {}",
            cwd.display(),
            stderr(&o)
        );
    }
    std::fs::write(dir.join("gen/queries/books.rs"), "// edited\n")?;
    let o = pgtide(&deep, &["gen", "--check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("changed gen/queries/books.rs"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("run `pgtide gen` and commit the result"),
        "{}",
        stderr(&o)
    );

    // verify with no flags, through the same loader.
    let o = pgtide_env(&dir, &["verify"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // A profile's codegen table overlays default's.
    let o = pgtide_env(&dir, &["gen", "--profile", "ci"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(dir.join("gen/ci/books.rs").is_file());

    // `config show` lists each codegen key once, with the line the library's loader found.
    let o = pgtide_env(&dir, &["config", "show", "--profile", "ci"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let shown = stdout(&o);
    for (key, value, source) in [
        ("codegen.queries", "sql", "file pgtide.toml, line "),
        ("codegen.out", "gen/ci", "file pgtide.toml, line "),
    ] {
        let lines: Vec<&str> = shown.lines().filter(|l| l.starts_with(key)).collect();
        assert_eq!(lines.len(), 1, "{shown}");
        assert!(
            lines[0].contains(&format!("= {value} ")) && lines[0].contains(source),
            "{shown}"
        );
    }

    // DATABASE_URL still works with no file at all, and wins over the file's connection.
    let bare = fresh_dir("flag-free-bare");
    copy_dir(&root().join("queries"), &bare.join("queries"));
    let url = db.url();
    let o = pgtide_env(&bare, &["prepare"], &[("DATABASE_URL", url.as_str())]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(bare.join(".sqlx").is_dir());
    let o = pgtide(&bare, &["gen"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        bare.join("src/queries/mod.rs").is_file(),
        "default out is src/queries/"
    );

    // The wrong password from the file's reference: the error never shows it.
    let o = pgtide_env(&dir, &["prepare"], &[(PASSWORD_VAR, "wrong-pw-1234")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("wrong-pw-1234"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("password authentication failed"),
        "{}",
        stderr(&o)
    );
    Ok(())
}

/// The `codegen.types` table of the config file, with no flags: `prepare` describes the
/// statements with text casts too, `gen` maps `tsvector` to `String`, `config show` lists the
/// entry with its line, and a bad entry stops the commands naming key and line.
#[tokio::test]
async fn gen_with_no_flags_takes_the_codegen_types_table_from_the_config_file() -> anyhow::Result<()>
{
    let db = pgtide_testkit::TestDb::new().await?;
    let mut conn = db.connect().await?;
    sqlx::raw_sql("CREATE TABLE notes (note_id bigint PRIMARY KEY, body tsvector NOT NULL)")
        .execute(&mut conn)
        .await?;
    let dir = fresh_dir("codegen-types");
    std::fs::create_dir_all(dir.join("queries"))?;
    std::fs::write(
        dir.join("queries/notes.sql"),
        "-- name: GetNote :one\nSELECT note_id, body FROM notes WHERE body @@ to_tsquery(@query);\n",
    )?;
    let connection = connection_toml(&db);
    let config = |types: &str| format!("{connection}\n[default.codegen.types]\n{types}\n");
    std::fs::write(dir.join("pgtide.toml"), config("tsvector = \"String\""))?;
    let password = db.server().password.clone();
    let env = [(PASSWORD_VAR, password.as_str())];

    let o = pgtide_env(&dir, &["prepare"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let entries: Vec<String> = std::fs::read_dir(dir.join(".sqlx"))?
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|text| text.contains("\"describe\""))
        .collect();
    assert_eq!(
        entries.len(),
        2,
        "the query's entry and its statement's with casts"
    );
    assert!(
        entries
            .iter()
            .any(|e| e.contains("WITH pgtide_cast") && e.contains("\"Text\"")),
        "{entries:?}"
    );

    let o = pgtide_env(&dir, &["gen"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let notes = std::fs::read_to_string(dir.join("src/queries/notes.rs"))?;
    assert!(notes.contains("    pub body: String,\n"), "{notes}");
    assert!(notes.contains("c2::text AS \\\"body\\\""), "{notes}");
    let o = pgtide(&dir, &["gen", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = pgtide_env(&dir, &["config", "show"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let shown = stdout(&o);
    let line = shown
        .lines()
        .find(|l| l.starts_with("codegen.types.tsvector = String "))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(line.ends_with("# file pgtide.toml, line 9"), "{shown}");

    // Without the table, gen names the type and the table to add it to.
    std::fs::write(dir.join("pgtide.toml"), &connection)?;
    let o = pgtide(&dir, &["gen", "--check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("column `body` has type `tsvector`")
            && stderr(&o).contains("[default.codegen.types]"),
        "{}",
        stderr(&o)
    );

    // A value that is not a plain Rust type stops every command, naming key and line.
    std::fs::write(
        dir.join("pgtide.toml"),
        config("tsvector = \"String } fn evil() {\""),
    )?;
    let o = pgtide(&dir, &["gen"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("codegen.types.tsvector")
            && err.contains("pgtide.toml, line ")
            && err.contains("is not a Rust type pgtide accepts"),
        "{err}"
    );
    Ok(())
}

/// `codegen.derives` in the config file: row structs derive those traits besides `Debug`
/// (only `Debug` without it), and a value that is not a list of plain paths stops `gen`,
/// naming the key and its line. Offline: the repository's own `.sqlx`.
#[test]
fn gen_takes_the_row_derives_from_the_config_file() {
    let dir = fresh_dir("codegen-derives");
    copy_dir(&root().join("queries"), &dir.join("queries"));
    copy_dir(&root().join(".sqlx"), &dir.join(".sqlx"));
    let config = |derives: &str| {
        format!("[default]\nhost = \"localhost\"\n\n[default.codegen]\nout = \"gen\"\n{derives}\n")
    };
    let row = |dir: &std::path::Path| {
        let authors = std::fs::read_to_string(dir.join("gen/authors.rs")).unwrap();
        let at = authors
            .find("pub struct GetAuthorRow")
            .expect("the row struct");
        authors[..at].lines().last().unwrap().to_owned()
    };

    std::fs::write(dir.join("pgtide.toml"), config("")).unwrap();
    let o = pgtide(&dir, &["gen"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(row(&dir), "#[derive(Debug)]");

    std::fs::write(
        dir.join("pgtide.toml"),
        config("derives = \"Clone, PartialEq\""),
    )
    .unwrap();
    let o = pgtide(&dir, &["gen"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(row(&dir), "#[derive(Debug, Clone, PartialEq)]");
    let o = pgtide(&dir, &["gen", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    std::fs::write(
        dir.join("pgtide.toml"),
        config("derives = \"Clone)] struct Z; #[derive(Eq\""),
    )
    .unwrap();
    let o = pgtide(&dir, &["gen"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("invalid `codegen.derives`") && err.contains("pgtide.toml, line 6"),
        "{err}"
    );
    assert_eq!(
        row(&dir),
        "#[derive(Debug, Clone, PartialEq)]",
        "nothing written"
    );
}
