//! The deadpool manager: how a pooled connection is made and when it is checked.
//!
//! - **create** connects with the configured connect timeout (sqlx has none of its own); the
//!   caller whose checkout needed the connection sees the failure and keeps it, so a pool
//!   timeout can say *why* the pool could not connect.
//! - **recycle** (on checkout) replaces a connection that outlived `pool.max_lifetime`, and
//!   pings it only when the health-check policy asks for it: always, never, or when it sat
//!   idle longer than a threshold. A connection that saw a connection-level error, or was
//!   handed back inside a transaction, is always checked. A ping costs a round trip, which
//!   for a short query halves throughput (see the README), so the default checks only
//!   connections idle for more than 30 s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool::managed::{Metrics, RecycleError, RecycleResult};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::connect::connect;
use super::stats::Counters;
use crate::config::HealthCheck;
use crate::error::{Error, Result};

/// A pooled sqlx connection and what the pool knows about it.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) raw: PgConnection,
    /// The server process id, looked up the first time a per-call timeout needs it.
    pub(crate) pid: Option<i32>,
    /// Check with a ping before handing it out again (it saw a connection-level error).
    pub(crate) suspect: bool,
    /// Do not hand it out again (a cancelled statement could not be drained).
    pub(crate) broken: bool,
    /// A pgtide operation that leaves the session in a changed state until it completes
    /// (`BEGIN` in flight, a per-call `statement_timeout`, a statement whose reply has not
    /// been read) is running. Set before it starts and cleared when it completed; still set
    /// when the connection is handed back means its future was dropped midway (an outer
    /// timeout, `select!`), so the connection is discarded instead of reused.
    pub(crate) in_flight: bool,
    /// When it was last handed back to the pool.
    pub(crate) idle_since: Instant,
}

impl Conn {
    /// The backend pid, asked once per connection.
    pub(crate) async fn backend_pid(&mut self) -> Result<i32> {
        if let Some(pid) = self.pid {
            return Ok(pid);
        }
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut self.raw)
            .await?;
        self.pid = Some(pid);
        Ok(pid)
    }

    /// Remembers what an error says about the connection itself: a lost connection is
    /// never handed out again; a protocol error, or a timeout the server did not report
    /// (the client gave up waiting), gets a health check on the next checkout.
    pub(crate) fn observe(&mut self, err: &Error) {
        if err.is_connection_lost() {
            self.broken = true;
        } else if matches!(err.as_sqlx(), Some(sqlx::Error::Protocol(_)))
            || (err.kind() == crate::error::ErrorKind::Timeout && err.sqlstate().is_none())
        {
            self.suspect = true;
        }
    }

    /// Marks an operation as started: if the caller drops its future before
    /// [`end_in_flight`](Self::end_in_flight), the flag stays set and the pool discards the
    /// connection.
    pub(crate) fn start_in_flight(&mut self) {
        self.in_flight = true;
    }

    /// The operation started with [`start_in_flight`](Self::start_in_flight) completed.
    pub(crate) fn end_in_flight(&mut self) {
        self.in_flight = false;
    }
}

/// Creates and recycles [`Conn`]s for one pool.
pub(crate) struct ConnectionManager {
    pub(crate) options: PgConnectOptions,
    pub(crate) connect_timeout: Duration,
    pub(crate) health_check: HealthCheck,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) counters: Arc<Counters>,
}

/// Written by hand: sqlx's `Debug` for `PgConnectOptions` prints the password.
impl std::fmt::Debug for ConnectionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionManager")
            .field("host", &self.options.get_host())
            .field("port", &self.options.get_port())
            .field("database", &self.options.get_database())
            .field("user", &self.options.get_username())
            .field("connect_timeout", &self.connect_timeout)
            .field("health_check", &self.health_check)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl ConnectionManager {
    pub(crate) fn new(
        options: PgConnectOptions,
        connect_timeout: Duration,
        health_check: HealthCheck,
        max_lifetime: Option<Duration>,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            options,
            connect_timeout,
            health_check,
            max_lifetime,
            counters,
        }
    }

    /// Opens a connection outside the pool (for cancelling a statement).
    pub(crate) async fn connect_unpooled(&self) -> Result<PgConnection> {
        connect(&self.options, self.connect_timeout).await
    }

    fn too_old(&self, metrics: &Metrics) -> bool {
        self.max_lifetime.is_some_and(|max| metrics.age() >= max)
    }
}

impl deadpool::managed::Manager for ConnectionManager {
    type Type = Conn;
    type Error = Error;

    async fn create(&self) -> Result<Conn> {
        match connect(&self.options, self.connect_timeout).await {
            Ok(raw) => {
                Counters::bump(&self.counters.created);
                Ok(Conn {
                    raw,
                    pid: None,
                    suspect: false,
                    broken: false,
                    in_flight: false,
                    idle_since: Instant::now(),
                })
            }
            Err(err) => {
                Counters::bump(&self.counters.connect_failures);
                tracing::debug!(
                    target: "pgtide::pool",
                    error_kind = err.kind().as_str(),
                    error = %err,
                    "connecting failed"
                );
                Err(err)
            }
        }
    }

    async fn recycle(&self, conn: &mut Conn, metrics: &Metrics) -> RecycleResult<Error> {
        let verdict = if conn.broken {
            Err(RecycleError::message("the connection is broken"))
        } else if conn.in_flight {
            Err(RecycleError::message(
                "an operation on the connection was abandoned midway",
            ))
        } else if self.too_old(metrics) {
            Err(RecycleError::message(
                "the connection reached pool.max_lifetime",
            ))
        } else {
            let check = conn.suspect
                || match self.health_check {
                    HealthCheck::Always => true,
                    HealthCheck::Never => false,
                    HealthCheck::IdleLongerThan(idle) => conn.idle_since.elapsed() > idle,
                };
            if check {
                match tokio::time::timeout(self.connect_timeout, conn.raw.ping()).await {
                    Ok(Ok(())) => {
                        conn.suspect = false;
                        Ok(())
                    }
                    Ok(Err(err)) => Err(RecycleError::Backend(err.into())),
                    Err(_) => Err(RecycleError::message("the health check timed out")),
                }
            } else {
                Ok(())
            }
        };
        if let Err(reason) = &verdict {
            Counters::bump(&self.counters.closed);
            tracing::debug!(target: "pgtide::pool", reason = %reason, "replacing a pooled connection");
        }
        verdict
    }
}
