//! A small PostgreSQL server of a test's own, for tests that stop and start the server.
//!
//! The shared throwaway server must never be stopped by a test (other tests run against it
//! in parallel); a test that needs a real shutdown starts one of these instead. It listens
//! on a free loopback port with `trust` authentication, lives in a temporary directory, and
//! is stopped and removed when dropped. As root, it belongs to the `postgres` OS user.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const SERVER_OS_USER: &str = "postgres";

/// A private PostgreSQL server: [`stop`](Self::stop) and [`start`](Self::start) it at will.
#[derive(Debug)]
pub struct PrivateServer {
    bindir: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl PrivateServer {
    /// Creates a cluster (`initdb`) and starts it.
    pub fn start_new() -> anyhow::Result<Self> {
        let bindir = bindir()?;
        let dir = std::env::temp_dir().join(format!(
            "pgtide-private-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos()
        ));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        if as_root() {
            let status = Command::new("chown")
                .arg(format!("{SERVER_OS_USER}:"))
                .arg(&dir)
                .status()?;
            if !status.success() {
                bail!("chown {} failed", dir.display());
            }
        }
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let server = Self { bindir, dir, port };
        run(server
            .command("initdb")
            .arg("-D")
            .arg(server.data())
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "--no-locale"])
            .args(["-E", "UTF8"]))
        .context("initdb of a private test server")?;
        std::fs::write(
            server.data().join("postgresql.auto.conf"),
            format!(
                "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\n\
                 fsync = off\nshared_buffers = 16MB\nmax_connections = 20\n"
            ),
        )?;
        server.start()?;
        Ok(server)
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    pub fn start(&self) -> anyhow::Result<()> {
        let log = self.dir.join("server.log");
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start"]))
        .with_context(|| format!("starting the private server (log: {})", log.display()))
    }

    /// Stops the server the way an administrator would (`pg_ctl stop -m fast`): running
    /// statements are cancelled with `57P01` and their connections closed.
    pub fn stop(&self) -> anyhow::Result<()> {
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-m", "fast", "stop"]))
    }

    /// The loopback address it listens on.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The port it listens on (the same after a restart).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser, `postgres` (no password needed: `trust`).
    pub fn user(&self) -> &'static str {
        "postgres"
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bindir.join(program);
        if as_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", SERVER_OS_USER, "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        }
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = run(self.command("pg_ctl").arg("-D").arg(self.data()).args([
            "-w",
            "-m",
            "immediate",
            "stop",
        ]));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

/// The server binaries: `$PG_BINDIR`, `pg_config --bindir`, or the newest
/// `/usr/lib/postgresql/*/bin`.
fn bindir() -> anyhow::Result<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").exists() && dir.join("pg_ctl").exists();
    if let Some(dir) = std::env::var_os("PG_BINDIR").map(PathBuf::from)
        && has_server(&dir)
    {
        return Ok(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, dir)| has_server(dir))
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, dir)| dir)
        .context("no PostgreSQL server binaries found (install them: `apt-get install postgresql`)")
}
