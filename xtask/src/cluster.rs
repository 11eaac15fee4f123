//! A throwaway PostgreSQL cluster under `target/pgtide-db/`, on a free loopback port, with
//! scram-sha-256 password authentication and TLS (self-signed CA generated at creation).
//!
//! Creating and driving the cluster (binaries, `initdb`, `pg_ctl`, the `postgres` OS user when
//! root) is `pgtide_testkit::cluster`'s, shared with `PrivateServer`; this module owns where the
//! cluster lives, reusing or recreating it, and the state file.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use pgtide_testkit::cluster::{
    Cluster, InitSpec, SERVER_OS_USER, as_server_user, generate_password, running_as_root,
    server_bindir, server_user_ids,
};
use pgtide_testkit::{ServerState, TlsFiles};
use sqlx::Connection;

use crate::tls;

const HOST: &str = "127.0.0.1";
const SUPERUSER: &str = "postgres";

/// Where everything of the throwaway cluster lives.
struct Layout {
    /// `<target>/pgtide-db`: the state file lives here.
    root: PathBuf,
    /// The directory owned by the server: `data/`, `tls/`, `server.log`.
    cluster: PathBuf,
    /// `cluster` sits in the shared temp dir (root, checkout out of the server user's reach):
    /// an existing one is only trusted if it is a real directory owned by root or the server.
    in_shared_tmp: bool,
}

impl Layout {
    fn new() -> anyhow::Result<Self> {
        let state = pgtide_testkit::state_path();
        let root = state
            .parent()
            .expect("state file has a parent")
            .to_path_buf();
        std::fs::create_dir_all(&root)?;
        let in_shared_tmp = running_as_root() && !server_user_can_reach(&root)?;
        let cluster = if in_shared_tmp {
            // The checkout sits where the `postgres` user cannot go (say, under /root):
            // keep the cluster in the temp dir, keyed by the checkout path.
            let key = root
                .to_string_lossy()
                .bytes()
                .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
            std::env::temp_dir().join(format!("pgtide-db-{key:08x}"))
        } else {
            root.join("cluster")
        };
        let layout = Self {
            root,
            cluster,
            in_shared_tmp,
        };
        layout.check_cluster_dir()?;
        Ok(layout)
    }

    /// In the shared temp dir anyone may have created the path first (say, as a symlink to
    /// somewhere we would then delete or chown): refuse anything but a real directory owned
    /// by root or the server's OS user and writable by nobody else.
    fn check_cluster_dir(&self) -> anyhow::Result<()> {
        use std::os::unix::fs::MetadataExt;
        if !self.in_shared_tmp {
            return Ok(());
        }
        let meta = match std::fs::symlink_metadata(&self.cluster) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("{}", self.cluster.display())),
        };
        let trusted = meta.file_type().is_dir()
            && meta.mode() & 0o022 == 0
            && (meta.uid() == 0 || meta.uid() == server_user_ids()?.0);
        if !trusted {
            bail!(
                "{} is not a directory owned by root or `{SERVER_OS_USER}` and writable only by \
                 its owner (a symlink, or created by someone else?); refusing to use or remove it: \
                 inspect and delete it by hand",
                self.cluster.display()
            );
        }
        Ok(())
    }

    /// Creates `cluster` afresh: fails if something appeared there meanwhile, mode 0700.
    fn create_cluster_dir(&self) -> anyhow::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        if !self.in_shared_tmp {
            std::fs::create_dir_all(&self.root)?;
        }
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&self.cluster)
            .with_context(|| format!("creating {}", self.cluster.display()))
    }
    fn state_file(&self) -> PathBuf {
        self.root.join("state.json")
    }
    fn data(&self) -> PathBuf {
        self.cluster.join("data")
    }
    /// The cluster, run by the binaries [`server_bindir`] finds.
    fn cluster(&self) -> anyhow::Result<Cluster> {
        Ok(Cluster::new(server_bindir()?, self.cluster.clone()))
    }
    fn tls(&self) -> PathBuf {
        self.cluster.join("tls")
    }
    fn log(&self) -> PathBuf {
        self.cluster.join("server.log")
    }
}

/// `cargo xtask db up`: starts (or reuses, or recreates) the cluster and returns its state.
pub fn up(fresh: bool) -> anyhow::Result<ServerState> {
    let layout = Layout::new()?;
    let cluster = layout.cluster()?;
    if !fresh && let Ok(state) = ServerState::load(&layout.state_file()) {
        if cluster.is_running() {
            // A live postmaster (pg_ctl says so) is never killed: it may be starting up, or
            // have no connection slot free. Give it time; otherwise say what is wrong.
            wait_until_answering(&state, Duration::from_secs(30)).with_context(|| {
                format!(
                    "PostgreSQL is running in {} (pg_ctl status) but does not accept connections \
                     on {HOST}:{} as recorded in {}: it may still be starting, be out of \
                     connections, or not be the server recorded there; see {}, then \
                     `cargo xtask db down` (or `cargo xtask db up --fresh`)",
                    layout.data().display(),
                    state.port,
                    layout.state_file().display(),
                    layout.log().display()
                )
            })?;
            eprintln!(
                "xtask: throwaway PostgreSQL already running on {HOST}:{}",
                state.port
            );
            return Ok(state);
        }
        if layout.data().join("PG_VERSION").exists() {
            match restart_existing(&cluster, &layout, state) {
                Ok(state) => return Ok(state),
                Err(e) => {
                    eprintln!("xtask: could not restart the stale cluster ({e:#}); recreating it")
                }
            }
        }
    }
    if cluster.is_running() {
        if !fresh {
            bail!(
                "PostgreSQL is running in {} but cannot be reached with what {} records \
                 (missing, unreadable or stale); stop it with `cargo xtask db down` or recreate \
                 it with `cargo xtask db up --fresh`",
                layout.data().display(),
                layout.state_file().display()
            );
        }
        cluster.pg_ctl(&["stop", "-m", "immediate", "-w"])?;
    }
    create(&cluster, &layout)
}

/// Whether `pg_ctl status` says the throwaway server runs (answering or not).
pub fn server_running() -> bool {
    Layout::new()
        .and_then(|layout| layout.cluster())
        .is_ok_and(|cluster| cluster.is_running())
}

/// The running postmaster's pid (first line of `postmaster.pid`), if the server runs.
pub fn postmaster_pid() -> Option<i32> {
    let layout = Layout::new().ok()?;
    if !server_running() {
        return None;
    }
    std::fs::read_to_string(layout.data().join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// `cargo xtask db down`: stops the cluster if it runs; fine to call twice.
pub fn down() -> anyhow::Result<()> {
    // The shared PgBouncer in front of it (started by tests), if any.
    if let Err(e) = pgtide_testkit::pgbouncer::stop_shared() {
        eprintln!("xtask: could not stop the shared PgBouncer: {e:#}");
    }
    let layout = Layout::new()?;
    if !layout.data().join("PG_VERSION").exists() {
        eprintln!("xtask: no throwaway PostgreSQL here; nothing to stop");
        return Ok(());
    }
    let cluster = layout.cluster()?;
    if !cluster.is_running() {
        eprintln!("xtask: throwaway PostgreSQL is not running");
        return Ok(());
    }
    cluster.pg_ctl(&["stop", "-m", "fast", "-w"])?;
    eprintln!("xtask: throwaway PostgreSQL stopped");
    Ok(())
}

/// `cargo xtask db url`: prints the superuser URL (with the generated password).
pub fn url() -> anyhow::Result<()> {
    let layout = Layout::new()?;
    let state = ServerState::load(&layout.state_file())
        .context("no throwaway PostgreSQL yet: run `cargo xtask db up`")?;
    println!("{}", state.url("postgres"));
    Ok(())
}

/// `cargo xtask db status`: running or not, and where (no password).
pub fn status() -> anyhow::Result<()> {
    let layout = Layout::new()?;
    let Ok(state) = ServerState::load(&layout.state_file()) else {
        println!("not created (run `cargo xtask db up`)");
        return Ok(());
    };
    let running = layout.cluster()?.is_running() && answers(&state);
    println!("state:    {}", if running { "running" } else { "stopped" });
    println!("address:  {HOST}:{}", state.port);
    println!("user:     {} (password: `cargo xtask db url`)", state.user);
    println!("data:     {}", state.data_dir.display());
    println!("log:      {}", layout.log().display());
    if let Some(tls) = &state.tls {
        println!("tls CA:   {}", tls.ca_cert.display());
    }
    Ok(())
}

fn create(cluster: &Cluster, layout: &Layout) -> anyhow::Result<ServerState> {
    // Only called when pg_ctl says no server runs here.
    layout.check_cluster_dir()?;
    if std::fs::symlink_metadata(&layout.cluster).is_ok() {
        kill_leftovers(cluster.bindir(), &layout.data());
        // std's remove_dir_all does not follow symlinks (openat/unlinkat, O_NOFOLLOW), so a
        // link the server user planted inside removes the link only.
        std::fs::remove_dir_all(&layout.cluster)
            .with_context(|| format!("removing old cluster {}", layout.cluster.display()))?;
    }
    layout.create_cluster_dir()?;
    let password = generate_password()?;
    // Written by us into the fresh directory before it is handed to the server's OS user.
    tls::generate(&layout.tls(), SUPERUSER)?;

    eprintln!(
        "xtask: creating throwaway cluster in {}",
        layout.data().display()
    );
    let tls_dir = layout.tls();
    let conf = format!(
        "\n# pgtide throwaway cluster\n\
         listen_addresses = '{HOST}'\n\
         unix_socket_directories = ''\n\
         max_connections = 300\n\
         ssl = on\n\
         ssl_cert_file = '{}'\n\
         ssl_key_file = '{}'\n\
         ssl_ca_file = '{}'\n\
         password_encryption = 'scram-sha-256'\n\
         # durability buys nothing for a throwaway test server\n\
         fsync = off\n\
         synchronous_commit = off\n\
         full_page_writes = off\n",
        tls_dir.join(tls::SERVER_CERT).display(),
        tls_dir.join(tls::SERVER_KEY).display(),
        tls_dir.join(tls::CA_CERT).display(),
    );
    let client_key = tls_dir.join(tls::CLIENT_KEY);
    cluster.init(&InitSpec {
        superuser: SUPERUSER,
        password: &password,
        conf: &conf,
        // Password authentication over TCP, with or without TLS; nothing else gets in.
        hba: &format!("host all all {HOST}/32 scram-sha-256\n"),
        keep_root_owned: Some(&client_key),
    })?;

    let state = ServerState {
        host: HOST.into(),
        port: free_port()?,
        user: SUPERUSER.into(),
        password,
        data_dir: layout.data(),
        tls: Some(TlsFiles {
            ca_cert: tls_dir.join(tls::CA_CERT),
            server_cert: tls_dir.join(tls::SERVER_CERT),
        }),
    };
    start(cluster, layout, state)
}

/// Starts an existing, stopped cluster, first clearing what a crashed server left behind.
fn restart_existing(
    cluster: &Cluster,
    layout: &Layout,
    state: ServerState,
) -> anyhow::Result<ServerState> {
    let port = if port_is_free(state.port) {
        state.port
    } else {
        free_port()?
    };
    let state = ServerState { port, ..state };
    // pg_ctl says not running, so a server process still sitting in the data directory is
    // left from a crash.
    kill_leftovers(cluster.bindir(), &layout.data());
    start(cluster, layout, state)
}

fn start(cluster: &Cluster, layout: &Layout, state: ServerState) -> anyhow::Result<ServerState> {
    cluster.start(state.port, &layout.log())?;
    wait_until_answering(&state, Duration::from_secs(30))
        .context("the server started but does not accept connections")?;
    state.save(&layout.state_file())?;
    eprintln!(
        "xtask: throwaway PostgreSQL running on {HOST}:{} (TLS on; `cargo xtask db url` for the URL)",
        state.port
    );
    Ok(state)
}

fn wait_until_answering(state: &ServerState, patience: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + patience;
    loop {
        match try_connect(state) {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(e);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn answers(state: &ServerState) -> bool {
    try_connect(state).is_ok()
}

fn try_connect(state: &ServerState) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            admin_connection(state, "postgres").await?.close().await?;
            anyhow::Ok(())
        })
}

/// The superuser's connection to `database`, made the way the library makes every
/// connection: a pgtide [`Config`](pgtide::config::Config) (TLS verified against the
/// cluster's own CA, `verify-full`, through pgtide's relay), one attempt (callers poll).
/// The test harness (`pgtide_testkit`) is the one exception, said in `ServerState::url`.
async fn admin_connection(
    state: &ServerState,
    database: &str,
) -> anyhow::Result<pgtide::Connection> {
    use pgtide::config::{Config, PoolSize, SslMode};
    let builder = Config::builder()
        .host(state.host.clone())
        .port(state.port)
        .database(database)
        .user(state.user.clone())
        .password(pgtide::SecretString::from(state.password.clone()))
        .application_name("pgtide-xtask")
        .retry_attempts(1)
        .pool_size(PoolSize::new(1, 1)?);
    let builder = match &state.tls {
        Some(tls) => builder
            .ssl_mode(SslMode::VerifyFull)
            .ssl_root_cert(&tls.ca_cert),
        // A state file from before TLS: loopback, the library's loopback rule (`prefer`).
        None => builder.ssl_mode(SslMode::Prefer),
    };
    Ok(pgtide::Connection::connect(&builder.build()?).await?)
}

/// Kills processes of a crashed server that still hold the data directory, so a new
/// postmaster can claim the shared memory. Only called when `pg_ctl status` says no server
/// runs. Narrow on purpose: a process is killed only if its cwd is the data directory AND its
/// executable is this installation's `postgres`.
fn kill_leftovers(bin: &Path, data: &Path) {
    let Ok(data) = data.canonicalize() else {
        return;
    };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if is_server_process(bin, pid, &data) {
            // SAFETY: kill(2) with a pid we just checked; failure (already gone) is harmless.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    // Wait (bounded) until the kernel has reaped them. The pid in postmaster.pid may have
    // been recycled by an unrelated process: only a server process of this cluster counts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && std::fs::read_to_string(data.join("postmaster.pid")).is_ok_and(|pid| {
            pid.lines()
                .next()
                .and_then(|p| p.trim().parse::<i32>().ok())
                .is_some_and(|p| is_server_process(bin, p, &data))
        })
    {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether `pid` runs this installation's `postgres` with `data` (canonical) as its cwd.
fn is_server_process(bin: &Path, pid: i32, data: &Path) -> bool {
    let Ok(server) = bin.join("postgres").canonicalize() else {
        return false;
    };
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    std::fs::read_link(proc_dir.join("cwd")).is_ok_and(|cwd| cwd == data)
        && std::fs::read_link(proc_dir.join("exe")).is_ok_and(|exe| exe == server)
}

fn server_user_can_reach(dir: &Path) -> anyhow::Result<bool> {
    server_user_ids()?;
    let status = as_server_user("test").arg("-x").arg(dir).status()?;
    Ok(status.success())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Drops the per-test databases left behind by test processes that are gone (crashed or
/// killed). A database whose process (the pid in `<TEST_DB_PREFIX><pid>_...`) still lives belongs to
/// a test running now, say of a concurrent `cargo xtask test`, and is left alone.
pub fn drop_test_databases(state: &ServerState) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let mut conn = admin_connection(state, "postgres").await?.into_inner();
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND NOT datistemplate",
            )
            .bind(pgtide_testkit::TEST_DB_PREFIX)
            .fetch_all(&mut conn)
            .await?;
            for name in names.into_iter().filter(|n| !owner_alive(n)) {
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                )))
                .execute(&mut conn)
                .await?;
            }
            conn.close().await?;
            anyhow::Ok(())
        })
}

/// Whether the process that created test database `name` (`<TEST_DB_PREFIX><pid>_...`) still runs.
/// A name without a readable pid counts as orphaned.
fn owner_alive(name: &str) -> bool {
    name.strip_prefix(pgtide_testkit::TEST_DB_PREFIX)
        .and_then(|rest| rest.split('_').next())
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn only_databases_of_dead_processes_are_orphans() {
        let me = std::process::id();
        let prefix = pgtide_testkit::TEST_DB_PREFIX;
        assert!(owner_alive(&format!("{prefix}{me}_0_abc")));
        // Above the kernel's pid_max (at most 2^22).
        assert!(!owner_alive(&format!("{prefix}99999999_0_abc")));
        assert!(!owner_alive(&format!("{prefix}x_0_abc")));
    }

    #[test]
    fn this_process_is_not_a_server_process() {
        let me = i32::try_from(std::process::id()).unwrap();
        let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
        let bin = std::env::current_exe().unwrap();
        // Right cwd, but the executable is not `<bindir>/postgres`.
        assert!(!is_server_process(bin.parent().unwrap(), me, &cwd));
    }

    #[test]
    fn a_shared_tmp_cluster_dir_must_be_a_real_private_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("layout");
        let target = dir.join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        let link = dir.join("cluster-link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let layout = |cluster: PathBuf| Layout {
            root: dir.clone(),
            cluster,
            in_shared_tmp: true,
        };
        let err = layout(link).check_cluster_dir().unwrap_err().to_string();
        assert!(err.contains("refusing"), "{err}");
        let open = dir.join("world-writable");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(layout(open).check_cluster_dir().is_err());
        assert!(layout(dir.join("absent")).check_cluster_dir().is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
