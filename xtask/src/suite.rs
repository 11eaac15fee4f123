//! `cargo xtask test`: the one test command. Starts the throwaway server, runs every check
//! against it with `SQLX_OFFLINE=true`, and stops the server whatever happened.

use std::process::Command;

use anyhow::bail;

use crate::cluster;

/// One check of the suite: a name for the summary and the cargo arguments that run it.
struct Step {
    name: &'static str,
    args: Vec<&'static str>,
}

pub fn run() -> anyhow::Result<()> {
    let state = cluster::up(false)?;
    // Stop the server however we leave this function.
    struct StopOnDrop;
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            if let Err(e) = cluster::down() {
                eprintln!("xtask: could not stop the throwaway PostgreSQL: {e:#}");
            }
        }
    }
    let _stop = StopOnDrop;
    cluster::drop_test_databases(&state)?;

    let mut failed = Vec::new();
    for step in steps() {
        eprintln!("\nxtask: ── {} ──", step.name);
        let status = Command::new(env!("CARGO"))
            .args(&step.args)
            .current_dir(pgtide_testkit::workspace_root())
            .env("SQLX_OFFLINE", "true")
            .env_remove("DATABASE_URL")
            .env("PGTIDE_DB_STATE", pgtide_testkit::state_path().as_os_str())
            .status()?;
        if !status.success() {
            eprintln!("xtask: {} failed ({status})", step.name);
            failed.push(step.name);
        }
    }
    cluster::drop_test_databases(&state)?;
    if !failed.is_empty() {
        bail!("failed steps: {}", failed.join(", "));
    }
    eprintln!("\nxtask: every step passed: {}", step_names().join(", "));
    Ok(())
}

fn steps() -> Vec<Step> {
    let tests = if nextest_available() {
        vec![
            "nextest",
            "run",
            "--workspace",
            "--all-targets",
            "--no-tests=fail",
        ]
    } else {
        vec!["test", "--workspace", "--all-targets"]
    };
    vec![
        Step {
            name: "fmt",
            args: vec!["fmt", "--all", "--", "--check"],
        },
        Step {
            name: "clippy",
            args: vec![
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        },
        Step {
            // Fails when example/src/queries/ is stale against queries/ and .sqlx/.
            name: "gen --check",
            args: vec![
                "run",
                "--quiet",
                "--package",
                "pgtide-cli",
                "--",
                "gen",
                "--queries",
                "queries",
                "--sqlx-dir",
                ".sqlx",
                "--out",
                "example/src/queries",
                "--check",
            ],
        },
        Step {
            name: "doctests",
            args: vec!["test", "--workspace", "--doc"],
        },
        Step {
            name: "tests",
            args: tests,
        },
    ]
}

fn step_names() -> Vec<&'static str> {
    steps().into_iter().map(|s| s.name).collect()
}

fn nextest_available() -> bool {
    Command::new(env!("CARGO"))
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}
