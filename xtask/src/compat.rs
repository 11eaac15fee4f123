//! `cargo xtask compat`: sqlx's own command-line tool accepts pgtide's `.sqlx` files.
//!
//! `pgtide prepare` writes `queries/` into a fresh `.sqlx/` of a scratch crate that uses
//! `sqlx::query!` on the same SQL, and `cargo sqlx prepare --check` (sqlx-cli 0.9.0, installed
//! into `target/tools/` the first time) must pass on it: sqlx regenerates every query's file
//! against the database and compares it with pgtide's, as JSON. A control then changes one of
//! pgtide's files and checks that the same command fails, so the pass means something.
//!
//! Not part of `cargo xtask test`: installing sqlx-cli compiles its whole dependency tree.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use pgtide_codegen::Codegen;
use serde_json::Value;

use crate::cluster;

/// The sqlx-cli release whose `prepare --check` reads pgtide's files.
const SQLX_CLI_VERSION: &str = "0.9.0";

pub fn run() -> anyhow::Result<()> {
    cluster::up(false)?;
    let root = pgtide_testkit::workspace_root();
    let cargo_sqlx = install_sqlx_cli(&root)?;
    let work = root.join("target/compat");
    let crate_dir = work.join("crate");
    let _ = std::fs::remove_dir_all(&crate_dir);
    std::fs::create_dir_all(crate_dir.join("src"))?;

    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let db = pgtide_testkit::TestDb::new().await?;
            let codegen = Codegen::new(
                root.join("queries"),
                crate_dir.join(".sqlx"),
                crate_dir.join("src/queries"),
            );
            codegen.prepare(&db.url()).await?;
            let (checked, skipped) = write_crate(&root, &crate_dir)?;
            eprintln!(
                "compat: {} queries as sqlx::query! ({} skipped: {})",
                checked.len(),
                skipped.len(),
                if skipped.is_empty() {
                    "none".to_owned()
                } else {
                    skipped.join("; ")
                }
            );

            let check = |what: &str| -> anyhow::Result<bool> {
                let started = Instant::now();
                let out = Command::new(&cargo_sqlx)
                    .args(["sqlx", "prepare", "--check"])
                    .current_dir(&crate_dir)
                    .env("DATABASE_URL", db.url())
                    .env("CARGO_TARGET_DIR", work.join("target"))
                    .env_remove("SQLX_OFFLINE")
                    .env_remove("SQLX_OFFLINE_DIR")
                    .output()
                    .context("running cargo sqlx prepare --check")?;
                let said = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                eprintln!(
                    "compat: {what}: `cargo sqlx prepare --check` {} in {:.1?}\n{}",
                    if out.status.success() {
                        "passed"
                    } else {
                        "failed"
                    },
                    started.elapsed(),
                    said.trim_end()
                );
                Ok(out.status.success())
            };

            ensure!(
                check("pgtide's .sqlx")?,
                "sqlx-cli rejects the .sqlx files pgtide prepare wrote"
            );
            same_bytes_as_the_macros(&crate_dir, &work, &db.url(), &checked)?;
            let changed = tamper_one(&checked)?;
            ensure!(
                !check(&format!("control, {changed} changed"))?,
                "sqlx-cli accepted a changed .sqlx file: the check above proves nothing"
            );
            eprintln!("compat: sqlx-cli {SQLX_CLI_VERSION} reads pgtide's .sqlx as its own");
            anyhow::Ok(())
        })
}

/// `target/tools/sqlx-cli-<version>/bin/cargo-sqlx`, installed when missing.
fn install_sqlx_cli(root: &Path) -> anyhow::Result<PathBuf> {
    let prefix = root.join(format!("target/tools/sqlx-cli-{SQLX_CLI_VERSION}"));
    let bin = prefix.join("bin/cargo-sqlx");
    if bin.exists() {
        return Ok(bin);
    }
    eprintln!(
        "compat: installing sqlx-cli {SQLX_CLI_VERSION} into {}",
        prefix.display()
    );
    let started = Instant::now();
    let status = Command::new(env!("CARGO"))
        .args(["install", "sqlx-cli", "--locked", "--no-default-features"])
        .args(["--version", &format!("={SQLX_CLI_VERSION}")])
        .args(["--features", "postgres,rustls", "--root"])
        .arg(&prefix)
        .env("CARGO_TARGET_DIR", root.join("target/tools/build"))
        .status()
        .context("running cargo install sqlx-cli")?;
    ensure!(status.success(), "cargo install sqlx-cli failed");
    eprintln!("compat: installed in {:.0?}", started.elapsed());
    let _ = std::fs::remove_dir_all(root.join("target/tools/build"));
    Ok(bin)
}

/// Writes the scratch crate: one `sqlx::query!` per query file in `.sqlx` whose result
/// columns sqlx's macros can type (they refuse enums and domains without an override, which
/// would change the SQL). Returns the files of the queries written and the first lines of the
/// ones left out. pgtide's other files stay: sqlx-cli reads only `query-*.json`.
fn write_crate(root: &Path, dir: &Path) -> anyhow::Result<(Vec<PathBuf>, Vec<String>)> {
    let manifest = format!(
        r#"[package]
name = "pgtide-compat"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
sqlx = {{ version = "={SQLX_CLI_VERSION}", default-features = false, features = ["runtime-tokio", "postgres", "macros", "json", "uuid", "chrono", "rust_decimal", "ipnetwork"] }}

[workspace]
"#
    );
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))?;

    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(".sqlx"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let mut body = String::new();
    let (mut checked, mut skipped) = (Vec::new(), Vec::new());
    for path in files {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !(name.starts_with("query-") && name.ends_with(".json")) {
            continue;
        }
        let data: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
            .with_context(|| format!("reading {}", path.display()))?;
        let sql = data["query"]
            .as_str()
            .context("no `query` in a .sqlx file")?;
        let describe = &data["describe"];
        let custom_column = describe["columns"]
            .as_array()
            .context("no columns")?
            .iter()
            .any(|c| c["type_info"].is_object());
        if custom_column {
            skipped.push(first_line(sql));
            continue;
        }
        let params = describe["parameters"]["Left"]
            .as_array()
            .context("no parameters")?
            .len();
        let fence = (1..)
            .map(|n| "#".repeat(n))
            .find(|f| !sql.contains(&format!("\"{f}")))
            .unwrap_or_default();
        // The macro checks only what the .sqlx file says; the arguments' types are
        // opted out (`as _`) because nothing here runs.
        let args: String = (0..params).map(|_| ", None::<i32> as _").collect();
        body.push_str(&format!(
            "    let _ = sqlx::query!(r{fence}\"{sql}\"{fence}{args});\n"
        ));
        checked.push(path);
    }
    std::fs::write(
        dir.join("src/main.rs"),
        format!(
            "//! Written by `cargo xtask compat`: sqlx's macros on the SQL pgtide prepared.\n\n\
             #[allow(dead_code)]\nfn queries() {{\n{body}}}\n\nfn main() {{}}\n"
        ),
    )?;
    if checked.is_empty() {
        bail!("no query could be written as sqlx::query!");
    }
    Ok((checked, skipped))
}

/// Builds the scratch crate against the database with `SQLX_OFFLINE_DIR` set, so sqlx's own
/// macros write their query files there (as `cargo sqlx prepare` has them do), and compares
/// each with pgtide's byte for byte: `prepare --check` compares only as JSON.
fn same_bytes_as_the_macros(
    crate_dir: &Path,
    work: &Path,
    url: &str,
    pgtide_files: &[PathBuf],
) -> anyhow::Result<()> {
    let theirs = work.join("macros-wrote");
    let _ = std::fs::remove_dir_all(&theirs);
    std::fs::create_dir_all(&theirs)?;
    let cargo = |args: &[&str]| {
        Command::new(env!("CARGO"))
            .args(args)
            .current_dir(crate_dir)
            .env("CARGO_TARGET_DIR", work.join("target"))
            .env("DATABASE_URL", url)
            .env("SQLX_OFFLINE_DIR", &theirs)
            .env_remove("SQLX_OFFLINE")
            .status()
    };
    // The macros run again only when the crate is rebuilt.
    ensure!(cargo(&["clean", "-p", "pgtide-compat"])?.success());
    ensure!(
        cargo(&["check", "-q"])?.success(),
        "sqlx's macros failed on the scratch crate"
    );
    let mut differ = Vec::new();
    for ours in pgtide_files {
        let name = ours.file_name().context("a .sqlx file has no name")?;
        let mine = std::fs::read(ours)?;
        let written = std::fs::read(theirs.join(name))
            .with_context(|| format!("sqlx's macros wrote no {}", name.to_string_lossy()))?;
        if mine != written {
            differ.push(name.to_string_lossy().into_owned());
        }
    }
    ensure!(
        differ.is_empty(),
        "pgtide's bytes differ from what sqlx's macros write for: {}",
        differ.join(", ")
    );
    eprintln!(
        "compat: all {} files are byte for byte what sqlx's macros write",
        pgtide_files.len()
    );
    Ok(())
}

/// Flips the first column's nullability in the first of `files` that has a column.
fn tamper_one(files: &[PathBuf]) -> anyhow::Result<String> {
    for path in files {
        let mut data: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        if let Some(first) = data["describe"]["nullable"]
            .as_array_mut()
            .and_then(|n| n.first_mut())
        {
            let flipped = !first.as_bool().unwrap_or(false);
            *first = Value::Bool(flipped);
            std::fs::write(path, serde_json::to_string_pretty(&data)?)?;
            return Ok(path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned());
        }
    }
    bail!("no query file with a column to change")
}

fn first_line(sql: &str) -> String {
    sql.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(60)
        .collect()
}
