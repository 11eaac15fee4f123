//! `pgtide config example`: every kind it prints builds (one scratch crate, one binary per
//! kind, sharing the codegen tests' scratch target) and runs against the throwaway server.

mod support;

use std::process::Command;

use support::*;

const KINDS: &[&str] = &[
    "pool",
    "connection",
    "transaction",
    "blocking",
    "listener",
    "codegen",
];

#[tokio::test]
async fn every_example_kind_builds_and_runs() -> anyhow::Result<()> {
    let db = pgtide_testkit::TestDb::new().await?;
    let dir = fresh_dir("examples");
    std::fs::write(
        dir.join("pgtide.toml"),
        // No `[default.codegen]` table: the library's loader, which the programs use, does
        // not accept it yet; the CLI reads it (see tests/codegen_config.rs).
        connection_toml(&db),
    )?;
    let password = db.server().password.clone();
    let env = [(PASSWORD_VAR, password.as_str())];

    let mut dependencies = String::new();
    let mut bins = String::new();
    for kind in KINDS {
        let o = pgtide(
            &dir,
            &["config", "example", "--kind", kind, "--format", "json"],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let json: serde_json::Value = serde_json::from_str(&stdout(&o))?;
        dependencies = json["cargo_toml_dependencies"]
            .as_str()
            .unwrap()
            .to_string();
        for file in json["files"].as_array().unwrap() {
            let (path, contents) = (
                file["path"].as_str().unwrap(),
                file["contents"].as_str().unwrap(),
            );
            let path = match path {
                "src/main.rs" if *kind == "codegen" => "src/bin/codegen/main.rs".to_string(),
                "src/main.rs" => format!("src/bin/{kind}.rs"),
                other => other.to_string(),
            };
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap())?;
            std::fs::write(&path, contents)?;
        }
        let path = if *kind == "codegen" {
            "src/bin/codegen/main.rs".to_string()
        } else {
            format!("src/bin/{kind}.rs")
        };
        bins.push_str(&format!(
            "[[bin]]\nname = \"example-{kind}\"\npath = \"{path}\"\n\n"
        ));
    }
    // The printed dependency lines, with pgtide from this checkout instead of crates.io.
    let dependencies: String = dependencies
        .lines()
        .map(|l| {
            if l.starts_with("pgtide ") {
                format!("pgtide = {{ path = {:?} }}\n", root().display().to_string())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert!(dependencies.contains("tokio = "), "{dependencies}");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"pgtide-cli-examples\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\nautobins = false\n\n{bins}[dependencies]\n{dependencies}\n[profile.dev]\ndebug = false\n\n[workspace]\n"
        ),
    )?;
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock"))?;

    // The codegen kind: `pgtide prepare` and `pgtide gen`, as printed (the database from
    // the config file, the default queries/ and .sqlx/).
    for step in [
        &["prepare"][..],
        &["gen", "--out", "src/bin/codegen/queries"],
    ] {
        let o = pgtide_env(&dir, step, &env);
        assert_eq!(o.status.code(), Some(0), "{step:?}: {}", stderr(&o));
    }

    let target = root().join("target/codegen-scratch/target");
    let o = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet", "--bins", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env("SQLX_OFFLINE", "true")
        .env_remove("DATABASE_URL")
        .output()?;
    assert!(o.status.success(), "{}", stderr(&o));

    for kind in KINDS {
        let o = Command::new(target.join(format!("debug/example-{kind}")))
            .current_dir(&dir)
            .env_clear()
            .env(PASSWORD_VAR, &password)
            .output()?;
        assert!(o.status.success(), "{kind}: {}{}", stdout(&o), stderr(&o));
        let out = stdout(&o);
        let expected = match *kind {
            "pool" => format!("connected to {}@", db.server().user),
            "connection" => format!(
                "database {} as {}, work_mem 16MB",
                db.name(),
                db.server().user
            ),
            "transaction" => "sum inside the transaction: 6".to_string(),
            "blocking" => {
                "sum from 4 threads: 100\ninserted 3 rows in a transaction\nstreamed 1000 rows"
                    .to_string()
            }
            "listener" => "notification on pgtide_example: hello".to_string(),
            _ => format!("database {} on PostgreSQL", db.name()),
        };
        assert!(out.contains(&expected), "{kind}: {out}");
    }
    Ok(())
}
