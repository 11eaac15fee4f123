//! This repository's automation: `cargo xtask <command>`.
//!
//! - `db up | down | url | status` — a throwaway PostgreSQL under `target/`
//! - `test` — the one test command (fmt, clippy, tests, doctests) against that server
//! - `demo` — pgtide doing its job against that server
//! - `bench` — the pool comparison behind the README's "Pool" table (release build)

mod cluster;
mod demo;
mod r#gen;
mod suite;
mod tls;

use anyhow::bail;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  db up [--fresh]   start the throwaway PostgreSQL (reuses a stopped cluster; --fresh recreates it)
  db down           stop it (the data stays for the next `db up`)
  db url            print its superuser URL (includes the generated password)
  db status         say whether it runs, where, and how to reach it (password redacted)
  test              run fmt, clippy, gen --check, every test and doctest against the server
                    (starts it if needed; stops it after only if this run started it)
  demo              start the server, apply the fixtures and show pgtide at work
  bench             start the server and compare pool designs on point selects (release build)
  gen               prepare .sqlx/ and generate example/src/queries/ from queries/";

fn main() {
    if let Err(e) = run(std::env::args().skip(1).collect()) {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Vec<String>) -> anyhow::Result<()> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["db", "up"] => cluster::up(false).map(|_| ()),
        ["db", "up", "--fresh"] => cluster::up(true).map(|_| ()),
        ["db", "down"] => cluster::down(),
        ["db", "url"] => cluster::url(),
        ["db", "status"] => cluster::status(),
        ["test"] => suite::run(),
        ["demo"] => demo::run(),
        ["bench"] => bench(),
        ["gen"] => r#gen::run(),
        ["help" | "--help" | "-h"] | [] => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command `{}`\n\n{USAGE}", other.join(" ")),
    }
}

/// Builds and runs the `bench/` crate in release mode against the throwaway server. Its heavy
/// dependencies (tokio-postgres, deadpool-postgres) stay out of xtask itself.
fn bench() -> anyhow::Result<()> {
    cluster::up(false)?;
    let status = std::process::Command::new(env!("CARGO"))
        .args(["run", "--release", "-q", "-p", "pgtide-bench"])
        .env("PGTIDE_DB_STATE", pgtide_testkit::state_path().as_os_str())
        .status()?;
    if !status.success() {
        bail!("the benchmark failed ({status})");
    }
    Ok(())
}
