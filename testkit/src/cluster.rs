//! The one way this repository creates and drives a PostgreSQL cluster: finding the server
//! binaries, `initdb`, `pg_ctl`, and running as the `postgres` OS user when we are root.
//!
//! Used by `cargo xtask db` (the shared throwaway server) and by [`PrivateServer`]
//! (a test's own server).
//!
//! `initdb` refuses to run as root, so as root the cluster belongs to the `postgres` OS user.
//! The order is then fixed: root writes everything it wants into the (fresh, private) cluster
//! directory, hands the whole tree to `postgres` once, and from then on every step — `initdb`,
//! editing the configuration, `pg_ctl` — runs *as* `postgres`. Root never writes or `chown`s
//! through a path that user could have swapped for a symlink.
//!
//! Authentication is always `scram-sha-256` with a generated superuser password: nothing gets
//! in over TCP without it.
//!
//! [`PrivateServer`]: crate::PrivateServer

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The OS user that owns the cluster when we run as root.
pub const SERVER_OS_USER: &str = "postgres";

/// Whether this process runs as root (then the server runs as [`SERVER_OS_USER`]).
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Finds the PostgreSQL server binaries, in this order: `$PG_BINDIR` (an error if it has no
/// `initdb`/`pg_ctl`), `pg_config --bindir`, the directory of `initdb` on `PATH`, then the
/// newest `/usr/lib/postgresql/<version>/bin`.
pub fn server_bindir() -> anyhow::Result<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").exists() && dir.join("pg_ctl").exists();
    if let Some(dir) = std::env::var_os("PG_BINDIR").map(PathBuf::from) {
        if has_server(&dir) {
            return Ok(dir);
        }
        bail!("PG_BINDIR={} has no initdb/pg_ctl", dir.display());
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Ok(dir);
        }
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if let Ok(initdb) = dir.join("initdb").canonicalize()
            && let Some(real_dir) = initdb.parent()
            && has_server(real_dir)
        {
            return Ok(real_dir.to_path_buf());
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
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    bail!(
        "no PostgreSQL server binaries found (looked at $PG_BINDIR, `pg_config --bindir`, PATH and \
         /usr/lib/postgresql/*/bin); install them, on Debian/Ubuntu: `apt-get install postgresql`"
    )
}

/// The server OS user's uid and gid (only needed as root).
pub fn server_user_ids() -> anyhow::Result<(u32, u32)> {
    let id = |flag: &str| -> anyhow::Result<u32> {
        let out = Command::new("id").args([flag, SERVER_OS_USER]).output()?;
        if !out.status.success() {
            bail!(
                "running as root, the server must run as the `{SERVER_OS_USER}` OS user, which \
                 does not exist: install PostgreSQL's server package (`apt-get install postgresql`) \
                 or run as a normal user"
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
    };
    Ok((id("-u")?, id("-g")?))
}

/// `program` run as the server's OS user: through `runuser` when we are root, directly
/// otherwise.
pub fn as_server_user(program: impl AsRef<std::ffi::OsStr>) -> Command {
    if running_as_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", SERVER_OS_USER, "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// Runs `cmd`, failing with its output when it exits unsuccessfully.
pub fn run_quiet(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{} exited with {}:\n{}{}",
            Path::new(cmd.get_program()).display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A random password (hex), read from `/dev/urandom`.
pub fn generate_password() -> anyhow::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 18];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What [`Cluster::init`] sets up.
#[derive(Clone, Copy)]
pub struct InitSpec<'a> {
    /// The superuser's name.
    pub superuser: &'a str,
    /// The superuser's password (`scram-sha-256`).
    pub password: &'a str,
    /// Lines appended to `postgresql.conf`.
    pub conf: &'a str,
    /// The whole of `pg_hba.conf`.
    pub hba: &'a str,
    /// A file under the cluster directory that stays root's (say, a client key root reads).
    pub keep_root_owned: Option<&'a Path>,
}

impl std::fmt::Debug for InitSpec<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitSpec")
            .field("superuser", &self.superuser)
            .field("password", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A cluster directory (`dir`, holding `data/`) and the binaries that run it.
#[derive(Debug, Clone)]
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
}

impl Cluster {
    /// The cluster in `dir` (which holds the data directory `data/`), run by the binaries in
    /// `bin` (see [`server_bindir`]).
    pub fn new(bin: PathBuf, dir: PathBuf) -> Self {
        Self { bin, dir }
    }

    /// The binaries' directory.
    pub fn bindir(&self) -> &Path {
        &self.bin
    }

    /// The cluster directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The data directory, `<dir>/data`.
    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A server binary (`initdb`, `pg_ctl`, …) run as the server's OS user.
    pub fn command(&self, name: &str) -> Command {
        as_server_user(self.bin.join(name))
    }

    /// Creates the cluster. `dir` must exist, be fresh and private (created by this process,
    /// mode 0700) and already hold whatever root wants in it (say, certificates): as root it
    /// is handed to the server's OS user here, once, and everything after runs as that user.
    pub fn init(&self, spec: &InitSpec<'_>) -> anyhow::Result<()> {
        let pwfile = self.dir.join("pwfile");
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&pwfile)
                .with_context(|| format!("creating {}", pwfile.display()))?
                .write_all(spec.password.as_bytes())?;
        }
        let initdb = self
            .hand_to_server_user(spec.keep_root_owned)
            .and_then(|()| {
                run_quiet(
                    self.command("initdb")
                        .arg("-D")
                        .arg(self.data())
                        .args(["-U", spec.superuser, "--auth=scram-sha-256"])
                        .args(["-E", "UTF8", "--no-locale", "--no-sync"])
                        .arg(format!("--pwfile={}", pwfile.display())),
                )
                .context("initdb failed")
            });
        // The password file goes however initdb ended; as the user that owns it now.
        let removed = run_quiet(as_server_user("rm").arg("-f").arg(&pwfile));
        initdb?;
        removed?;
        self.write_as_server_user(&self.data().join("postgresql.conf"), spec.conf, true)?;
        self.write_as_server_user(&self.data().join("pg_hba.conf"), spec.hba, false)?;
        Ok(())
    }

    /// As root, gives the whole (fresh) cluster directory to the server's OS user, except
    /// `keep`. Nothing the server user wrote exists yet, so nothing here can be a planted
    /// symlink.
    fn hand_to_server_user(&self, keep: Option<&Path>) -> anyhow::Result<()> {
        if !running_as_root() {
            return Ok(());
        }
        let (uid, gid) = server_user_ids()?;
        chown_tree(&self.dir, uid, gid, keep)
    }

    /// Writes (or appends) `text` to `path` as the server's OS user, so a symlink that user
    /// planted there gains them nothing.
    fn write_as_server_user(&self, path: &Path, text: &str, append: bool) -> anyhow::Result<()> {
        let mut tee = as_server_user("tee");
        if append {
            tee.arg("-a");
        }
        let mut child = tee
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("running tee")?;
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(text.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "writing {} failed: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// Runs `pg_ctl -D <data> <args>` as the server's OS user.
    pub fn pg_ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        run_quiet(self.command("pg_ctl").arg("-D").arg(self.data()).args(args))
    }

    /// Starts the server on `port`, logging to `log`, and waits (up to 60 s) for it.
    pub fn start(&self, port: u16, log: &Path) -> anyhow::Result<()> {
        let options = format!("-p {port}");
        let log_arg = log.to_string_lossy();
        self.pg_ctl(&["start", "-w", "-t", "60", "-l", &log_arg, "-o", &options])
            .with_context(|| format!("starting PostgreSQL (server log: {})", log.display()))
    }

    /// Whether a data directory exists and `pg_ctl status` says its server runs.
    pub fn is_running(&self) -> bool {
        self.data().join("PG_VERSION").exists()
            && self
                .command("pg_ctl")
                .arg("status")
                .arg("-D")
                .arg(self.data())
                .output()
                .is_ok_and(|o| o.status.success())
    }
}

fn chown_tree(path: &Path, uid: u32, gid: u32, keep: Option<&Path>) -> anyhow::Result<()> {
    if Some(path) != keep {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid))
            .with_context(|| format!("chown {}", path.display()))?;
    }
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid, keep)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_binaries_are_found() {
        let found = server_bindir().expect("PostgreSQL's server binaries are installed");
        assert!(found.join("initdb").exists() && found.join("pg_ctl").exists());
    }
}
