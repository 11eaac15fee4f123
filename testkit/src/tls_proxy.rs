//! A loopback server that terminates TLS itself, with a certificate from its own CA (not the
//! throwaway cluster's): a stand-in for a man in the middle, or for a server whose
//! certificate the client must not trust.
//!
//! [`TlsProxyMode::AskCleartext`] answers every startup with a request for the password in
//! plain text and records whatever the client sends afterwards; [`TlsProxyMode::Forward`]
//! passes the session on to the real server (in plain text behind it), so a client that
//! accepts the proxy's certificate gets a working connection.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does once the client's startup message has arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsProxyMode {
    /// Ask for the password in plain text (`AuthenticationCleartextPassword`) and record
    /// every byte the client sends after that.
    AskCleartext,
    /// Pass the session on to `host:port` (plain TCP).
    Forward {
        /// The real server's host.
        host: String,
        /// The real server's port.
        port: u16,
    },
}

#[derive(Default)]
struct Seen {
    /// Bytes received after the cleartext request, per finished connection.
    after_request: Vec<Vec<u8>>,
    /// Connections whose TLS handshake completed.
    handshakes: usize,
}

/// The proxy; stops and removes its files when dropped.
pub struct TlsProxy {
    port: u16,
    dir: PathBuf,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TlsProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsProxy")
            .field("port", &self.port)
            .finish()
    }
}

impl TlsProxy {
    /// Starts a proxy on `127.0.0.1` whose certificate names `names` (e.g. `localhost`,
    /// `127.0.0.1`) and is signed by a CA of its own ([`ca_cert`](Self::ca_cert)).
    pub async fn start(mode: TlsProxyMode, names: &[&str]) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let dir =
            std::env::temp_dir().join(format!("pgtide-tls-proxy-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let (chain, key) = certificates(&dir, names)?;
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (acceptor, mode, seen) = (acceptor.clone(), mode.clone(), Arc::clone(&shared));
                tokio::spawn(async move {
                    let _ = serve(client, acceptor, mode, seen).await;
                });
            }
        });
        Ok(Self {
            port,
            dir,
            seen,
            task,
        })
    }

    /// The port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The proxy's own CA certificate (PEM file): trust it to accept the proxy.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("proxy-ca.crt")
    }

    /// TLS handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        self.seen.lock().unwrap().handshakes
    }

    /// For each finished [`TlsProxyMode::AskCleartext`] connection, the bytes the client sent
    /// after the password request.
    pub fn received_after_request(&self) -> Vec<Vec<u8>> {
        self.seen.lock().unwrap().after_request.clone()
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A CA of the proxy's own and a server certificate it signed; the CA is written to `dir`.
fn certificates(
    dir: &Path,
    names: &[&str],
) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "pgtide test proxy CA (untrusted)");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    std::fs::write(dir.join("proxy-ca.crt"), ca_cert.pem())?;
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
    leaf.distinguished_name.push(
        DnType::CommonName,
        names.first().copied().unwrap_or("proxy"),
    );
    let key = KeyPair::generate()?;
    let cert = leaf.signed_by(&key, &issuer)?;
    let chain = vec![CertificateDer::from_pem_slice(cert.pem().as_bytes())?];
    let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes())?;
    Ok((chain, key))
}

async fn serve(
    mut client: TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    mode: TlsProxyMode,
    seen: Arc<Mutex<Seen>>,
) -> anyhow::Result<()> {
    let mut first = [0u8; 8];
    client.read_exact(&mut first).await?;
    if first != [0, 0, 0, 8, 4, 210, 22, 47] {
        anyhow::bail!("expected an SSLRequest");
    }
    client.write_all(b"S").await?;
    let mut tls = acceptor.accept(client).await.context("TLS handshake")?;
    seen.lock().unwrap().handshakes += 1;
    let startup = read_startup(&mut tls).await?;
    match mode {
        TlsProxyMode::AskCleartext => {
            tls.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).await?;
            tls.flush().await?;
            let mut after = Vec::new();
            // Until the client closes; bounded so a stuck client cannot hang a test forever.
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                tls.read_to_end(&mut after),
            )
            .await;
            seen.lock().unwrap().after_request.push(after);
        }
        TlsProxyMode::Forward { host, port } => {
            let mut server = TcpStream::connect((host.as_str(), port)).await?;
            server.write_all(&startup).await?;
            tokio::io::copy_bidirectional(&mut tls, &mut server).await?;
        }
    }
    Ok(())
}

/// The client's startup message, as sent (length included).
async fn read_startup<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> anyhow::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    anyhow::ensure!((8..=10_000).contains(&len), "bad startup length {len}");
    let mut message = u32::try_from(len)?.to_be_bytes().to_vec();
    message.resize(len, 0);
    stream.read_exact(&mut message[4..]).await?;
    Ok(message)
}
