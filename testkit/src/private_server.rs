//! A small PostgreSQL server of a test's own, for tests that stop and start the server.
//!
//! The shared throwaway server must never be stopped by a test (other tests run against it
//! in parallel); a test that needs a real shutdown starts one of these instead. It listens
//! on a free loopback port with `scram-sha-256` password authentication (a generated
//! password, [`PrivateServer::password`]), lives in a temporary directory, and is stopped and
//! removed when dropped. As root, it belongs to the `postgres` OS user (see [`crate::cluster`]).

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;

use anyhow::Context;

use crate::cluster::{self, Cluster, InitSpec};

const HOST: &str = "127.0.0.1";
const SUPERUSER: &str = "postgres";

/// A private PostgreSQL server: [`stop`](Self::stop) and [`start`](Self::start) it at will.
pub struct PrivateServer {
    cluster: Cluster,
    port: u16,
    password: String,
}

impl std::fmt::Debug for PrivateServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateServer")
            .field("dir", &self.cluster.dir())
            .field("port", &self.port)
            .field("password", &"[redacted]")
            .finish()
    }
}

impl PrivateServer {
    /// Creates a cluster (`initdb`) and starts it.
    pub fn start_new() -> anyhow::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let bindir = cluster::server_bindir()?;
        let dir = std::env::temp_dir().join(format!(
            "pgtide-private-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos()
        ));
        // A fresh private directory: fails if anything (a planted symlink) is there already.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let server = Self {
            cluster: Cluster::new(bindir, dir),
            port,
            password: cluster::generate_password()?,
        };
        server
            .cluster
            .init(&InitSpec {
                superuser: SUPERUSER,
                password: &server.password,
                conf: &format!(
                    "\nlisten_addresses = '{HOST}'\nport = {port}\nunix_socket_directories = ''\n\
                     password_encryption = 'scram-sha-256'\n\
                     fsync = off\nshared_buffers = 16MB\nmax_connections = 20\n"
                ),
                hba: &format!("host all all {HOST}/32 scram-sha-256\n"),
                keep_root_owned: None,
            })
            .context("initdb of a private test server")?;
        server.start()?;
        Ok(server)
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    pub fn start(&self) -> anyhow::Result<()> {
        self.cluster
            .start(self.port, &self.log())
            .context("starting the private server")
    }

    /// Stops the server the way an administrator would (`pg_ctl stop -m fast`): running
    /// statements are cancelled with `57P01` and their connections closed.
    pub fn stop(&self) -> anyhow::Result<()> {
        self.cluster.pg_ctl(&["-w", "-m", "fast", "stop"])
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`): every backend exits
    /// at once without cleanup, and the next start runs crash recovery from the WAL.
    pub fn stop_immediate(&self) -> anyhow::Result<()> {
        self.cluster.pg_ctl(&["-w", "-m", "immediate", "stop"])
    }

    /// The loopback address it listens on.
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// The port it listens on (the same after a restart).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser, `postgres`.
    pub fn user(&self) -> &'static str {
        SUPERUSER
    }

    /// The superuser's generated password (`scram-sha-256`; nothing gets in without it).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// A URL for `database` as the superuser, password included (keep it out of logs).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@{HOST}:{}/{database}?sslmode=disable",
            self.password, self.port
        )
    }

    fn log(&self) -> PathBuf {
        self.cluster.dir().join("server.log")
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self.cluster.pg_ctl(&["-w", "-m", "immediate", "stop"]);
        // std's remove_dir_all does not follow symlinks (openat/unlinkat, O_NOFOLLOW).
        let _ = std::fs::remove_dir_all(self.cluster.dir());
    }
}
