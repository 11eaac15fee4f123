//! TLS that means what it says, and authentication requests the client agreed to.
//!
//! sqlx 0.9 cannot do either. Its rustls set-up puts public root certificates in the trust
//! store before `sslrootcert` (every rustls feature of sqlx brings `webpki-roots` or the
//! system's roots), so `verify-ca` would accept any publicly issued certificate, for any host;
//! and it answers whatever authentication the server asks for, so a man in the middle that
//! asks for `password` gets it in plain text.
//!
//! So where it matters, pgtide makes the connection itself: sqlx connects, in plain text, to
//! a private Unix socket of pgtide's relay ([`relay`]), and for each such connection the
//! relay opens TCP to the server, asks for TLS, verifies the certificate against
//! `sslrootcert` **only** ([`trust`]), and passes bytes both ways, reading the server's
//! side until authentication is over: a request `require_auth` does not allow is not passed
//! on ([`auth_watch`]), so sqlx never answers it, and sqlx gets a FATAL error saying why. It
//! is the same connection that authenticates and then runs the queries, so the check holds
//! for the session, not for a probe beside it.
//!
//! The relay is used when the certificate is verified (`verify-ca`, `verify-full`, `require`
//! with `sslrootcert`) or `require_auth` restricts the methods (the default for remote hosts
//! whose certificate is not verified); otherwise sqlx connects directly, as before. It costs
//! a Unix-socket hop per message on those connections.
//!
//! # Lifecycle: relays belong to the process, connections to their pools
//!
//! A relay (one listening socket per distinct upstream: host, port, TLS rules, trust files,
//! `require_auth`, connect timeout) and the two-thread runtime it runs on are started on first
//! use and live until the process exits. That is deliberate:
//! - what a pool owns is its **connections**, and a relayed connection lives exactly as long
//!   as the sqlx connection on it: sqlx closes its socket, the relay ends that connection's
//!   task and closes the server side. A closed or dropped pool therefore leaves nothing open
//!   on the server and holds nothing in the relay (test: `tests/tls.rs`,
//!   `relays_live_per_process_and_hold_nothing_after_their_pools`);
//! - what stays is a listening socket in a `0700` directory and two parked threads: no
//!   credentials (the password only passes through, inside sqlx's own authentication) and no
//!   server session;
//! - the relay must outlive the runtime that created a pool (a test's, the blocking facade's,
//!   or another runtime the pool is cloned into), and is shared by every pool and unpooled
//!   connection to the same upstream (a [`Registry`](crate::Registry), a credential rotation's
//!   new pool, codegen's connections); owning it per pool would make every holder of connect
//!   options hold a lease, to save one idle socket;
//! - Rust runs no exit hook, so a process's relay directory outlives it: the next process that
//!   starts relays removes the directories of processes that are gone (same test).
//!
//! Not covered: SCRAM channel binding (`SCRAM-SHA-256-PLUS`), which sqlx does not implement;
//! GSSAPI/SSPI, which sqlx does not speak either. Asking to require them
//! (`channel_binding=require`, `gssencmode=require`, in a URL or as `PGCHANNELBINDING` /
//! `PGGSSENCMODE`) is refused when the configuration loads, naming the limitation;
//! `disable` and `prefer` load (they ask for nothing sqlx lacks).

mod auth_watch;
mod relay;
mod trust;

use std::path::PathBuf;

use crate::config::{Config, SslMode};

use relay::{Upstream, UseTls};
use trust::{TrustFiles, Verify};

/// The relay socket directory to connect to instead of the server, when this configuration
/// needs pgtide's own TLS or `require_auth` enforcement; `None` when sqlx may connect itself.
/// Certificate files are read once here, so a bad one fails now with a clear message.
pub(crate) fn route(config: &Config) -> Result<Option<PathBuf>, String> {
    let tls = config.tls();
    let c = config.connection();
    let verify = match (tls.mode, &tls.root_cert) {
        (SslMode::VerifyFull, _) => Verify::ChainAndName,
        (SslMode::VerifyCa, _) | (SslMode::Require, Some(_)) => Verify::Chain,
        _ => Verify::Nothing,
    };
    if verify == Verify::Nothing && tls.require_auth.is_any() {
        return Ok(None);
    }
    let use_tls = match tls.mode {
        _ if c.host.starts_with('/') => UseTls::Off,
        SslMode::Disable => UseTls::Off,
        SslMode::Allow | SslMode::Prefer => UseTls::IfOffered,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => UseTls::Required,
    };
    let upstream = Upstream {
        host: c.host.clone(),
        port: c.port,
        tls: use_tls,
        trust: TrustFiles {
            verify,
            root_cert: tls.root_cert.clone(),
            client_cert: tls.client_cert.clone(),
            client_key: tls.client_key.clone(),
        },
        require_auth: tls.require_auth,
        connect_timeout: c.connect_timeout,
    };
    if use_tls != UseTls::Off {
        trust::client_config(&upstream.trust)?;
    }
    relay::endpoint(upstream).map(Some)
}
