//! An HTTP fault proxy on loopback for the object store tests: it answers the first N
//! requests with a throttling status (429 Too Many Requests, or S3's 503 SlowDown) and
//! forwards everything after them, bytes unchanged, to the emulator behind it. It counts what
//! it refused and what it forwarded, so a test can show that retries happened and that the
//! data still arrived.
//!
//! A refused request is read in full (head and `Content-Length` body) before the answer, and
//! its connection closed, so every request on the wire is counted once.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The proxy; stops accepting when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    port: u16,
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    status: u16,
    refuse_first: u64,
    refused: AtomicU64,
    forwarded: AtomicU64,
    stopped: AtomicBool,
}

impl FaultProxy {
    /// Listens on a free loopback port; answers the first `refuse_first` requests with
    /// `status` (429 or 503) and forwards the rest to `upstream_port` on loopback
    /// (`u64::MAX`: refuse every request).
    pub fn start(upstream_port: u16, status: u16, refuse_first: u64) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State {
            status,
            refuse_first,
            refused: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let state = Arc::clone(&accepting);
                std::thread::spawn(move || {
                    let _ = serve(client, upstream_port, &state);
                });
            }
        });
        Ok(Self { port, state })
    }

    /// `http://127.0.0.1:PORT`: the endpoint to give the client instead of the emulator's.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests answered with the throttling status so far.
    pub fn refused(&self) -> u64 {
        self.state.refused.load(Ordering::SeqCst)
    }

    /// Connections forwarded to the emulator so far.
    pub fn forwarded(&self) -> u64 {
        self.state.forwarded.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
    }
}

/// One client connection: refuse its first request or forward the whole connection.
fn serve(mut client: TcpStream, upstream_port: u16, state: &State) -> std::io::Result<()> {
    let (head, body_start) = read_head(&mut client)?;
    let refuse = state
        .refused
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < state.refuse_first).then_some(n + 1)
        })
        .is_ok();
    if refuse {
        let length = content_length(&head);
        let mut remaining = length.saturating_sub(body_start.len() as u64);
        let mut sink = [0_u8; 64 * 1024];
        while remaining > 0 {
            let n = client.read(&mut sink)?;
            if n == 0 {
                break;
            }
            remaining = remaining.saturating_sub(n as u64);
        }
        let reason = if state.status == 429 {
            "Too Many Requests"
        } else {
            "Slow Down"
        };
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
            <Message>Please reduce your request rate.</Message></Error>";
        write!(
            client,
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            state.status,
            body.len()
        )?;
        client.flush()?;
        return client.shutdown(Shutdown::Both);
    }
    state.forwarded.fetch_add(1, Ordering::SeqCst);
    let mut upstream = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream_port))?;
    upstream.write_all(&head)?;
    upstream.write_all(&body_start)?;
    let (mut client_read, mut upstream_write) = (client.try_clone()?, upstream.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}

/// The request head up to its blank line, and whatever of the body came with it.
fn read_head(client: &mut TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let body = buf.split_off(end + 4);
            return Ok((buf, body));
        }
        let n = client.read(&mut chunk)?;
        if n == 0 || buf.len() > 1 << 20 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn content_length(head: &[u8]) -> u64 {
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}
