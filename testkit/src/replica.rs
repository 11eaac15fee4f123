//! A primary and a real streaming replica of it, for failover tests.
//!
//! [`ReplicaPair::start`] creates a small primary of the test's own (like
//! [`PrivateServer`](crate::PrivateServer): loopback, a free port, `scram-sha-256` with a
//! generated password, a temporary directory), copies it with `pg_basebackup -R` (a standby
//! that streams from the primary) and starts the copy on a port of its own. The test can
//! then stop the primary ([`stop_primary`](ReplicaPair::stop_primary)) and promote the
//! standby ([`promote_standby`](ReplicaPair::promote_standby)). Both are stopped and removed
//! when the pair is dropped. The shared throwaway server is never used: a failover test
//! must stop its primary.

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;

use anyhow::Context;

use crate::cluster::{self, Cluster, InitSpec};

const HOST: &str = "127.0.0.1";
const SUPERUSER: &str = "postgres";

/// A primary and its streaming standby.
pub struct ReplicaPair {
    root: PathBuf,
    primary: Cluster,
    standby: Cluster,
    primary_port: u16,
    standby_port: u16,
    password: String,
}

impl std::fmt::Debug for ReplicaPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaPair")
            .field("root", &self.root)
            .field("primary_port", &self.primary_port)
            .field("standby_port", &self.standby_port)
            .field("password", &"[redacted]")
            .finish()
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn private_dir(path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .with_context(|| format!("creating {}", path.display()))
}

impl ReplicaPair {
    /// Starts a primary, copies it with `pg_basebackup -R` and starts the standby; returns
    /// once the standby streams from the primary (up to 60 s).
    pub fn start() -> anyhow::Result<Self> {
        let bindir = cluster::server_bindir()?;
        let root = std::env::temp_dir().join(format!(
            "pgtide-replica-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos()
        ));
        private_dir(&root)?;
        let primary_dir = root.join("primary");
        let standby_dir = root.join("standby");
        private_dir(&primary_dir)?;
        private_dir(&standby_dir)?;
        if cluster::running_as_root() {
            // The server's OS user walks through `root` to both; `Cluster::init` hands the
            // primary's directory over itself.
            let (uid, gid) = cluster::server_user_ids()?;
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))?;
            std::os::unix::fs::chown(&standby_dir, Some(uid), Some(gid))?;
        }
        let pair = Self {
            primary: Cluster::new(bindir.clone(), primary_dir),
            standby: Cluster::new(bindir, standby_dir),
            primary_port: free_port()?,
            standby_port: free_port()?,
            password: cluster::generate_password()?,
            root,
        };
        pair.primary
            .init(&InitSpec {
                superuser: SUPERUSER,
                password: &pair.password,
                conf: &format!(
                    "\nlisten_addresses = '{HOST}'\nport = {}\nunix_socket_directories = ''\n\
                     password_encryption = 'scram-sha-256'\n\
                     fsync = off\nshared_buffers = 16MB\nmax_connections = 20\n\
                     wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n",
                    pair.primary_port
                ),
                hba: &format!(
                    "host all all {HOST}/32 scram-sha-256\n\
                     host replication {SUPERUSER} {HOST}/32 scram-sha-256\n"
                ),
                keep_root_owned: None,
            })
            .context("initdb of the primary")?;
        pair.primary
            .start(pair.primary_port, &pair.primary.dir().join("server.log"))
            .context("starting the primary")?;
        cluster::run_quiet(
            pair.standby
                .command("pg_basebackup")
                .args(["-h", HOST, "-p", &pair.primary_port.to_string()])
                .args(["-U", SUPERUSER, "-R", "-X", "stream", "-c", "fast", "-D"])
                .arg(pair.standby.data())
                .env("PGPASSWORD", &pair.password),
        )
        .context("pg_basebackup of the primary")?;
        pair.standby
            .start(pair.standby_port, &pair.standby.dir().join("server.log"))
            .context("starting the standby")?;
        Ok(pair)
    }

    /// The loopback address both listen on.
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// The primary's port.
    pub fn primary_port(&self) -> u16 {
        self.primary_port
    }

    /// The standby's port.
    pub fn standby_port(&self) -> u16 {
        self.standby_port
    }

    /// The superuser, `postgres`.
    pub fn user(&self) -> &'static str {
        SUPERUSER
    }

    /// The superuser's generated password (the standby has the same: it is a copy).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Stops the primary as an administrator would (`pg_ctl stop -m fast`): the standby
    /// receives the WAL up to the shutdown checkpoint first, so nothing committed is lost.
    pub fn stop_primary(&self) -> anyhow::Result<()> {
        self.primary.pg_ctl(&["-w", "-m", "fast", "stop"])
    }

    /// Promotes the standby to a primary (`pg_ctl promote -w`: returns once it accepts
    /// writes).
    pub fn promote_standby(&self) -> anyhow::Result<()> {
        self.standby.pg_ctl(&["-w", "-t", "60", "promote"])
    }
}

impl Drop for ReplicaPair {
    fn drop(&mut self) {
        let _ = self.standby.pg_ctl(&["-w", "-m", "immediate", "stop"]);
        let _ = self.primary.pg_ctl(&["-w", "-m", "immediate", "stop"]);
        // std's remove_dir_all does not follow symlinks (openat/unlinkat, O_NOFOLLOW).
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
