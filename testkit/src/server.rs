//! Where the throwaway server is and how to reach it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// Environment variable that points at a `state.json` other than the default one.
pub const STATE_ENV: &str = "PGTIDE_DB_STATE";

const HOW_TO_START: &str = "start the throwaway PostgreSQL with `cargo xtask db up` \
                            (or run the whole suite with `cargo xtask test`)";

/// What `cargo xtask db up` records about the cluster it started.
#[derive(Clone, Serialize, Deserialize)]
pub struct ServerState {
    /// Loopback address the server listens on.
    pub host: String,
    /// TCP port it listens on.
    pub port: u16,
    /// Superuser name.
    pub user: String,
    /// Generated superuser password (the cluster is throwaway and local).
    pub password: String,
    /// Data directory (owned by the server's OS user).
    pub data_dir: PathBuf,
    /// Certificates, when the cluster serves TLS.
    pub tls: Option<TlsFiles>,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"[redacted]")
            .field("data_dir", &self.data_dir)
            .field("tls", &self.tls)
            .finish()
    }
}

/// Certificate files of a TLS-enabled throwaway cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TlsFiles {
    /// The self-signed CA that issued the server certificate (use as `sslrootcert`).
    pub ca_cert: PathBuf,
    /// The server certificate (valid for `localhost` and `127.0.0.1`).
    pub server_cert: PathBuf,
}

impl TlsFiles {
    /// The client certificate `cargo xtask db up` issued for the superuser (beside the CA).
    pub fn client_cert(&self) -> PathBuf {
        self.sibling("client.crt")
    }

    /// The client certificate's private key (beside the CA).
    pub fn client_key(&self) -> PathBuf {
        self.sibling("client.key")
    }

    fn sibling(&self, name: &str) -> PathBuf {
        self.ca_cert
            .parent()
            .map_or_else(|| PathBuf::from(name), |dir| dir.join(name))
    }
}

impl ServerState {
    /// `postgres://` URL of `database` on this server, with the password.
    ///
    /// The harness connects with plain sqlx, not through pgtide: it sits below the library
    /// (pgtide's own tests depend on it) and must not rest on what it tests. It follows the
    /// library's rules all the same: the server is on loopback, where pgtide's default is
    /// `sslmode=prefer` with any authentication method, which is what sqlx does with this
    /// URL. `cargo xtask` (above the library) connects through pgtide, with TLS verified.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}:{}@{}:{}/{}",
            self.user, self.password, self.host, self.port, database
        )
    }

    /// Reads the state file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("no throwaway PostgreSQL recorded at {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))
    }

    /// Writes the state file (readable by the current user only: it holds the password).
    ///
    /// Atomically: written to a new 0600 file beside it, then renamed over it, so a reader
    /// never sees half a file and the file never has another mode, whatever was there before.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let file_name = path
            .file_name()
            .with_context(|| format!("{} is not a file path", path.display()))?;
        let mut tmp_name = file_name.to_os_string();
        tmp_name.push(format!(".tmp.{}", std::process::id()));
        let tmp = dir.join(tmp_name);
        let _ = std::fs::remove_file(&tmp);
        let written = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)?;
            anyhow::Ok(())
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.with_context(|| format!("writing {}", path.display()))
    }
}

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit sits one level below the workspace root")
        .to_path_buf()
}

/// Where the state file lives: `$PGTIDE_DB_STATE`, else `<target>/pgtide-db/state.json`.
pub fn state_path() -> PathBuf {
    if let Some(path) = std::env::var_os(STATE_ENV) {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| {
            if t.is_absolute() {
                t
            } else {
                workspace_root().join(t)
            }
        })
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("pgtide-db").join("state.json")
}

/// A reachable throwaway server.
#[derive(Debug, Clone)]
pub struct Server {
    /// What `cargo xtask db up` recorded.
    pub state: ServerState,
}

impl Server {
    /// Finds the running throwaway server, or fails saying how to start one.
    pub async fn discover() -> anyhow::Result<Self> {
        Self::discover_at(&state_path()).await
    }

    /// As [`discover`](Self::discover), with the state file at `path` (instead of
    /// `$PGTIDE_DB_STATE` or the default place).
    pub async fn discover_at(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            bail!(
                "no throwaway PostgreSQL found (no {}): {HOW_TO_START}",
                path.display()
            );
        }
        let state = ServerState::load(path)?;
        let probe = tokio::net::TcpStream::connect((state.host.as_str(), state.port)).await;
        if let Err(e) = probe {
            bail!(
                "the throwaway PostgreSQL recorded in {} is not answering on {}:{} ({e}): {HOW_TO_START}",
                path.display(),
                state.host,
                state.port
            );
        }
        Ok(Self { state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(port: u16) -> ServerState {
        ServerState {
            host: "127.0.0.1".into(),
            port,
            user: "postgres".into(),
            password: "pw".into(),
            data_dir: PathBuf::from("/nowhere"),
            tls: None,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pgtide-testkit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn no_state_file_fails_saying_how_to_start_the_server() {
        let dir = scratch("missing");
        let err = Server::discover_at(&dir.join("state.json"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("cargo xtask db up"), "{err}");
        assert!(err.contains("no throwaway PostgreSQL found"), "{err}");
    }

    #[tokio::test]
    async fn a_server_that_refuses_connections_fails_saying_how_to_start_it() {
        let dir = scratch("refused");
        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let path = dir.join("state.json");
        state(port).save(&path).unwrap();
        let err = Server::discover_at(&path).await.unwrap_err().to_string();
        assert!(err.contains("cargo xtask db up"), "{err}");
        assert!(err.contains("not answering"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn state_is_saved_atomically_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("save");
        let path = dir.join("state.json");
        // A world-readable file already there does not keep its mode.
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        state(5432).save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(ServerState::load(&path).unwrap().port, 5432);
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temp file left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
