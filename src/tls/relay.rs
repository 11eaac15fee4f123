//! The relay: a Unix socket in a private directory that sqlx connects to in plain text, and
//! behind it, per connection, pgtide's own TCP + TLS connection to the server.
//!
//! Relays run on a small runtime of their own (two threads, started on first use), so they
//! outlive the runtime of whoever created the pool (a test's, a blocking facade's). One
//! listening socket per distinct upstream; its directory is `0700`, so only this user can
//! connect, and whoever connects still has to authenticate to the server. Directories left by
//! processes that are gone are removed when the next process starts its relays.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixListener, UnixStream};
use tokio::runtime::Handle;

use super::auth_watch::{self, error_response};
use super::trust::{self, TrustFiles, Verify};
use crate::config::RequireAuth;

/// Whether TLS is used towards the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum UseTls {
    /// Plain (`disable`, or a Unix socket, where PostgreSQL has no TLS).
    Off,
    /// TLS if the server offers it (`prefer`).
    IfOffered,
    /// TLS or nothing.
    Required,
}

/// Where and how one relay connects.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Upstream {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: UseTls,
    pub(crate) trust: TrustFiles,
    pub(crate) require_auth: RequireAuth,
    pub(crate) connect_timeout: Duration,
}

/// SQLSTATE of a certificate the client does not trust, or TLS the server does not offer:
/// not the server's code (it never saw the problem), in a class PostgreSQL does not use, so
/// it is classified permanent: trying again fails the same way.
const TLS_REFUSED: &str = "PT001";

struct Relays {
    dir: PathBuf,
    runtime: Handle,
    endpoints: Mutex<HashMap<Upstream, PathBuf>>,
}

fn relays() -> Result<&'static Relays, String> {
    static RELAYS: OnceLock<Result<Relays, String>> = OnceLock::new();
    RELAYS.get_or_init(start).as_ref().map_err(Clone::clone)
}

fn start() -> Result<Relays, String> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    sweep(&base);
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| format!("TLS relay: no randomness: {e}"))?;
    let tag: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let dir = base.join(format!("pgtide-relay-{}-{tag}", std::process::id()));
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("TLS relay: cannot create {}: {e}", dir.display()))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("pgtide-tls")
        .enable_all()
        .build()
        .map_err(|e| format!("TLS relay: cannot start its runtime: {e}"))?;
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("pgtide-tls".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))
        .map_err(|e| format!("TLS relay: cannot start its thread: {e}"))?;
    Ok(Relays {
        dir,
        runtime: handle,
        endpoints: Mutex::new(HashMap::new()),
    })
}

/// Removes relay directories of processes that no longer exist (Linux: `/proc/<pid>`).
fn sweep(base: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("pgtide-relay-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        // Another user's directory cannot be removed (sticky temporary directory): harmless.
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The socket directory sqlx connects to for `upstream` (sqlx adds `.s.PGSQL.<port>`).
pub(crate) fn endpoint(upstream: Upstream) -> Result<PathBuf, String> {
    let relays = relays()?;
    let mut endpoints = relays
        .endpoints
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(dir) = endpoints.get(&upstream) {
        return Ok(dir.clone());
    }
    let dir = relays.dir.join(format!("e{}", endpoints.len()));
    std::fs::create_dir(&dir)
        .map_err(|e| format!("TLS relay: cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!(".s.PGSQL.{}", upstream.port));
    let listener = std::os::unix::net::UnixListener::bind(&path)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("TLS relay: cannot listen on {}: {e}", path.display()))?;
    let target = Arc::new(upstream.clone());
    relays.runtime.spawn(async move {
        let Ok(listener) = UnixListener::from_std(listener) else {
            return;
        };
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(serve(client, Arc::clone(&target)));
        }
    });
    endpoints.insert(upstream, dir.clone());
    Ok(dir)
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// A refusal to send the client: SQLSTATE and message.
struct Refusal(&'static str, String);

async fn serve(mut client: UnixStream, up: Arc<Upstream>) {
    let server = match tokio::time::timeout(up.connect_timeout, open(&up)).await {
        Ok(Ok(server)) => server,
        Ok(Err(Refusal(code, message))) => {
            let _ = client.write_all(&error_response(code, &message)).await;
            return;
        }
        Err(_) => {
            let message = format!(
                "pgtide could not connect to {}:{} within {:?}",
                up.host, up.port, up.connect_timeout
            );
            let _ = client.write_all(&error_response("08001", &message)).await;
            return;
        }
    };
    let verified = up.trust.verify != Verify::Nothing;
    let (mut server_read, mut server_write) = tokio::io::split(server);
    let (mut client_read, mut client_write) = client.into_split();
    let upward = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    });
    match auth_watch::watch(
        &mut server_read,
        &mut client_write,
        up.require_auth,
        verified,
    )
    .await
    {
        Ok(Ok(rest)) => {
            if client_write.write_all(&rest).await.is_ok() {
                let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
            }
            let _ = client_write.shutdown().await;
            // The server is gone: nothing the client still sends can go anywhere.
            upward.abort();
        }
        Ok(Err(refused)) => {
            upward.abort();
            tracing::warn!(target: "pgtide::tls", host = %up.host, port = up.port, "{}", refused.0);
            let _ = client_write
                .write_all(&error_response("28000", &refused.0))
                .await;
            let _ = client_write.shutdown().await;
        }
        Err(_) => upward.abort(),
    }
}

/// Connects to the server and sets up TLS as `up` says.
async fn open(up: &Upstream) -> Result<Box<dyn Stream>, Refusal> {
    let unreachable = |e: io::Error| {
        Refusal(
            "08001",
            format!("pgtide could not connect to {}:{}: {e}", up.host, up.port),
        )
    };
    if up.host.starts_with('/') {
        let path = format!("{}/.s.PGSQL.{}", up.host, up.port);
        return Ok(Box::new(
            UnixStream::connect(path).await.map_err(unreachable)?,
        ));
    }
    let host = up.host.trim_matches(['[', ']']);
    let mut tcp = TcpStream::connect((host, up.port))
        .await
        .map_err(unreachable)?;
    let _ = tcp.set_nodelay(true);
    if up.tls == UseTls::Off {
        return Ok(Box::new(tcp));
    }
    // SSLRequest: length 8, code 80877103.
    let lost = |e: io::Error| {
        Refusal(
            "08006",
            format!(
                "pgtide lost the connection to {}:{} while asking for TLS: {e}",
                up.host, up.port
            ),
        )
    };
    tcp.write_all(&[0, 0, 0, 8, 4, 210, 22, 47])
        .await
        .map_err(lost)?;
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer).await.map_err(lost)?;
    match (answer[0], up.tls) {
        (b'S', _) => {}
        (b'N', UseTls::IfOffered) => return Ok(Box::new(tcp)),
        (b'N', _) => {
            return Err(Refusal(
                TLS_REFUSED,
                format!(
                    "the server at {}:{} does not offer TLS, which the configuration requires \
                     (sslmode); enable ssl on the server, or lower sslmode",
                    up.host, up.port
                ),
            ));
        }
        (other, _) => {
            return Err(Refusal(
                "08P01",
                format!(
                    "the server at {}:{} answered the TLS request with byte {other:#04x}: not PostgreSQL",
                    up.host, up.port
                ),
            ));
        }
    }
    let config = trust::client_config(&up.trust).map_err(|m| Refusal(TLS_REFUSED, m))?;
    let name = ServerName::try_from(host.to_owned()).map_err(|e| {
        Refusal(
            TLS_REFUSED,
            format!("host {host} is not a valid TLS server name: {e}"),
        )
    })?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                Refusal(
                    TLS_REFUSED,
                    format!(
                        "the server's certificate at {}:{} is not trusted ({e}): it must chain to \
                         sslrootcert{}",
                        up.host,
                        up.port,
                        if up.trust.verify == Verify::ChainAndName {
                            " and name the host"
                        } else {
                            ""
                        }
                    ),
                )
            } else {
                lost(e)
            }
        })?;
    Ok(Box::new(tls) as Box<dyn Stream>)
}
