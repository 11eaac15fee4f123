//! A TCP proxy in front of the throwaway server that a test controls: forward, refuse,
//! swallow (accept and never answer), and cut live connections.
//!
//! Tests use it instead of stopping the shared server (other tests run against it in
//! parallel): "server down" is [`ProxyMode::Refuse`] plus [`Proxy::cut`], "server back" is
//! [`ProxyMode::Forward`], a server that accepts but never answers is
//! [`ProxyMode::Blackhole`]. Everything is deterministic: no timing involved.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Forward bytes both ways to the target.
    Forward,
    /// Accept and close at once: the client sees the connection closed (server down).
    Refuse,
    /// Accept and never answer (a stuck server or a black-holed route).
    Blackhole,
}

struct State {
    mode: watch::Sender<ProxyMode>,
    /// Bumped by `cut`: every live connection ends.
    generation: watch::Sender<u64>,
    accepted: AtomicU64,
    refused: AtomicU64,
}

/// A proxy listening on `127.0.0.1:<port>`; stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("addr", &self.addr)
            .field("mode", &*self.state.mode.borrow())
            .finish()
    }
}

impl Proxy {
    /// Starts a proxy forwarding to `target_host:target_port`.
    pub async fn start(target_host: &str, target_port: u16) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            mode: watch::channel(ProxyMode::Forward).0,
            generation: watch::channel(0).0,
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        let target = format!("{target_host}:{target_port}");
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                let mode = *shared.mode.borrow();
                let cut = shared.generation.subscribe();
                match mode {
                    ProxyMode::Refuse => {
                        shared.refused.fetch_add(1, Ordering::SeqCst);
                        drop(client);
                    }
                    ProxyMode::Blackhole => {
                        tokio::spawn(hold(client, cut));
                    }
                    ProxyMode::Forward => {
                        tokio::spawn(forward(client, target.clone(), cut));
                    }
                }
            }
        });
        Ok(Self { addr, state, task })
    }

    /// The port to connect to (host `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// Sets what happens to new connections.
    pub fn set_mode(&self, mode: ProxyMode) {
        self.state.mode.send_replace(mode);
    }

    /// Ends every live connection (forwarded or held) at once.
    pub fn cut(&self) {
        self.state.generation.send_modify(|g| *g += 1);
    }

    /// Connections accepted so far, whatever happened to them.
    pub fn accepted(&self) -> u64 {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Connections closed at once because the mode was [`ProxyMode::Refuse`].
    pub fn refused(&self) -> u64 {
        self.state.refused.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

async fn hold(client: TcpStream, mut cut: watch::Receiver<u64>) {
    let _ = cut.changed().await;
    drop(client);
}

async fn forward(mut client: TcpStream, target: String, mut cut: watch::Receiver<u64>) {
    let Ok(mut server) = TcpStream::connect(&target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.changed() => {}
    }
}
