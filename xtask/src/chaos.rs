//! `cargo xtask chaos [--soak]`: the reliability scenarios (faults under load, retries that
//! never duplicate, bad input) with their figures printed.
//!
//! Their short form runs in `cargo xtask test` like every test (the fault scenarios one at a
//! time, with a generous slack on their bounds). Here they run alone, with
//! output shown (acknowledged and lost commits, recovery time, fuzz cases, leaks); `--soak`
//! makes them long: 20 restart rounds (alternating immediate and fast), 200 rounds of 250
//! aborted tasks, 100,000 cases per fuzz target.

use std::process::Command;

use anyhow::bail;

use crate::cluster;

/// Every reliability test binary (and the CSV sniffing property test, a unit test of the CLI).
const FILTER: &str = "binary(faults) | binary(retry) | binary(fuzz_config) | binary(parse_fuzz) \
                      | binary(csv_bad_input) | test(sniffing_never_panics)";

pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let soak = match args {
        [] => false,
        ["--soak"] => true,
        other => bail!("unknown arguments to chaos: {}", other.join(" ")),
    };
    cluster::up(false)?;
    let profile = if soak { "chaos-soak" } else { "default" };
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "nextest",
        "run",
        "--workspace",
        "--no-capture",
        "--no-tests=fail",
    ])
    .args(["--profile", profile, "-E", FILTER])
    .current_dir(pgtide_testkit::workspace_root())
    .env("SQLX_OFFLINE", "true")
    .env_remove("DATABASE_URL")
    .env("PGTIDE_DB_STATE", pgtide_testkit::state_path().as_os_str())
    // Alone on the machine: the fault tests' bounds get 2 s beyond the configured timeouts
    // instead of the suite's 15 s.
    .env("PGTIDE_FAULT_SLACK_SECS", "2");
    if soak {
        cmd.env("PGTIDE_CHAOS_ROUNDS", "20")
            .env("PGTIDE_FUZZ_CASES", "100000");
    }
    let status = cmd.status()?;
    if !status.success() {
        bail!("chaos scenarios failed ({status})");
    }
    eprintln!(
        "xtask: chaos scenarios passed{}; figures are the `faults:` and `fuzz:` lines above",
        if soak { " (soak)" } else { "" }
    );
    Ok(())
}
