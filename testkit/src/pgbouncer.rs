//! A real PgBouncer (Debian's `pgbouncer`) in transaction mode, in front of the throwaway
//! server, on a free loopback port.
//!
//! [`Bouncer::shared`] starts one per throwaway server and every test process reuses it
//! (recorded in `<target>/pgtide-db/pgbouncer/state.json`, started under a file lock so
//! parallel test processes start only one). It runs as a daemon until `cargo xtask db down`
//! (or [`stop_shared`]) stops it. With `PGTIDE_TEST_VIA=pgbouncer`,
//! [`TestDb::url`](crate::TestDb::url) points at it, so the same tests run through it.
//!
//! Its settings are pgtide's `pgtide::pgbouncer::REQUIRED_SETTINGS` (written out here:
//! the testkit does not depend on pgtide): `pool_mode = transaction`, `server_reset_query =
//! DEALLOCATE ALL`, `server_reset_query_always = 1`, `ignore_startup_parameters =
//! extra_float_digits`; any database name is forwarded to the server (`* = …`).

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::cluster::{SERVER_OS_USER, running_as_root};
use crate::server::{Server, ServerState, state_path};

/// Environment variable: `pgbouncer` makes [`TestDb`](crate::TestDb) hand out URLs through
/// the shared PgBouncer.
pub const VIA_ENV: &str = "PGTIDE_TEST_VIA";

/// Server connections PgBouncer opens per database and user: small, so that clients share
/// them (what transaction pooling is about), and several test processes fit the server.
pub const POOL_SIZE: u32 = 3;

const HOW_TO_INSTALL: &str = "install Debian's pgbouncer: `apt-get install -y pgbouncer` (as root)";

/// Whether `PGTIDE_TEST_VIA=pgbouncer` is set.
pub fn via_pgbouncer() -> bool {
    std::env::var(VIA_ENV).is_ok_and(|v| v == "pgbouncer")
}

/// A running PgBouncer.
#[derive(Clone, Serialize, Deserialize)]
pub struct Bouncer {
    /// Loopback address it listens on.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Its directory (configuration, pid file, log).
    pub dir: PathBuf,
    /// The server behind it.
    pub server: ServerState,
}

impl std::fmt::Debug for Bouncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bouncer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Bouncer {
    /// The shared PgBouncer in front of the throwaway server: reused when running, started
    /// otherwise. Fails saying how to install PgBouncer when it is missing.
    pub async fn shared() -> anyhow::Result<Self> {
        let server = Server::discover().await?.state;
        let dir = shared_dir();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            let _lock = Flock::exclusive(&dir.join("lock"))?;
            let state = dir.join("state.json");
            if let Ok(text) = std::fs::read_to_string(&state)
                && let Ok(bouncer) = serde_json::from_str::<Self>(&text)
                && bouncer.server.port == server.port
                && bouncer.server.password == server.password
                && answers(&bouncer.host, bouncer.port)
            {
                return Ok(bouncer);
            }
            let bouncer = Self::start(&server, &dir)?;
            std::fs::write(&state, serde_json::to_string_pretty(&bouncer)?)?;
            set_private(&state)?;
            Ok(bouncer)
        })
        .await?
    }

    /// Starts a PgBouncer in `dir` (created if missing) in front of `server`.
    pub fn start(server: &ServerState, dir: &Path) -> anyhow::Result<Self> {
        let binary = binary()?;
        std::fs::create_dir_all(dir)?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let bouncer = Self {
            host: "127.0.0.1".into(),
            port,
            dir: dir.to_path_buf(),
            server: server.clone(),
        };
        let _ = std::fs::remove_file(bouncer.pid_file());
        let users = dir.join("userlist.txt");
        std::fs::write(
            &users,
            format!("\"{}\" \"{}\"\n", server.user, server.password),
        )?;
        set_private(&users)?;
        let ini = dir.join("pgbouncer.ini");
        std::fs::write(&ini, bouncer.ini(&users))?;
        set_private(&ini)?;
        if running_as_root() {
            // PgBouncer refuses to run as root; it reads its files before switching user,
            // then writes its log and pid file as that user.
            let (uid, gid) = crate::cluster::server_user_ids()?;
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
        }
        let mut cmd = Command::new(binary);
        cmd.arg("-d");
        if running_as_root() {
            cmd.args(["-u", SERVER_OS_USER]);
        }
        cmd.arg(&ini);
        crate::cluster::run_quiet(&mut cmd).with_context(|| {
            format!(
                "starting pgbouncer (log: {})",
                dir.join("pgbouncer.log").display()
            )
        })?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !answers(&bouncer.host, bouncer.port) {
            if Instant::now() > deadline {
                bail!(
                    "pgbouncer did not answer on {}:{} within 10 s (log: {})",
                    bouncer.host,
                    port,
                    dir.join("pgbouncer.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(bouncer)
    }

    /// `postgres://` URL of `database` through this PgBouncer, marked for pgtide's
    /// PgBouncer mode (`?pgbouncer=true`).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}:{}@{}:{}/{}?pgbouncer=true",
            self.server.user, self.server.password, self.host, self.port, database
        )
    }

    /// Stops it (`SIGTERM` to the pid in its pid file) and waits for it to go.
    pub fn stop(&self) -> anyhow::Result<()> {
        let Some(pid) = std::fs::read_to_string(self.pid_file())
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        else {
            return Ok(());
        };
        // SAFETY: kill has no memory-safety preconditions.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        // SAFETY: as above; signal 0 only checks the process exists.
        while unsafe { libc::kill(pid, 0) } == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("pgbouncer.pid")
    }

    fn ini(&self, users: &Path) -> String {
        format!(
            "[databases]\n\
             * = host={host} port={port}\n\
             [pgbouncer]\n\
             listen_addr = {listen}\n\
             listen_port = {listen_port}\n\
             unix_socket_dir =\n\
             auth_type = scram-sha-256\n\
             auth_file = {users}\n\
             pool_mode = transaction\n\
             server_reset_query = DEALLOCATE ALL\n\
             server_reset_query_always = 1\n\
             ignore_startup_parameters = extra_float_digits\n\
             default_pool_size = {POOL_SIZE}\n\
             max_client_conn = 2000\n\
             server_tls_sslmode = disable\n\
             logfile = {log}\n\
             pidfile = {pid}\n\
             admin_users = {user}\n",
            host = self.server.host,
            port = self.server.port,
            listen = self.host,
            listen_port = self.port,
            users = users.display(),
            log = self.dir.join("pgbouncer.log").display(),
            pid = self.pid_file().display(),
            user = self.server.user,
        )
    }
}

/// Stops the shared PgBouncer, if one runs (for `cargo xtask db down`).
pub fn stop_shared() -> anyhow::Result<()> {
    let state = shared_dir().join("state.json");
    let Ok(text) = std::fs::read_to_string(&state) else {
        return Ok(());
    };
    let bouncer: Bouncer = serde_json::from_str(&text)?;
    bouncer.stop()?;
    let _ = std::fs::remove_file(state);
    Ok(())
}

/// `<target>/pgtide-db/pgbouncer`.
fn shared_dir() -> PathBuf {
    state_path()
        .parent()
        .map_or_else(|| PathBuf::from("pgbouncer"), |p| p.join("pgbouncer"))
}

/// The `pgbouncer` binary: on `PATH`, or Debian's `/usr/sbin/pgbouncer`.
pub fn binary() -> anyhow::Result<PathBuf> {
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([PathBuf::from("/usr/sbin")])
    {
        let candidate = dir.join("pgbouncer");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!("no pgbouncer binary found (looked on PATH and in /usr/sbin): {HOW_TO_INSTALL}")
}

fn answers(host: &str, port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &format!("{host}:{port}")
            .parse()
            .expect("a loopback address"),
        Duration::from_millis(500),
    )
    .is_ok()
}

fn set_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    if running_as_root() {
        let (uid, gid) = crate::cluster::server_user_ids()?;
        std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    }
    Ok(())
}

/// An exclusive `flock` held until dropped.
struct Flock(std::fs::File);

impl Flock {
    fn exclusive(path: &Path) -> anyhow::Result<Self> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: a valid open descriptor.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            bail!("locking {}", path.display());
        }
        Ok(Self(file))
    }
}

impl Drop for Flock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}
