//! Shared by the integration tests: scratch crates under `target/codegen-scratch/` that
//! depend on pgtide by path and share one target directory, so only the first build pays
//! for sqlx.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    pgtide_testkit::workspace_root()
}

/// A fresh directory `target/codegen-scratch/<name>`.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = root().join("target/codegen-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Writes a binary crate at `dir` (main in `src/main.rs`) depending on pgtide, tokio and sqlx
/// (sqlx only so a test can use sqlx's own macros), with the workspace's lock file.
pub fn write_crate(dir: &Path, main_rs: &str) {
    let root = root();
    let manifest = format!(
        r#"[package]
name = "pgtide-scratch"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
pgtide = {{ path = {root:?} }}
tokio = {{ version = "1", features = ["rt", "macros"] }}
sqlx = {{ version = "=0.9.0", default-features = false, features = ["runtime-tokio", "tls-rustls-ring-webpki", "postgres", "macros", "migrate", "json", "uuid", "chrono", "rust_decimal", "ipnetwork", "mac_address", "bit-vec"] }}

[profile.dev]
debug = false

[workspace]
"#,
        root = root.display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/main.rs"), main_rs).unwrap();
}

/// `cargo build` of the scratch crate with `SQLX_OFFLINE=true` and no `DATABASE_URL`.
pub fn build(dir: &Path) -> Output {
    Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env(
            "CARGO_TARGET_DIR",
            root().join("target/codegen-scratch/target"),
        )
        .env("SQLX_OFFLINE", "true")
        .env_remove("DATABASE_URL")
        .env_remove("SQLX_OFFLINE_DIR")
        .output()
        .expect("cargo runs")
}

pub fn binary() -> PathBuf {
    root().join("target/codegen-scratch/target/debug/pgtide-scratch")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
