//! Child processes measured from outside: wall time and peak resident memory (`/usr/bin/time
//! -f %M`), so every client (pgtide's CLI, `psql`, the bench's own streaming child) is
//! measured the same way.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

/// Wall seconds, peak RSS in MiB and stdout of one run of `cmd`.
pub struct Run {
    pub secs: f64,
    pub peak_mib: f64,
    pub stdout: String,
}

/// Runs `cmd` under `/usr/bin/time`, failing with its stderr when it fails.
pub fn run(cmd: &mut Command, scratch: &Path) -> anyhow::Result<Run> {
    let rss_file = scratch.join("rss.txt");
    let program = cmd.get_program().to_owned();
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(&program);
    timed.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    let started = Instant::now();
    let out = timed
        .output()
        .with_context(|| format!("running {program:?} under /usr/bin/time"))?;
    let secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "{program:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let kib: f64 = std::fs::read_to_string(&rss_file)?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .next_back()
        .context("no peak memory from /usr/bin/time")?;
    Ok(Run {
        secs,
        peak_mib: kib / 1024.0,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

/// The release `pgtide` command next to this bench executable.
pub fn pgtide_exe() -> anyhow::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let cli = exe.with_file_name("pgtide");
    if !cli.exists() {
        bail!(
            "{} is missing: `cargo xtask bench` builds it (cargo build --release -p pgtide-cli)",
            cli.display()
        );
    }
    Ok(cli)
}
