//! Shared by the CLI's integration tests: run the real `pgtide` binary with a clean
//! environment, and write project directories under `target/cli-tests/`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn root() -> PathBuf {
    pgtide_testkit::workspace_root()
}

/// Runs `pgtide args` in `dir` with only `PATH` and `env` in its environment, so no
/// `DATABASE_URL`, `PG*` or `PGTIDE_*` of the caller leaks in.
pub fn pgtide_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pgtide"));
    command.args(args).current_dir(dir).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("pgtide runs")
}

/// [`pgtide_env`] without extra variables.
pub fn pgtide(dir: &Path, args: &[&str]) -> Output {
    pgtide_env(dir, args, &[])
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh, empty `target/cli-tests/<name>-<process>-<n>`: its own for every call, so tests
/// running at the same time (a process each under nextest, a thread each under `cargo test`)
/// never share one, even when they pass the same name.
pub fn fresh_dir(name: &str) -> PathBuf {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir = root()
        .join("target/cli-tests")
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The variable the test config files take the password from.
pub const PASSWORD_VAR: &str = "TEST_DB_PASSWORD";

/// `[default]` connection lines for `db` (password by reference to [`PASSWORD_VAR`]).
pub fn connection_toml(db: &pgtide_testkit::TestDb) -> String {
    let s = db.server();
    format!(
        "[default]\nhost = \"{}\"\nport = {}\nuser = \"{}\"\ndatabase = \"{}\"\npassword = \"secret://env/{PASSWORD_VAR}\"\n",
        s.host,
        s.port,
        s.user,
        db.name()
    )
}
