//! `pgbench -M prepared` running the same query, for the server's own ceiling on this
//! machine: a C client with no pool at all.

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use pgtide_testkit::ServerState;

/// A pgbench script file holding one of the bench's queries (no transaction block, like
/// `pgbench -S`), removed on drop.
pub struct Script {
    path: std::path::PathBuf,
}

impl Script {
    /// Writes the script running `sql`, where `:id` is uniform in `1..=ids`.
    pub fn new(sql: &str, ids: i64) -> anyhow::Result<Self> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("pgtide-bench-{}-{n}.sql", std::process::id()));
        let mut file = std::fs::File::create(&path)?;
        writeln!(file, "\\set id random(1, {ids})")?;
        writeln!(file, "{sql}")?;
        Ok(Self { path })
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Queries/s of `pgbench -M prepared` with `clients` connections for about `run_for`
/// (whole seconds, at least `min_secs`: pgbench counts its connecting, 32 scram handshakes on a
/// busy machine, against the duration, and reports nothing if no query ran). The password
/// goes through the environment, never argv.
pub fn measure(
    server: &ServerState,
    database: &str,
    script: &Script,
    clients: usize,
    run_for: Duration,
    min_secs: u64,
) -> anyhow::Result<f64> {
    let secs = run_for.as_secs().max(min_secs);
    let threads = clients.min(std::thread::available_parallelism().map_or(1, |n| n.get()));
    let out = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-f"])
        .arg(&script.path)
        .args(["-h", &server.host, "-p", &server.port.to_string()])
        .args(["-U", &server.user, "-d", database])
        .args(["-c", &clients.to_string(), "-j", &threads.to_string()])
        .args(["-T", &secs.to_string()])
        .env("PGPASSWORD", &server.password)
        .env("PGSSLMODE", "disable")
        .output()
        .context("running pgbench (install PostgreSQL's client tools)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if stdout.contains("actually processed: 0\n") {
        // Connecting took the whole run (a loaded machine): no figure, not an error.
        return Ok(0.0);
    }
    stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .with_context(|| format!("no `tps = ` line in pgbench's output:\n{stdout}"))
}
