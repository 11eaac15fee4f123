//! `cargo xtask test`: the one test command. Starts the throwaway server, runs every check
//! against it with `SQLX_OFFLINE=true`, and stops the server whatever happened, also on
//! Ctrl-C or SIGTERM (a CI timeout), if this run started it. A server that was already
//! running (the developer's `cargo xtask db up`, or a concurrent run) is left running.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cluster;

/// One check of the suite: a name for the summary and the cargo arguments that run it.
struct Step {
    name: &'static str,
    args: Vec<&'static str>,
}

/// The signal that asked xtask to stop (0: none yet). Set by the handler, read by the loop.
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    // Async-signal-safe: one atomic store.
    STOP_SIGNAL.store(signal, Ordering::SeqCst);
}

/// SIGINT, SIGTERM and SIGHUP no longer kill xtask: they set [`STOP_SIGNAL`], the running
/// step is stopped, and the server is stopped on the way out.
fn install_signal_handlers() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction with a handler that only stores to an atomic.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

fn interrupted() -> anyhow::Result<()> {
    match STOP_SIGNAL.load(Ordering::SeqCst) {
        0 => Ok(()),
        signal => bail!("interrupted by signal {signal}"),
    }
}

/// Stops the server when dropped, if this run started it; `cluster::down` is idempotent.
struct StopOnDrop {
    stop: bool,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if !self.stop {
            eprintln!("xtask: the throwaway PostgreSQL was running before; leaving it running");
            return;
        }
        eprintln!("xtask: stopping the throwaway PostgreSQL this run started");
        if let Err(e) = cluster::down() {
            eprintln!("xtask: could not stop the throwaway PostgreSQL: {e:#}");
        }
    }
}

pub fn run() -> anyhow::Result<()> {
    install_signal_handlers();
    let was_running = cluster::server_running();
    // Set up before `up`: if the server starts but `up` fails afterwards (not answering,
    // state file not written), it is still stopped.
    let _stop = StopOnDrop { stop: !was_running };
    if was_running {
        eprintln!(
            "xtask: using the throwaway PostgreSQL that is already running; it stays running"
        );
    } else {
        eprintln!("xtask: starting the throwaway PostgreSQL; it is stopped when the suite ends");
    }
    let state = cluster::up(false)?;
    interrupted()?;
    cluster::drop_test_databases(&state)?;

    let mut failed = Vec::new();
    for step in steps() {
        interrupted()?;
        eprintln!("\nxtask: ── {} ──", step.name);
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(&step.args)
            .current_dir(pgtide_testkit::workspace_root())
            .env("SQLX_OFFLINE", "true")
            .env_remove("DATABASE_URL")
            .env("PGTIDE_DB_STATE", pgtide_testkit::state_path().as_os_str())
            // Its own process group, so that a signal can be passed to cargo and everything
            // it runs (rustc, test binaries) at once.
            .process_group(0);
        let status = run_interruptible(&mut cmd)?;
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

/// Runs `cmd` to completion, unless a signal arrives: then the signal is passed on to the
/// child's process group (SIGKILL after 10 s) and this fails.
fn run_interruptible(cmd: &mut Command) -> anyhow::Result<ExitStatus> {
    let mut child = cmd.spawn().with_context(|| format!("running {cmd:?}"))?;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        let signal = STOP_SIGNAL.load(Ordering::SeqCst);
        if signal != 0 {
            stop_group(&mut child, signal);
            bail!("interrupted by signal {signal}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop_group(child: &mut Child, signal: i32) {
    let Ok(pgid) = i32::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) on the child's own process group (it is the group leader).
    unsafe { libc::kill(-pgid, signal) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().is_ok_and(|s| s.is_some()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: as above.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let _ = child.wait();
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
