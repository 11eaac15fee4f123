//! `cargo xtask test`: the one test command. Starts the throwaway server, runs every check
//! against it with `SQLX_OFFLINE=true`, and stops the server whatever happened, also on
//! Ctrl-C or SIGTERM (a CI timeout), if a test run started it. A server the developer started
//! (`cargo xtask db up`) is left running; one shared by concurrent test runs of this checkout
//! is stopped by the last of them to finish.

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cluster;

/// One check of the suite: a name for the summary and the cargo arguments that run it.
///
/// A `cargo run --package P [--bin B] -- ARGS` step runs the binary the `build` step built
/// (see [`Step::command`]): `cargo run -p P` would resolve the dependencies' features for P
/// alone, unlike the workspace build, and compile a second copy of much of the graph.
struct Step {
    name: &'static str,
    args: Vec<&'static str>,
}

/// Packages whose binary is not named after the package.
const BINARY_OF_PACKAGE: &[(&str, &str)] = &[("pgtide-cli", "pgtide")];

impl Step {
    /// The command that runs the step: cargo, or for a `cargo run` step the already built
    /// binary under `target/debug` (cargo again if it is not there).
    fn command(&self) -> Command {
        if let Some((binary, args)) = self.built_binary() {
            let path = target_dir().join("debug").join(binary);
            if path.is_file() {
                let mut cmd = Command::new(path);
                cmd.args(args);
                return cmd;
            }
        }
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(&self.args);
        cmd
    }

    /// For `run [--quiet] --package P [--bin B] -- ARGS`: the binary's name and ARGS.
    fn built_binary(&self) -> Option<(&'static str, &[&'static str])> {
        let (head, rest) = self.args.split_first()?;
        if *head != "run" {
            return None;
        }
        let split = rest.iter().position(|a| *a == "--")?;
        let (options, args) = (&rest[..split], &rest[split + 1..]);
        let value = |flag: &str| {
            options
                .iter()
                .position(|a| *a == flag)
                .and_then(|i| options.get(i + 1).copied())
        };
        let package = value("--package").or_else(|| value("-p"))?;
        let known = ["--quiet", "--package", "-p", "--bin", package];
        if options
            .iter()
            .any(|o| !known.contains(o) && Some(*o) != value("--bin"))
        {
            return None;
        }
        let binary = value("--bin").unwrap_or_else(|| {
            BINARY_OF_PACKAGE
                .iter()
                .find(|(p, _)| *p == package)
                .map_or(package, |(_, b)| *b)
        });
        Some((binary, args))
    }
}

/// The cargo target directory (`CARGO_TARGET_DIR`, else `<workspace>/target`).
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => pgtide_testkit::workspace_root().join(dir),
        None => pgtide_testkit::workspace_root().join("target"),
    }
}

/// The step whose slowest tests are listed (from nextest's JUnit report).
const TESTS_STEP: &str = "tests";

/// The `count` slowest tests of the last nextest run of the default profile, from the JUnit
/// report `.config/nextest.toml` asks for (nothing when there is none: plain `cargo test`).
fn print_slowest_tests(count: usize) {
    let path = target_dir().join("nextest/default/junit.xml");
    let Ok(xml) = std::fs::read_to_string(&path) else {
        return;
    };
    let attribute = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let len = tag[start..].find('"')?;
        Some(tag[start..start + len].to_owned())
    };
    let mut tests: Vec<(f64, String)> = xml
        .split("<testcase")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            let time = attribute(tag, "time")?.parse().ok()?;
            let name = format!(
                "{} {}",
                attribute(tag, "classname")?,
                attribute(tag, "name")?
            );
            Some((time, name))
        })
        .collect();
    tests.sort_by(|a, b| b.0.total_cmp(&a.0));
    eprintln!("\nxtask: the {count} slowest of {} tests", tests.len());
    for (time, name) in tests.iter().take(count) {
        eprintln!("  {time:>7.1} s  {name}");
    }
}

/// The summary: each step's wall time, and the total.
fn print_durations(took: &[(&str, Duration)]) {
    eprintln!("\nxtask: step durations");
    for (name, d) in took {
        eprintln!("  {name:<22} {:>7.1} s", d.as_secs_f64());
    }
    let total: Duration = took.iter().map(|(_, d)| *d).sum();
    eprintln!("  {:<22} {:>7.1} s", "total", total.as_secs_f64());
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

/// A `flock(2)` lock on a file beside the state file, released when dropped (file closed).
struct Flock(std::fs::File);

impl Flock {
    fn open(name: &str) -> anyhow::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = pgtide_testkit::state_path().with_file_name(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self(file))
    }

    /// Takes the lock (`LOCK_SH` / `LOCK_EX`, maybe `| LOCK_NB`); false if it would block.
    fn lock(&self, operation: libc::c_int) -> anyhow::Result<bool> {
        // SAFETY: flock(2) on a descriptor we own.
        if unsafe { libc::flock(self.0.as_raw_fd(), operation) } == 0 {
            return Ok(true);
        }
        let error = std::io::Error::last_os_error();
        if error.kind() == std::io::ErrorKind::WouldBlock {
            return Ok(false);
        }
        Err(error).context("flock")
    }
}

/// Held exclusively while a test run checks for and starts the server, and while one decides
/// whether to stop it: starting and stopping never overlap.
const UP_LOCK: &str = "suite-up.lock";
/// Held shared by every `cargo xtask test` of this checkout while it runs: the one that can
/// take it exclusively at the end is the last one, and may stop the server.
const RUN_LOCK: &str = "suite-run.lock";

/// Written when a test run starts the server: the postmaster's pid. While that postmaster
/// runs, the server belongs to test runs (not to the developer), and the last run stops it.
fn marker_path() -> PathBuf {
    pgtide_testkit::state_path().with_file_name("started-by-test")
}

fn marker_matches_server() -> bool {
    let marked = std::fs::read_to_string(marker_path())
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok());
    marked.is_some() && marked == cluster::postmaster_pid()
}

/// Stops the server when dropped if a test run started it and no other test run of this
/// checkout still uses it; `cluster::down` is idempotent.
struct StopOnDrop {
    started_here: bool,
    run_lock: Flock,
}

impl StopOnDrop {
    /// Joins the runs of this checkout; the returned `up` lock is to be held until the
    /// server is up.
    fn new() -> anyhow::Result<(Self, Flock)> {
        let up_lock = Flock::open(UP_LOCK)?;
        up_lock.lock(libc::LOCK_EX)?;
        let run_lock = Flock::open(RUN_LOCK)?;
        run_lock.lock(libc::LOCK_SH)?;
        let stop = Self {
            started_here: false,
            run_lock,
        };
        Ok((stop, up_lock))
    }

    /// Records that this run started the server.
    fn mark_started(&mut self) {
        self.started_here = true;
        if let Some(pid) = cluster::postmaster_pid()
            && let Err(e) = std::fs::write(marker_path(), pid.to_string())
        {
            eprintln!("xtask: could not record that this run started the server: {e}");
        }
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if !self.started_here && !marker_matches_server() {
            if cluster::server_running() {
                eprintln!(
                    "xtask: the throwaway PostgreSQL was running before (`cargo xtask db up`); \
                     leaving it running"
                );
            }
            return;
        }
        // No run starts meanwhile; shared → exclusive succeeds only if no other run is going.
        let up_lock = Flock::open(UP_LOCK).and_then(|l| l.lock(libc::LOCK_EX).map(|_| l));
        let alone = self
            .run_lock
            .lock(libc::LOCK_EX | libc::LOCK_NB)
            .unwrap_or(false);
        if !alone {
            eprintln!(
                "xtask: another `cargo xtask test` in this checkout still uses the throwaway \
                 PostgreSQL; the last one to finish stops it"
            );
            return;
        }
        eprintln!("xtask: stopping the throwaway PostgreSQL a test run started");
        if let Err(e) = cluster::down() {
            eprintln!("xtask: could not stop the throwaway PostgreSQL: {e:#}");
        }
        let _ = std::fs::remove_file(marker_path());
        drop(up_lock);
    }
}

pub fn run() -> anyhow::Result<()> {
    install_signal_handlers();
    // Set up before `up`: if the server starts but `up` fails afterwards (not answering,
    // state file not written), it is still stopped.
    let (mut stop, up_lock) = StopOnDrop::new()?;
    let was_running = cluster::server_running();
    if was_running {
        eprintln!(
            "xtask: using the throwaway PostgreSQL that is already running; \
             it is stopped at the end only if a test run started it"
        );
    } else {
        stop.started_here = true;
        eprintln!("xtask: starting the throwaway PostgreSQL; it is stopped when the suite ends");
    }
    let state = match cluster::up(false) {
        Ok(state) => state,
        Err(e) => {
            // Released before `stop` takes it again (another descriptor would wait forever).
            drop(up_lock);
            return Err(e);
        }
    };
    if !was_running {
        stop.mark_started();
    }
    drop(up_lock);
    interrupted()?;
    cluster::drop_test_databases(&state)?;

    ensure_pgbouncer()?;

    let mut failed = Vec::new();
    let mut took = Vec::new();
    for step in steps() {
        interrupted()?;
        eprintln!("\nxtask: ── {} ──", step.name);
        let started = Instant::now();
        let mut cmd = step.command();
        cmd.current_dir(pgtide_testkit::workspace_root())
            .env("SQLX_OFFLINE", "true")
            .env_remove("DATABASE_URL")
            .env("PGTIDE_DB_STATE", pgtide_testkit::state_path().as_os_str())
            // Its own process group, so that a signal can be passed to cargo and everything
            // it runs (rustc, test binaries) at once.
            .process_group(0);
        if step.name == VIA_PGBOUNCER_STEP {
            cmd.env(pgtide_testkit::pgbouncer::VIA_ENV, "pgbouncer");
        }
        let status = run_interruptible(&mut cmd)?;
        took.push((step.name, started.elapsed()));
        if step.name == TESTS_STEP {
            print_slowest_tests(15);
        }
        if !status.success() {
            eprintln!("xtask: {} failed ({status})", step.name);
            failed.push(step.name);
        }
    }
    print_durations(&took);
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
            // Everything, once, with the workspace's one feature resolution: the tests step
            // finds it built, and the `cargo run` steps run its binaries (see `Step`).
            name: "build",
            args: vec!["build", "--workspace", "--all-targets"],
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
            // The transfer tests' object store emulators (moto, Azurite) under target/emulators.
            name: "emulators",
            args: vec![
                "run",
                "--quiet",
                "--package",
                "pgtide-testkit",
                "--bin",
                "pgtide-emulators",
                "--",
                "install",
            ],
        },
        Step {
            name: TESTS_STEP,
            args: tests,
        },
        via_pgbouncer_step(),
        Step {
            // The bench's every client, one short round (`cargo xtask bench` measures).
            name: "bench --smoke",
            args: vec![
                "run",
                "--quiet",
                "--package",
                "pgtide-bench",
                "--",
                "--smoke",
            ],
        },
        Step {
            // Last: `cargo test --doc` resolves some dependencies' features differently from
            // the workspace build (measured: `ring`, then rustls, sqlx, object_store, pgtide,
            // 18 crates), compiling them again over the build step's copies; anywhere
            // earlier, the tests step then compiled the same 19 back (4–5 min each on the
            // loaded 2-core machine).
            name: "doctests",
            args: vec!["test", "--workspace", "--doc"],
        },
    ]
}

/// The step that runs the query tests a second time through a real PgBouncer in
/// transaction mode (`PGTIDE_TEST_VIA=pgbouncer`; see `pgtide_testkit::pgbouncer`).
const VIA_PGBOUNCER_STEP: &str = "tests via pgbouncer";

/// Tests of the second run's binaries that cannot work through PgBouncer's transaction
/// pooling, each with why. What they prove is either direct-connection machinery or covered
/// for PgBouncer by `tests/pgbouncer.rs`.
const NOT_VIA_PGBOUNCER: &[(&str, &str)] = &[
    // Identify a connection by its backend pid: behind PgBouncer the pid is whichever server
    // connection answered, and pgtide knows none (see `pgtide::pgbouncer`).
    (
        "a_stream_dropped_midway_leaves_no_busy_connection",
        "backend pid",
    ),
    (
        "a_cancelled_copy_never_goes_back_to_the_pool",
        "backend pid",
    ),
    // The direct-connection cancel (`pg_cancel_backend(pid)`, client deadline); behind
    // PgBouncer the server's statement_timeout cancels (tests/pgbouncer.rs).
    (
        "a_short_per_call_timeout_cancels_on_the_server_and_keeps_the_connection",
        "pid cancel",
    ),
    // Statements with parameters on a raw `&mut *conn` outside a transaction: sqlx prepares
    // and executes them in two exchanges, between which PgBouncer lends the server
    // connection to another client. Documented as unsupported in `pgtide::pgbouncer`.
    (
        "helpers_and_generated_style_functions_run_on_pool_connection_and_transaction",
        "raw connection outside a transaction",
    ),
    (
        "a_per_call_timeout_dropped_by_the_caller_does_not_leak_its_session_state",
        "raw connection outside a transaction",
    ),
    (
        "rows_stream_on_every_kind_of_connection",
        "raw connection outside a transaction",
    ),
    (
        "text_binary_byte_streams_and_row_streams_load",
        "raw connection outside a transaction",
    ),
    // 10,000 single-row executions: without a statement cache each is prepared again, two
    // round trips through PgBouncer each (60–90 s); all-or-nothing is covered by the rest.
    (
        "ten_thousand_rows_in_one_transaction",
        "too slow for the suite",
    ),
    ("one_failure_rolls_every_row_back", "too slow for the suite"),
];

fn via_pgbouncer_step() -> Step {
    let binaries = ["query", "transaction", "stream", "copy", "execute_many"]
        .iter()
        .map(|b| format!("binary_id(pgtide::{b})"))
        .chain(["binary_id(pgtide-example::spans)".to_owned()])
        .collect::<Vec<_>>()
        .join(" | ");
    let excluded = NOT_VIA_PGBOUNCER
        .iter()
        .map(|(name, _why)| format!("test(={name})"))
        .collect::<Vec<_>>()
        .join(" | ");
    let filter: &'static str = Box::leak(format!("({binaries}) - ({excluded})").into_boxed_str());
    Step {
        name: VIA_PGBOUNCER_STEP,
        args: if nextest_available() {
            vec![
                "nextest",
                "run",
                "--workspace",
                // The tests step's selection: the same build, nothing compiled again.
                "--all-targets",
                "--no-tests=fail",
                "-E",
                filter,
            ]
        } else {
            // Without nextest: the library's binaries, the same tests left out.
            let mut args = vec!["test", "-p", "pgtide"];
            for b in ["query", "transaction", "stream", "copy", "execute_many"] {
                args.extend(["--test", b]);
            }
            args.push("--");
            for (name, _why) in NOT_VIA_PGBOUNCER {
                args.extend(["--skip", name]);
            }
            args
        },
    }
}

/// The PgBouncer tests need Debian's `pgbouncer`: installed here when missing and we are
/// root, else the run fails at once naming the command.
fn ensure_pgbouncer() -> anyhow::Result<()> {
    if pgtide_testkit::pgbouncer::binary().is_ok() {
        return Ok(());
    }
    const INSTALL: &str = "apt-get install -y pgbouncer";
    if pgtide_testkit::cluster::running_as_root() {
        eprintln!("xtask: pgbouncer is missing; installing it: {INSTALL}");
        let apt = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        // Package lists as old as the machine's image may name a version the mirror no
        // longer has: refresh them once when the first try fails.
        let installed = apt(&["install", "-y", "pgbouncer"])
            || (apt(&["update"]) && apt(&["install", "-y", "pgbouncer"]));
        if installed && pgtide_testkit::pgbouncer::binary().is_ok() {
            return Ok(());
        }
    }
    bail!("the PgBouncer tests need Debian's pgbouncer: run `{INSTALL}` as root")
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
