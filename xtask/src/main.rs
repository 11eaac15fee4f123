//! This repository's automation: `cargo xtask <command>`.
//!
//! - `db up | down | url | status` — a throwaway PostgreSQL under `target/`
//! - `test` — the one test command (fmt, clippy, tests, doctests) against that server
//! - `demo` — pgtide doing its job against that server
//! - `chaos [--soak]` — the reliability scenarios alone with their figures (`--soak`: long)
//! - `bench` — pgtide side by side with its peers, behind the README's "Performance" section
//!   (release build; writes `target/bench/report.md`), and
//!   `bench --callgrind`, instructions per query
//! - `compat` — sqlx-cli's `prepare --check` accepts pgtide's `.sqlx` (installs sqlx-cli once)

mod bench;
mod chaos;
mod cluster;
mod compat;
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
  chaos [--soak]    faults under load, retries, bad input, with their figures printed
                    (--soak: 20 restart rounds, 200 abort rounds, 100,000 fuzz cases each)
  demo              start the server, apply the fixtures and show pgtide at work
  bench [--quick]   start the server and measure pgtide vs its peers: query path, generated code,
                    COPY, streaming, codegen, retry/timeout (release build; target/bench/report.md)
  bench --query-only [--quick]
                    only the point-select cells of pgtide, the bare floor, deadpool-postgres
  bench --callgrind [N]
                    instructions per query (valgrind) of pgtide, the bare floor, deadpool-postgres,
                    and per one-select transaction of pgtide and the floor
  bench --tx-only [--quick]
                    only the Transactions cells (pgtide transaction_boxed vs a sqlx one)
  gen               prepare .sqlx/ and generate example/src/queries/ from queries/
  compat            sqlx-cli's own `cargo sqlx prepare --check` on the .sqlx pgtide prepares
                    (installs sqlx-cli 0.9.0 into target/tools/ the first time)";

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
        ["chaos", rest @ ..] => chaos::run(rest),
        ["bench", rest @ ..] => bench::run(rest),
        ["gen"] => r#gen::run(),
        ["compat"] => compat::run(),
        ["help" | "--help" | "-h"] | [] => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command `{}`\n\n{USAGE}", other.join(" ")),
    }
}
