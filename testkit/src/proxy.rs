//! A TCP proxy in front of the throwaway server that a test controls: forward, refuse,
//! swallow (accept and never answer), and cut live connections.
//!
//! Tests use it instead of stopping the shared server (other tests run against it in
//! parallel): "server down" is [`ProxyMode::Refuse`] plus [`Proxy::cut`], "server back" is
//! [`ProxyMode::Forward`], a server that accepts but never answers is
//! [`ProxyMode::Blackhole`]. Everything is deterministic: no timing involved.
//!
//! For fault tests on live connections: [`Proxy::cut_after_forwarding`] drops the client's
//! side of the one connection that carries a given statement right after the statement reached
//! the server (which runs it to the end: "the reply was lost"); [`Proxy::stall`] stops moving
//! bytes on every connection (a network that hangs) and [`Proxy::set_delay`] holds every chunk
//! of bytes for a while (a slow network).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
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
    /// Armed by `cut_after_forwarding`: the bytes that trip it (once).
    trip: Mutex<Option<Vec<u8>>>,
    /// Times a trip fired.
    tripped: AtomicU64,
    /// While `true`, no bytes move on any connection.
    stalled: watch::Sender<bool>,
    /// How long each chunk of bytes is held before it is passed on.
    delay: watch::Sender<Duration>,
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
            trip: Mutex::new(None),
            tripped: AtomicU64::new(0),
            stalled: watch::channel(false).0,
            delay: watch::channel(Duration::ZERO).0,
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
                        tokio::spawn(forward(client, target.clone(), Arc::clone(&shared), cut));
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

    /// Arms a one-shot fault: the next chunk a client sends that contains `pattern` (use a
    /// statement sent in one message, e.g. `sqlx::raw_sql`) is forwarded to the server, and
    /// then that client's side of the connection is closed. The server's side stays open until
    /// the server has answered, so the statement runs to its end (it commits, when it is not
    /// inside a transaction), and the client sees a lost connection: the reply is lost, not
    /// the statement.
    pub fn cut_after_forwarding(&self, pattern: impl Into<Vec<u8>>) {
        *self.state.trip.lock().expect("not poisoned") = Some(pattern.into());
    }

    /// How many times an armed [`cut_after_forwarding`](Self::cut_after_forwarding) fired.
    pub fn tripped(&self) -> u64 {
        self.state.tripped.load(Ordering::SeqCst)
    }

    /// Stops (`true`) or resumes (`false`) moving bytes on every forwarded connection, live
    /// or new: a network that hangs without closing anything.
    pub fn stall(&self, stalled: bool) {
        self.state.stalled.send_replace(stalled);
    }

    /// Holds every chunk of bytes for `delay` before passing it on, both ways (a slow
    /// network); `Duration::ZERO` turns it off.
    pub fn set_delay(&self, delay: Duration) {
        self.state.delay.send_replace(delay);
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

/// How one direction of a forwarded connection ended.
#[derive(PartialEq, Eq)]
enum Pumped {
    /// A side closed (or failed).
    Closed,
    /// The armed pattern went through to the server.
    Tripped,
}

async fn forward(
    client: TcpStream,
    target: String,
    state: Arc<State>,
    mut cut: watch::Receiver<u64>,
) {
    let Ok(server) = TcpStream::connect(&target).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let ended = tokio::select! {
        ended = pump(&mut client_read, &mut server_write, &state, true) => ended,
        ended = pump(&mut server_read, &mut client_write, &state, false) => ended,
        _ = cut.changed() => Pumped::Closed,
    };
    if ended == Pumped::Tripped {
        // The client loses the connection; the server gets the end of its input after the
        // statement, runs it, and ends the session itself when it reads that end.
        drop(client_read);
        drop(client_write);
        let _ = server_write.shutdown().await;
        let mut sink = vec![0u8; 8192];
        tokio::select! {
            _ = async { while matches!(server_read.read(&mut sink).await, Ok(n) if n > 0) {} } => {}
            _ = cut.changed() => {}
        }
    }
}

/// Copies bytes one way until a side closes; `upstream` is the client-to-server direction,
/// where an armed pattern trips.
async fn pump(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    state: &State,
    upstream: bool,
) -> Pumped {
    let mut buf = vec![0u8; 64 * 1024];
    let mut stalled = state.stalled.subscribe();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return Pumped::Closed,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        if stalled.wait_for(|s| !*s).await.is_err() {
            return Pumped::Closed;
        }
        let delay = *state.delay.borrow();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let trips = upstream && {
            let mut trip = state.trip.lock().expect("not poisoned");
            let hit = trip
                .as_deref()
                .is_some_and(|p| !p.is_empty() && chunk.windows(p.len()).any(|w| w == p));
            if hit {
                *trip = None;
                state.tripped.fetch_add(1, Ordering::SeqCst);
            }
            hit
        };
        if to.write_all(chunk).await.is_err() {
            return Pumped::Closed;
        }
        if trips {
            return Pumped::Tripped;
        }
    }
}
